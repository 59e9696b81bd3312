"""Outcome rollups exactly as Canvas computes them (docs/canvas.md §2.3-2.5).

Per (user, outcome): each result's score on the scale, ordered by submitted-or-assessed time, fed to
the calculation method that actually runs after the feature-flag mapping of docs/canvas.md §2.3.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from canvas_sandbox import outcomes as outcome_model
from canvas_sandbox import results as result_model
from canvas_sandbox import visibility
from canvas_sandbox.state import LearningOutcomeResult, SandboxState


@dataclass(frozen=True)
class ScoringParams:
    method: str  # stored name
    int_value: int | None
    points_possible: float
    mastery_points: float


@dataclass
class RollupScore:
    outcome_id: int
    score: float | None
    count: int
    title: str | None
    submitted_at: datetime | None
    hide_points: bool


def round2(value: float) -> float:
    """``Float#round(2)`` as Ruby computes it (``round_half_up`` in float.c): C ``round`` of
    ``value x 100`` (half away from zero), then one step up when ``(f + 0.5) / 100`` already
    reaches the value (4.125 -> 4.13, 2.675 -> 2.68, 1.005 -> 1.01)."""
    xs = value * 100.0
    whole = math.trunc(xs)
    frac = xs - whole  # exact for doubles
    f = float(whole + (1 if frac >= 0.5 else -1 if frac <= -0.5 else 0))
    if value > 0 and (f + 0.5) / 100.0 <= value:
        f += 1
    elif value < 0 and (f - 0.5) / 100.0 >= value:
        f -= 1
    return f / 100.0


def _mean(scores: Sequence[float]) -> float:
    # Ruby's Array#sum on floats is compensated (Kahan-Babuska); fsum is the nearest match.
    return math.fsum(scores) / len(scores)


def formula(stored_method: str, new_decaying: bool) -> str:
    """Which formula runs for a stored method name (docs/canvas.md §2.3)."""
    if stored_method in ("decaying_average", "weighted_average"):
        return "weighted"
    if stored_method == "standard_decaying_average":
        return "standard_decaying" if new_decaying else "weighted"
    return stored_method


def calculate(
    formula_name: str, int_value: int | None, scores: Sequence[float], mastery_points: float
) -> float | None:
    """Apply one method to scores ordered oldest to newest (docs/canvas.md §2.5, step 3)."""
    if not scores:
        return None
    if formula_name == "highest":
        return round2(max(scores))
    if formula_name == "latest":
        return round2(scores[-1])
    if formula_name == "average":
        return round2(_mean(scores))
    # The weights exactly as RollupScore writes them: 0.01 * weight and 0.01 * (100 - weight).
    weight = int_value if int_value is not None else 65
    if formula_name == "weighted":  # RollupScore#decaying_average_set
        if len(scores) == 1:
            return round2(scores[0])
        return round2(scores[-1] * (0.01 * weight) + _mean(scores[:-1]) * (0.01 * (100 - weight)))
    if formula_name == "standard_decaying":  # RollupScore#standard_decaying_average
        current = scores[0]
        for s in scores[1:]:
            current = current * (0.01 * (100 - weight)) + s * (0.01 * weight)
        return round2(current)
    if formula_name == "n_mastery":
        n = int_value if int_value is not None else 5
        if len(scores) < n:
            return None
        kept = [s for s in scores if s >= mastery_points]
        if len(kept) < n:
            return None
        return round2(_mean(kept))
    raise ValueError(f"unknown calculation formula {formula_name!r}")


def scoring_params(state: SandboxState, course_id: int, outcome_id: int) -> ScoringParams:
    """Method/int and points from the course (FF on) or from the outcome (FF off),
    docs/canvas.md §2.4."""
    flags = outcome_model.course_flags(state, course_id)
    outcome = state.outcomes[outcome_id]
    if flags.account_level_mastery_scales:
        calc = outcome_model.resolved_calculation(state, "Course", course_id)
        scale = outcome_model.resolved_scale(state, "Course", course_id)
        assert scale is not None  # FF on always resolves (default created)
        possible, mastery = outcome_model.scale_points(scale)
        return ScoringParams(calc.method, calc.int_value, possible, mastery)
    return ScoringParams(
        outcome.calculation_method or "highest",
        outcome.calculation_int,
        outcome.points_possible,
        outcome.mastery_points,
    )


def score_of(result: LearningOutcomeResult, params: ScoringParams) -> float | None:
    """The per-result score on the scale (docs/canvas.md §2.5, step 1)."""
    if result.score is None:
        return None
    if result.percent is not None:
        if params.points_possible == 0:
            return result.percent * params.mastery_points
        return result.percent * params.points_possible
    return result.score


def rollup_score(
    state: SandboxState,
    course_id: int,
    outcome_id: int,
    results: Sequence[LearningOutcomeResult],
    params: ScoringParams | None = None,
) -> RollupScore:
    """One user's rollup for one outcome from that user's results for it."""
    params = params or scoring_params(state, course_id, outcome_id)
    flags = outcome_model.course_flags(state, course_id)
    # RollupScoreAggregatorHelper#sorted_results: by (submitted_at || assessed_at).to_i, whole
    # seconds; Canvas leaves ties unordered, the sandbox orders them by id.
    usable = sorted(
        (r for r in results if r.score is not None),
        key=lambda r: (math.floor(r.submitted_or_assessed_at.timestamp()), r.id),
    )
    scores = [s for s in (score_of(r, params) for r in usable) if s is not None]
    value = calculate(
        formula(params.method, flags.new_decaying_average),
        params.int_value,
        scores,
        params.mastery_points,
    )
    latest = usable[-1] if usable else None
    title = None
    if latest is not None:
        title = latest.title.split(", ", 1)[1] if ", " in latest.title else latest.title
    return RollupScore(
        outcome_id=outcome_id,
        score=value,
        count=len(usable),
        title=title,
        submitted_at=latest.submitted_or_assessed_at if latest else None,
        hide_points=bool(usable) and all(r.hide_points for r in usable),
    )


def user_scores(
    state: SandboxState,
    course_id: int,
    results: Sequence[LearningOutcomeResult],
    outcome_ids: Sequence[int],
) -> dict[int, list[RollupScore]]:
    """Rollup scores per user (only outcomes with results), outcome order as given."""
    by_pair: dict[tuple[int, int], list[LearningOutcomeResult]] = {}
    for r in results:
        by_pair.setdefault((r.user_id, r.outcome_id), []).append(r)
    params = {oid: scoring_params(state, course_id, oid) for oid in outcome_ids}
    order = {oid: i for i, oid in enumerate(outcome_ids)}
    per_user: dict[int, list[RollupScore]] = {}
    for (user_id, outcome_id), rows in sorted(
        by_pair.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 1 << 30))
    ):
        if outcome_id not in params:
            continue
        per_user.setdefault(user_id, []).append(
            rollup_score(state, course_id, outcome_id, rows, params[outcome_id])
        )
    return per_user


def aggregate(scores: Sequence[RollupScore], stat: str = "mean") -> float | None:
    values = [s.score for s in scores if s.score is not None]
    if not values:
        return None
    if stat == "median":
        return round2(float(statistics.median(values)))
    return round2(sum(values) / len(values))


def course_rollups(
    state: SandboxState, course_id: int, *, student: int | None = None
) -> dict[int, list[RollupScore]]:
    """Every student's rollups in a course as the LMGB shows them (hidden results excluded);
    ``student``: that student's own view, without results of unposted submissions
    (docs/canvas.md §1.6)."""
    outcome_ids = outcome_model.course_outcome_ids(state, course_id)
    students = [u.id for u in state.students_of(course_id) if student in (None, u.id)]
    rows = result_model.course_results(state, course_id, user_ids=students, outcome_ids=outcome_ids)
    if student is not None:
        rows = [r for r in rows if visibility.visible_to_student(state, r)]
    scores = user_scores(state, course_id, rows, outcome_ids)
    return {uid: scores.get(uid, []) for uid in students}
