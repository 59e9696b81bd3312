"""How Canvas scores a course, and how the tool knows (docs/canvas.md §2.4, §6.8, §6.9).

Two root-account features change Canvas's numbers: ``account_level_mastery_scales`` (the
course's mastery scale, or each outcome's own ratings and points: ``outcome_proficiency``
answers with a stored scale either way) and ``outcomes_new_decaying_average_calculation`` (a
stored ``standard_decaying_average`` runs as such, or as the legacy weighted formula). In order
of certainty:

1. the flags themselves, read at the root account (a teacher's token is usually refused);
2. for the scale, no course scale at all (404) means the flag is off;
3. Canvas's own rollups: recomputed under each reading, the one with fewer disagreements wins;
4. for the scale, an outcome whose scoring (as the course's outcome links report it) differs
   from the course scale: with the flag on Canvas would have reported the course scale;
5. otherwise the course scale and the legacy formula (then both readings give the same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lti_app.canvas.client.types import Rollup, dedupe_rollups
from lti_app.mastery.canvas_rollup import (
    CanvasScoring,
    pair_scores,
    scored_result,
    scoring_in_force,
)
from lti_app.sync.snapshot import (
    BASIS_ANSWER,
    BASIS_FLAG,
    BASIS_OUTCOMES,
    BASIS_ROLLUPS,
    SCALE_COURSE,
    SCALE_OUTCOMES,
    OutcomeRow,
    RatingRow,
    ResultRow,
    RollupRow,
    rollup_key,
)

FLAG = "account_level_mastery_scales"
NEW_DECAYING_FLAG = "outcomes_new_decaying_average_calculation"


@dataclass(frozen=True)
class CanvasSetup:
    """Which scale and decaying formula Canvas uses for a course, and how the tool knows."""

    scale_source: str
    scale_basis: str
    new_decaying_average: bool = False
    decaying_basis: str = BASIS_ANSWER
    disagreements: int | None = None
    """Canvas's rollups this reading does not reproduce (None: no rollups were read)."""


def outcome_scoring(
    outcome: OutcomeRow, course_scale: Sequence[RatingRow] | None, new_decaying: bool = False
) -> CanvasScoring:
    """What Canvas's rollup uses for ``outcome`` (``course_scale`` given when in force)."""
    return scoring_in_force(
        method=outcome.calculation_method,
        calculation_int=outcome.calculation_int,
        points_possible=outcome.points_possible,
        mastery_points=outcome.mastery_points,
        course_scale=[(r.points, r.mastery) for r in course_scale] if course_scale else None,
        new_decaying_average=new_decaying,
    )


def canvas_scores(
    outcomes: Mapping[str, OutcomeRow],
    results: Mapping[str, ResultRow],
    course_scale: Sequence[RatingRow] | None,
    new_decaying: bool = False,
) -> dict[tuple[str, str], float | None]:
    """The tool's Canvas-method score per (student, outcome) over the results Canvas counts
    (hidden ones never count), ``course_scale`` given when it is in force."""
    scorings = {oid: outcome_scoring(o, course_scale, new_decaying) for oid, o in outcomes.items()}
    triples = (
        (
            r.canvas_user_id,
            r.canvas_outcome_id,
            scored_result(
                score=r.score,
                possible=r.possible,
                percent=r.percent,
                at=r.submitted_or_assessed_at,
                alignment=r.alignment,
                assignment_id=r.canvas_assignment_id,
            ),
        )
        # The stored order (as the grading side reads it): numeric ids, then the New Quizzes keys.
        for _, r in sorted(results.items(), key=lambda kv: (len(kv[0]), kv[0]))
        if not r.hidden
    )
    return pair_scores(triples, scorings)


