"""Canvas's own rollup of one student's results for one outcome (docs/canvas.md §2.5, §2.7).

What canvas-lms ``RollupScore`` and ``RollupScoreAggregatorHelper`` compute for the Learning
Mastery Gradebook, on the Canvas scale, before any rating is chosen:

1. each result's value is ``percent x points_possible`` of the scale in force (``mastery_points``
   when that scale has 0 points), or the raw ``score`` when Canvas sent no percent; a Classic
   Quiz result, under the averaging and latest methods, takes instead the pooled percent of all
   results of the same quiz and outcome (``get_aggregates``);
2. results are ordered by ``(submitted_at || assessed_at).to_i``: whole seconds, a result
   without any time counting as 0; equal times keep the order given;
3. the method that actually runs (:func:`calculation.method_from_canvas`) aggregates the values
   and rounds to two decimals the Ruby way (:func:`calculation.compute`).

Pure: standard library and ``calculation`` only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from lti_app.mastery.calculation import Method, compute, method_from_canvas

__all__ = [
    "CanvasScoring",
    "ScoredResult",
    "canvas_rollup",
    "ordered_points",
    "pair_scores",
    "result_points",
    "scored_result",
    "scoring_for",
    "scoring_in_force",
    "timed_points",
]


class ScoredResult(NamedTuple):
    """One outcome result as Canvas's rollup reads it (a tuple: a grid builds thousands)."""

    score: float | None
    possible: float | None = None
    percent: float | None = None
    at: datetime | None = None  # submitted_at || assessed_at
    quiz: str | None = None  # the Classic Quiz it came from (results pooled per quiz), if any


@dataclass(frozen=True, slots=True)
class CanvasScoring:
    """What Canvas feeds the rollup for one outcome: the stored method and the scale in force
    (the course's with ``account_level_mastery_scales`` on, else the outcome's own)."""

    method: str | None
    calculation_int: int | None
    points_possible: float
    mastery_points: float
    new_decaying_average: bool = False

    @property
    def runs(self) -> Method:
        """The formula Canvas runs for the stored method name."""
        return method_from_canvas(self.method, self.new_decaying_average)

    def scale_points(self, percent: float) -> float:
        """A fraction of the scale as points on it (``result_score``)."""
        if self.points_possible > 0:
            return percent * self.points_possible
        return percent * self.mastery_points


_POOLED_STORED = frozenset(
    {"decaying_average", "latest", "average", "standard_decaying_average", "weighted_average"}
)


def result_points(result: ScoredResult, scoring: CanvasScoring) -> float | None:
    """One result's value on the Canvas scale (``result_score``); None without a score."""
    if result.score is None:
        return None
    if result.percent is None:  # Ruby: `return result.score unless result.try(:percent)`
        return result.score
    return scoring.scale_points(result.percent)


def _pooled(
    result: ScoredResult, results: Sequence[ScoredResult], scoring: CanvasScoring
) -> float | None:
    total = weighted = 0.0
    for other in results:
        if other.quiz != result.quiz or other.possible is None:
            continue
        total += other.possible
        weighted += other.possible * (other.percent or 0.0)
    if total == 0:
        return None
    return scoring.scale_points(weighted / total)


def _time_key(at: datetime | None) -> int:
    return 0 if at is None else math.floor(at.timestamp())


def timed_points(
    results: Sequence[ScoredResult], scoring: CanvasScoring
) -> list[tuple[int, float, datetime | None]]:
    """``(index, value, time)`` of each scored result, in the order given: the value Canvas
    aggregates for it (pooled for a Classic Quiz under the averaging and latest methods)."""
    usable = [r for r in results if r.score is not None]
    pool = (scoring.method or "highest") in _POOLED_STORED
    out: list[tuple[int, float, datetime | None]] = []
    for i, r in enumerate(results):
        if r.score is None:
            continue
        value = _pooled(r, usable, scoring) if (pool and r.quiz) else result_points(r, scoring)
        if value is not None:
            out.append((i, value, r.at))
    return out


def ordered_points(results: Sequence[ScoredResult], scoring: CanvasScoring) -> list[float]:
    """The values Canvas aggregates, oldest first (results without a score left out)."""
    timed = timed_points(results, scoring)
    return [v for _, v, at in sorted(timed, key=lambda t: _time_key(t[2]))]  # stable on ties


def canvas_rollup(results: Sequence[ScoredResult], scoring: CanvasScoring) -> float | None:
    """The score Canvas's Learning Mastery Gradebook shows for these results (2 decimals), or
    None when it shows none (no scored result; n mastery without enough results)."""
    values = ordered_points(results, scoring)
    if not values:
        return None
    return compute(
        scoring.runs,
        values,
        scoring.calculation_int,
        scoring.mastery_points,
        0.0,
        max(scoring.points_possible, 0.0),
    )


_QUIZ_ALIGNMENTS = ("quizzes:quiz_", "assessment_question_bank_")


def scored_result(
    *,
    score: float | None,
    possible: float | None,
    percent: float | None,
    at: datetime | None,
    alignment: str | None,
    assignment_id: str | None,
) -> ScoredResult:
    """A synced result as the rollup reads it. A Classic Quiz result (aligned to the quiz or to
    one of its question banks) is pooled with the other results of the same quiz."""
    quiz = None
    if alignment and alignment.startswith(_QUIZ_ALIGNMENTS):
        quiz = f"assignment_{assignment_id}" if assignment_id else alignment
    return ScoredResult(score=score, possible=possible, percent=percent, at=at, quiz=quiz)


def scoring_for(
    *,
    method: str | None,
    calculation_int: int | None,
    points_possible: float | None,
    mastery_points: float | None,
    new_decaying_average: bool = False,
) -> CanvasScoring:
    """The scoring of one outcome; without points Canvas's default criterion (5 points, mastery
    at 3: ``LearningOutcome.default_rubric_criterion``) applies."""
    possible = 5.0 if points_possible is None else points_possible
    mastery = (
        (3.0 if points_possible is None else possible) if mastery_points is None else mastery_points
    )
    return CanvasScoring(method, calculation_int, possible, mastery, new_decaying_average)


def scoring_in_force(
    *,
    method: str | None,
    calculation_int: int | None,
    points_possible: float | None,
    mastery_points: float | None,
    course_scale: Sequence[tuple[float, bool | None]] | None,
    new_decaying_average: bool = False,
) -> CanvasScoring:
    """One outcome's scoring with the course scale's ``(points, mastery)`` ratings when that
    scale is in force (``account_level_mastery_scales`` on), else the outcome's own points."""
    if course_scale:
        top = max(p for p, _ in course_scale)
        points_possible = top
        mastery_points = next((p for p, m in course_scale if m), top)
    return scoring_for(
        method=method,
        calculation_int=calculation_int,
        points_possible=points_possible,
        mastery_points=mastery_points,
        new_decaying_average=new_decaying_average,
    )


def pair_scores(
    results: Iterable[tuple[str, str, ScoredResult]], scorings: Mapping[str, CanvasScoring]
) -> dict[tuple[str, str], float | None]:
    """Canvas's score per (student, outcome) from ``(student, outcome, result)`` triples given
    in Canvas's order; outcomes without a scoring are left out."""
    grouped: dict[tuple[str, str], list[ScoredResult]] = {}
    for user_id, outcome_id, result in results:
        if outcome_id in scorings:
            grouped.setdefault((user_id, outcome_id), []).append(result)
    return {pair: canvas_rollup(rows, scorings[pair[1]]) for pair, rows in grouped.items()}
