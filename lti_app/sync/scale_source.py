"""Which mastery scale Canvas uses for a course, and how the tool knows (docs/canvas.md §2.2).

``outcome_proficiency`` answers with a stored scale even when the root account's
``account_level_mastery_scales`` feature is off, and then Canvas scores every outcome on its own
ratings and points. So, in order of certainty:

1. the flag itself, read at the root account (a teacher's token is usually refused);
2. no course scale at all (404): the flag is off;
3. Canvas's own rollups: recomputed on the course scale and on each outcome's own points, the
   hypothesis with fewer disagreements wins;
4. an outcome whose scoring (as the course's outcome links report it) differs from the course
   scale: with the flag on Canvas would have reported the course scale;
5. otherwise the course scale (both give the same numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from lti_app.mastery.canvas_rollup import CanvasScoring, pair_scores, scored_result, scoring_for
from lti_app.models.canvas import canvas_id_key
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
FLAG_ON = ("on", "allowed_on")


def course_scale_points(scale: Sequence[RatingRow]) -> tuple[float, float]:
    """(points_possible, mastery_points) of a course scale: its top rating, its mastery one."""
    top = max(r.points for r in scale)
    mastery = next((r.points for r in scale if r.mastery), top)
    return top, mastery


def outcome_scoring(outcome: OutcomeRow, course_scale: Sequence[RatingRow] | None) -> CanvasScoring:
    """What Canvas's rollup uses for ``outcome``: the course scale's points when it is in force
    (``course_scale`` given), else the outcome's own."""
    if course_scale:
        possible, mastery = course_scale_points(course_scale)
    else:
        possible, mastery = outcome.points_possible, outcome.mastery_points  # type: ignore[assignment]
    return scoring_for(
        method=outcome.calculation_method,
        calculation_int=outcome.calculation_int,
        points_possible=possible,
        mastery_points=mastery,
    )


def canvas_scores(
    outcomes: Mapping[str, OutcomeRow],
    results: Mapping[str, ResultRow],
    course_scale: Sequence[RatingRow] | None,
) -> dict[tuple[str, str], float | None]:
    """The tool's Canvas-method score per (student, outcome) over the results Canvas counts
    (hidden ones never count), ``course_scale`` given when it is in force."""
    scorings = {oid: outcome_scoring(o, course_scale) for oid, o in outcomes.items()}
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
        for _, r in sorted(results.items(), key=lambda kv: canvas_id_key(kv[0]))
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


def decide(
    flag_state: str | None,
    course_scale: Sequence[RatingRow] | None,
    outcomes: Mapping[str, OutcomeRow],
    results: Mapping[str, ResultRow],
    rollups: Mapping[str, RollupRow] | None,
) -> tuple[str, str]:
    """(scale source, basis): which scale Canvas uses and how the tool knows."""
    if flag_state is not None:
        flag_on = flag_state in FLAG_ON and bool(course_scale)
        return (SCALE_COURSE if flag_on else SCALE_OUTCOMES), BASIS_FLAG
    if not course_scale:
        return SCALE_OUTCOMES, BASIS_ANSWER
    if rollups:
        if_on = disagreements(canvas_scores(outcomes, results, course_scale), rollups)
        if_off = disagreements(canvas_scores(outcomes, results, None), rollups)
        if if_on != if_off:
            return (SCALE_COURSE if if_on < if_off else SCALE_OUTCOMES), BASIS_ROLLUPS
    if any(_differs(o, course_scale) for o in outcomes.values()):
        return SCALE_OUTCOMES, BASIS_OUTCOMES
    return SCALE_COURSE, BASIS_ANSWER