def disagreements(
    mine: Mapping[tuple[str, str], float | None], rollups: Mapping[str, RollupRow]
) -> int:
    """Pairs where Canvas's rollup differs from the tool's score for the same results."""
    keys = {rollup_key(u, o) for u, o in mine if mine[(u, o)] is not None} | {
        k for k, r in rollups.items() if r.score is not None
    }
    out = 0
    for key in keys:
        user_id, outcome_id = key.split(":", 1)
        theirs = rollups[key].score if key in rollups else None
        out += mine.get((user_id, outcome_id)) != theirs
    return out


def _differs(outcome: OutcomeRow, scale: Sequence[RatingRow]) -> bool:
    if not outcome.ratings:
        return False  # nothing reported: no evidence either way
    mine = sorted((r.points, r.description) for r in outcome.ratings)
    return mine != sorted((r.points, r.description) for r in scale)


def rollup_rows(rollups: Sequence[Rollup]) -> dict[str, RollupRow]:
    """Canvas's score per student and outcome (a student in two sections counted once)."""
    rows: dict[str, RollupRow] = {}
    for rollup in dedupe_rollups(rollups):
        for score in rollup.scores:
            rows[rollup_key(rollup.user_id, score.outcome_id)] = RollupRow(
                canvas_user_id=rollup.user_id,
                canvas_outcome_id=score.outcome_id,
                score=score.score,
                count=score.count,
            )
    return rows


def decide(
    flags: frozenset[str] | None,
    course_scale: Sequence[RatingRow] | None,
    outcomes: Mapping[str, OutcomeRow],
    results: Mapping[str, ResultRow],
    rollups: Mapping[str, RollupRow] | None,
) -> CanvasSetup:
    """``flags``: the root account's enabled features, None when they could not be read."""
    if flags is not None:
        on = FLAG in flags and bool(course_scale)
        new = NEW_DECAYING_FLAG in flags
        counted = None
        if rollups is not None:
            mine = canvas_scores(outcomes, results, course_scale if on else None, new)
            counted = disagreements(mine, rollups)
        return CanvasSetup(
            SCALE_COURSE if on else SCALE_OUTCOMES, BASIS_FLAG, new, BASIS_FLAG, counted
        )
    scales: list[tuple[Sequence[RatingRow] | None, str]] = [(None, SCALE_OUTCOMES)]
    if course_scale:
        scales.insert(0, (course_scale, SCALE_COURSE))
        if all(
            outcome_scoring(o, course_scale) == outcome_scoring(o, None) for o in outcomes.values()
        ):
            scales = scales[:1]  # every outcome scores the same either way: nothing to tell
    stored = {o.calculation_method for o in outcomes.values()}
    decaying = (False, True) if "standard_decaying_average" in stored else (False,)
    if rollups:
        # Every reading that can differ; on equal counts the course scale (when there is one)
        # and the legacy formula come first.
        counts = {
            (i, new): disagreements(canvas_scores(outcomes, results, scale, new), rollups)
            for i, (scale, _) in enumerate(scales)
            for new in decaying
        }
        (index, new), best = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
        decay_told = counts.get((index, not new), best) != best
        scale_told = any(counts.get((i, new), best) != best for i in range(len(scales)))
        if scale_told:
            source, basis = scales[index][1], BASIS_ROLLUPS
        elif course_scale:
            source, basis = _by_outcomes(outcomes, course_scale)
        else:
            source, basis = SCALE_OUTCOMES, BASIS_ANSWER
        return CanvasSetup(
            source,
            basis,
            new if decay_told else False,
            BASIS_ROLLUPS if decay_told else BASIS_ANSWER,
            best,  # a reading that cannot be told apart gives the same numbers
        )
    if not course_scale:
        return CanvasSetup(SCALE_OUTCOMES, BASIS_ANSWER)
    return CanvasSetup(*_by_outcomes(outcomes, course_scale))


def _by_outcomes(
    outcomes: Mapping[str, OutcomeRow], course_scale: Sequence[RatingRow]
) -> tuple[str, str]:
    if any(_differs(o, course_scale) for o in outcomes.values()):
        return SCALE_OUTCOMES, BASIS_OUTCOMES
    return SCALE_COURSE, BASIS_ANSWER
