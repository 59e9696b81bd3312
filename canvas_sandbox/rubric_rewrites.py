"""Canvas rewrites rubrics it considers unused when an outcome or a mastery scale changes.

``LearningOutcome#propagate_changes_to_rubrics`` -> ``Rubric#update_learning_outcome_criteria``
and ``OutcomeProficiency#propagate_changes_to_rubrics`` -> ``Rubric#update_mastery_scales``
touch only active rubrics aligned to outcomes, unassessed, with at most one association
(docs/canvas.md §3.10). Rewritten ratings get new ids (``Rubric#unique_item_id``).
"""

from __future__ import annotations

import random

from canvas_sandbox import outcomes as om
from canvas_sandbox.state import Outcome, ProficiencyRating, Rubric, RubricRating, SandboxState


def _updateable(state: SandboxState, outcome_id: int | None = None) -> list[Rubric]:
    assessed = {a.rubric_id for a in state.assessments.values()}
    out = []
    for rubric in state.rubrics.values():
        uses = [
            a
            for a in state.rubric_associations.values()
            if a.rubric_id == rubric.id and a.workflow_state == "active"
        ]
        aligned = {c.learning_outcome_id for c in rubric.criteria} - {None}
        if (
            rubric.workflow_state == "active"
            and rubric.id not in assessed
            and len(uses) <= 1
            and aligned
            and (outcome_id is None or outcome_id in aligned)
        ):
            out.append(rubric)
    return out


def _new_ratings(
    rubric: Rubric, criterion_id: str, ratings: list[tuple[str, float]]
) -> list[RubricRating]:
    taken = {c.id for c in rubric.criteria} | {r.id for c in rubric.criteria for r in c.ratings}
    rng = random.Random()  # noqa: S311 - ids, not secrets
    fresh = []
    for description, points in ratings:
        while (rid := f"{rubric.id}_{rng.randint(0, 9999)}") in taken:
            continue
        taken.add(rid)
        fresh.append(RubricRating(rid, description, float(points), criterion_id))
    return fresh


def _total(rubric: Rubric) -> None:
    rubric.points_possible = sum(c.points for c in rubric.criteria if not c.ignore_for_scoring)


def outcome_changed(state: SandboxState, outcome: Outcome) -> list[int]:
    """``Rubric#update_learning_outcome_criteria`` on every updateable rubric; return their ids."""
    changed = []
    with state.lock:
        for rubric in _updateable(state, outcome.id):
            flag_on = om.course_flags(state, rubric.context_id).account_level_mastery_scales
            for criterion in rubric.criteria:
                if criterion.learning_outcome_id != outcome.id:
                    continue
                criterion.description = outcome.title
                criterion.long_description = outcome.description
                if not flag_on:
                    criterion.points = outcome.points_possible
                    criterion.mastery_points = outcome.mastery_points
                    criterion.ratings = _new_ratings(
                        rubric, criterion.id, [(r.description, r.points) for r in outcome.ratings]
                    )
            _total(rubric)
            changed.append(rubric.id)
    return changed


def scale_changed(state: SandboxState, context_type: str, context_id: int) -> list[int]:
    """``Rubric#update_mastery_scales`` (flag on only) for the rubrics of the courses the
    changed scale governs; return the ids of the rubrics rewritten."""
    changed = []
    with state.lock:
        for rubric in _updateable(state):
            course = state.courses[rubric.context_id]
            if context_type == "Course" and course.id != context_id:
                continue
            if context_type == "Account" and context_id not in {
                a.id for a in om.account_chain(state, course.account_id)
            }:
                continue
            if not om.course_flags(state, course.id).account_level_mastery_scales:
                continue
            scale: list[ProficiencyRating] | None = om.resolved_scale(state, "Course", course.id)
            if scale is None:
                continue
            possible, mastery = om.scale_points(scale)
            wanted = [(r.description, r.points) for r in scale]
            rewritten = False
            for criterion in rubric.criteria:
                if criterion.learning_outcome_id is None:
                    continue
                current = [(r.description, r.points) for r in criterion.ratings]
                if (criterion.points, criterion.mastery_points, current) == (
                    possible,
                    mastery,
                    wanted,
                ):
                    continue  # Rubric#criterion_needs_update? is false
                criterion.points, criterion.mastery_points = possible, mastery
                criterion.ratings = _new_ratings(rubric, criterion.id, wanted)
                rewritten = True
            if rewritten:
                _total(rubric)
                changed.append(rubric.id)
    return changed
