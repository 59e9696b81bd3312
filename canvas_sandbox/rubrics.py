"""Assignments, rubrics, rubric associations and assessments (docs/canvas.md §3.7-3.13).

These are the only write path to outcome results, so they reproduce Canvas's sharp edges on
purpose: criterion points derived from ratings, the one-grading-association trap that deletes
results, replace-the-whole-assessment semantics and the points cap.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from canvas_sandbox import outcomes as outcome_model
from canvas_sandbox import results as result_model
from canvas_sandbox.errors import ValidationFailed
from canvas_sandbox.state import (
    AssessmentRow,
    Assignment,
    LearningOutcomeResult,
    Rubric,
    RubricAssessment,
    RubricAssociation,
    RubricCriterion,
    RubricRating,
    SandboxState,
    Submission,
)


class InvalidAssessment(Exception):
    """No key of a rubric_assessment matched a criterion (400 "invalid rubric_assessment")."""


@dataclass
class RatingInput:
    description: str
    points: float
    long_description: str = ""
    id: str | None = None


@dataclass
class CriterionInput:
    description: str
    ratings: list[RatingInput]
    long_description: str = ""
    learning_outcome_id: int | None = None
    mastery_points: float | None = None
    ignore_for_scoring: bool = False
    criterion_use_range: bool = False
    id: str | None = None


@dataclass
class AssessInput:
    points: float | None
    comments: str = ""
    rating_id: str | None = None


@dataclass
class AssociationInput:
    purpose: str = "grading"
    use_for_grading: bool = False
    hide_score_total: bool = False
    hide_points: bool = False
    hide_outcome_results: bool = False
    title: str | None = None
    bookmarked: bool = True
    extra: dict[str, str] = field(default_factory=dict)


def create_assignment(
    state: SandboxState,
    course_id: int,
    name: str,
    *,
    points_possible: float = 0.0,
    grading_type: str = "points",
    submission_types: Sequence[str] = ("none",),
    published: bool = True,
    omit_from_final_grade: bool = False,
    due_at: datetime | None = None,
    description: str = "",
) -> Assignment:
    if not name:
        raise ValidationFailed("name", "name is missing", "blank")
    with state.lock:
        position = 1 + sum(1 for a in state.assignments.values() if a.course_id == course_id)
        assignment = Assignment(
            state.next_id("assignment", 1),
            course_id,
            name,
            points_possible=float(points_possible),
            grading_type=grading_type,
            submission_types=list(submission_types),
            published=published,
            omit_from_final_grade=omit_from_final_grade,
            due_at=due_at,
            description=description,
            position=position,
            created_at=state.now(),
            workflow_state="published" if published else "unpublished",
            post_manually=state.courses[course_id].post_manually,
        )
        state.assignments[assignment.id] = assignment
        return assignment


def _unique_id(rng: random.Random, rubric_id: int, wanted: str | None, taken: set[str]) -> str:
    """``Rubric#unique_item_id``: keep a supplied id if unused, else ``<rubric_id>_<n>``."""
    if wanted and wanted not in taken:
        taken.add(wanted)
        return wanted
    for _ in range(100_000):
        candidate = f"{rubric_id}_{rng.randint(0, 9999)}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    raise RuntimeError("rubric item ids exhausted")


def _generate_criteria(
    state: SandboxState, course_id: int, rubric_id: int, criteria: Sequence[CriterionInput]
) -> list[RubricCriterion]:
    if not criteria:
        raise ValidationFailed("data", "Rubric must have at least one criterion")
    # Deterministic, not secret: ids must be stable across re-seeds.
    rng = random.Random(rubric_id * 7919 + len(criteria))  # noqa: S311
    taken: set[str] = set()
    generated: list[RubricCriterion] = []
    for data in criteria:
        if not data.ratings:
            raise ValidationFailed("data", f"Criterion '{data.description}' has no ratings")
        long_description = data.long_description
        mastery_points = data.mastery_points
        if data.learning_outcome_id is not None:
            outcome = state.outcomes.get(data.learning_outcome_id)
            if outcome is None or outcome.workflow_state != "active":
                raise ValidationFailed(
                    "learning_outcome_id", f"Outcome {data.learning_outcome_id} does not exist"
                )
            long_description = outcome.description
            if mastery_points is None:
                mastery_points = outcome.mastery_points
        criterion_id = _unique_id(rng, rubric_id, data.id, taken)
        ratings = [
            RubricRating(
                _unique_id(rng, rubric_id, r.id, taken),
                r.description,
                float(r.points),
                criterion_id,
                r.long_description,
            )
            for r in sorted(data.ratings, key=lambda r: -float(r.points))
        ]
        generated.append(
            RubricCriterion(
                id=criterion_id,
                description=data.description or "No Description",
                # Canvas ignores the points sent and takes the best rating (docs/canvas.md §3.8).
                points=max(r.points for r in ratings),
                ratings=ratings,
                long_description=long_description,
                learning_outcome_id=data.learning_outcome_id,
                mastery_points=mastery_points,
                ignore_for_scoring=data.ignore_for_scoring,
                criterion_use_range=data.criterion_use_range,
            )
        )
    return generated


def _total(criteria: Sequence[RubricCriterion]) -> float:
    return sum(c.points for c in criteria if not c.ignore_for_scoring)


def create_rubric(
    state: SandboxState,
    course_id: int,
    title: str,
    criteria: Sequence[CriterionInput],
    *,
    user_id: int | None = None,
    free_form_criterion_comments: bool = False,
    hide_score_total: bool = False,
) -> Rubric:
    if not title:
        raise ValidationFailed("title", "Title can't be blank", "blank")
    with state.lock:
        rubric_id = state.next_id("rubric", 1)
        generated = _generate_criteria(state, course_id, rubric_id, criteria)
        rubric = Rubric(
            rubric_id,
            "Course",
            course_id,
            title,
            generated,
            points_possible=_total(generated),
            free_form_criterion_comments=free_form_criterion_comments,
            hide_score_total=hide_score_total,
            user_id=user_id,
            created_at=state.now(),
        )
        state.rubrics[rubric.id] = rubric
        return rubric


def active_associations(state: SandboxState, rubric_id: int) -> list[RubricAssociation]:
    return [
        a
        for a in state.rubric_associations.values()
        if a.rubric_id == rubric_id and a.workflow_state == "active"
    ]


def grading_association(state: SandboxState, assignment_id: int) -> RubricAssociation | None:
    for assoc in state.rubric_associations.values():
        if (
            assoc.association_type == "Assignment"
            and assoc.association_id == assignment_id
            and assoc.purpose == "grading"
            and assoc.workflow_state == "active"
        ):
            return assoc
    return None


def destroy_association(state: SandboxState, assoc: RubricAssociation) -> int:
    """Destroy an association and ``destroy_all`` its outcome results; return how many."""
    with state.lock:
        assoc.workflow_state = "deleted"
        return result_model.delete_for_association(state, assoc.id)


def _update_alignments(state: SandboxState, rubric: Rubric, assoc: RubricAssociation) -> None:
    if assoc.association_type != "Assignment":
        return
    course_id = assoc.context_id
    for criterion in rubric.criteria:
        if criterion.learning_outcome_id is not None:
            outcome_model.align(
                state, course_id, assoc.association_id, criterion.learning_outcome_id
            )


def associate(
    state: SandboxState,
    rubric: Rubric,
    association_type: str,
    association_id: int,
    options: AssociationInput | None = None,
) -> RubricAssociation:
    """Create an association. A second grading one on an assignment destroys the first
    (docs/canvas.md §3.6)."""
    opts = options or AssociationInput()
    with state.lock:
        course_id = rubric.context_id
        if association_type == "Assignment":
            assignment = state.assignments.get(association_id)
            if assignment is None:
                raise ValidationFailed("association_id", "Assignment not found")
            course_id = assignment.course_id
            if opts.purpose == "grading":
                # THE TRAP: assert_uniqueness destroys the previous grading association
                # and, with it, every outcome result it produced.
                for old in list(state.rubric_associations.values()):
                    if (
                        old.association_type == "Assignment"
                        and old.association_id == association_id
                        and old.purpose == "grading"
                        and old.workflow_state == "active"
                    ):
                        destroy_association(state, old)
        use_for_grading = opts.use_for_grading and not opts.hide_points
        title = opts.title
        if not title:
            title = (
                state.assignments[association_id].name
                if association_type == "Assignment"
                else rubric.title
            )
        assoc = RubricAssociation(
            state.next_id("rubric_association", 1),
            rubric.id,
            association_type,
            association_id,
            "Course",
            course_id,
            purpose=opts.purpose,
            use_for_grading=use_for_grading,
            hide_score_total=opts.hide_score_total,
            hide_points=opts.hide_points,
            hide_outcome_results=opts.hide_outcome_results,
            title=title,
            bookmarked=opts.bookmarked,
        )
        state.rubric_associations[assoc.id] = assoc
        if association_type == "Assignment" and use_for_grading:
            state.assignments[association_id].points_possible = rubric.points_possible
        _update_alignments(state, rubric, assoc)
        return assoc


def update_rubric(
    state: SandboxState,
    rubric: Rubric,
    title: str | None,
    criteria: Sequence[CriterionInput] | None,
    association: RubricAssociation | None,
) -> Rubric:
    """Update in place when the rubric is used in at most one place; else fork a new one
    (docs/canvas.md §3.9)."""
    with state.lock:
        uses = active_associations(state, rubric.id)
        in_place = len(uses) <= 1 and (
            not uses or association is None or uses[0].id == association.id
        )
        new_title = title or rubric.title
        if in_place:
            if criteria is not None:
                rubric.criteria = _generate_criteria(state, rubric.context_id, rubric.id, criteria)
                rubric.points_possible = _total(rubric.criteria)
            rubric.title = new_title
            target = rubric
        else:
            source = criteria
            if source is None:
                source = [
                    CriterionInput(
                        c.description,
                        [
                            RatingInput(r.description, r.points, r.long_description)
                            for r in c.ratings
                        ],
                        c.long_description,
                        c.learning_outcome_id,
                        c.mastery_points,
                        c.ignore_for_scoring,
                        c.criterion_use_range,
                    )
                    for c in rubric.criteria
                ]
            target = create_rubric(
                state,
                rubric.context_id,
                new_title,
                source,
                user_id=rubric.user_id,
                free_form_criterion_comments=rubric.free_form_criterion_comments,
            )
            if association is not None:
                association.rubric_id = target.id
        if association is not None:
            _update_alignments(state, target, association)
        return target


def _submission(state: SandboxState, assignment_id: int, user_id: int) -> Submission:
    for sub in state.submissions.values():
        if sub.assignment_id == assignment_id and sub.user_id == user_id:
            return sub
    sub = Submission(state.next_id("submission", 1), assignment_id, user_id)
    state.submissions[sub.id] = sub
    return sub


def submission_for(state: SandboxState, assignment_id: int, user_id: int) -> Submission:
    with state.lock:
        return _submission(state, assignment_id, user_id)


def assessment_for(
    state: SandboxState, association_id: int, user_id: int
) -> RubricAssessment | None:
    for assessment in state.assessments.values():
        if assessment.rubric_association_id == association_id and assessment.user_id == user_id:
            return assessment
    return None


def assess(
    state: SandboxState,
    assoc: RubricAssociation,
    user_id: int,
    assessor_id: int,
    rows: Mapping[str, AssessInput],
    *,
    at: datetime | None = None,
    strict: bool = True,
) -> RubricAssessment:
    """Replace the user's assessment with exactly ``rows`` and schedule outcome results.

    ``strict``: raise ``InvalidAssessment`` when no key matches a criterion (the single
    submission endpoint); the bulk path ignores bad keys silently (docs/canvas.md §3.11, §3.13).
    """
    with state.lock:
        rubric = state.rubrics[assoc.rubric_id]
        criteria = {c.id: c for c in rubric.criteria}
        matching = {k: v for k, v in rows.items() if k in criteria}
        if not matching and strict:
            raise InvalidAssessment
        course_id = assoc.context_id
        extra_credit = outcome_model.course_flags(state, course_id).outcome_extra_credit
        data: dict[str, AssessmentRow] = {}
        for crit_id, given in matching.items():
            criterion = criteria[crit_id]
            points = given.points
            if (
                points is not None
                and criterion.learning_outcome_id is not None
                and not extra_credit
            ):
                points = min(points, criterion.points)
            rating = next((r for r in criterion.ratings if r.id == given.rating_id), None)
            if points is not None and (rating is None or rating.points != points):
                rating = next((r for r in criterion.ratings if r.points == points), rating)
            data[crit_id] = AssessmentRow(
                points=points,
                rating_id=rating.id if rating else None,
                description=rating.description if rating else None,
                comments=given.comments,
            )
        score = sum(
            row.points or 0.0 for cid, row in data.items() if not criteria[cid].ignore_for_scoring
        )
        when = at or state.now()
        submission = _submission(state, assoc.association_id, user_id)
        assessment = assessment_for(state, assoc.id, user_id)
        if assessment is None:
            assessment = RubricAssessment(
                state.next_id("rubric_assessment", 1),
                rubric.id,
                assoc.id,
                user_id,
                assessor_id,
                submission.id,
                data,
                score,
                when,
            )
            state.assessments[assessment.id] = assessment
        else:
            # The whole assessment is replaced by the rows sent (docs/canvas.md §3.5).
            assessment.rubric_id = rubric.id
            assessment.data = data
            assessment.score = score
            assessment.assessor_id = assessor_id
            assessment.assessed_at = when
        if assoc.use_for_grading:
            submission.score = score
            submission.grade = _fmt(score)
            submission.graded_at = when
            submission.grader_id = assessor_id
            submission.workflow_state = "graded"
            # Assignment#grade_student posts a graded submission under an automatic post
            # policy; a rubric-only assessment (RubricAssessment#update_artifact returns
            # early without use_for_grading) never posts it.
            assignment = state.assignments[assoc.association_id]
            if submission.posted_at is None and not assignment.post_manually:
                submission.posted_at = when
        _track_outcomes(state, assoc, rubric, assessment, submission, when)
        result_model.materialize(state)
        return assessment


def post_submissions(state: SandboxState, assignment: Assignment) -> int:
    """Post every graded or assessed submission of an assignment (Canvas's "Post grades",
    ``Assignment#post_submissions``); return how many were newly posted."""
    with state.lock:
        now = state.now()
        assessed = {
            a.submission_id
            for a in state.assessments.values()
            if state.rubric_associations[a.rubric_association_id].association_id == assignment.id
        }
        posted = 0
        for sub in state.submissions.values():
            if sub.assignment_id != assignment.id or sub.posted_at is not None:
                continue
            if sub.workflow_state == "graded" or sub.id in assessed:
                sub.posted_at = now
                posted += 1
        state.result_generation += 1
        return posted


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _track_outcomes(
    state: SandboxState,
    assoc: RubricAssociation,
    rubric: Rubric,
    assessment: RubricAssessment,
    submission: Submission,
    when: datetime,
) -> None:
    if assoc.association_type != "Assignment":
        return
    course_id = assoc.context_id
    assignment = state.assignments[assoc.association_id]
    user = state.users[assessment.user_id]
    flags = outcome_model.course_flags(state, course_id)
    for criterion in rubric.criteria:
        outcome_id = criterion.learning_outcome_id
        row = assessment.data.get(criterion.id)
        if outcome_id is None or row is None or row.points is None:
            continue
        alignment = outcome_model.align(state, course_id, assignment.id, outcome_id)
        possible = criterion.points
        score = row.points
        if possible > 0:
            percent: float | None = score / possible
        elif flags.account_level_mastery_scales:
            scale = outcome_model.resolved_scale(state, "Course", course_id)
            top = outcome_model.scale_points(scale)[0] if scale else 0.0
            percent = score / top if top else None
        else:
            mp = state.outcomes[outcome_id].mastery_points
            percent = score / mp if mp else None
        threshold = criterion.mastery_points if criterion.mastery_points is not None else possible
        result_model.schedule(
            state,
            LearningOutcomeResult(
                id=0,
                course_id=course_id,
                user_id=user.id,
                outcome_id=outcome_id,
                alignment_id=alignment.id,
                association_id=assoc.id,
                assignment_id=assignment.id,
                title=f"{user.name}, {assoc.title or assignment.name}",
                score=score,
                possible=possible,
                percent=percent,
                mastery=score >= threshold,
                submitted_at=submission.submitted_at,
                assessed_at=when,
                attempt=submission.attempt or 1,
                hide_points=assoc.hide_points,
                hidden=assoc.hide_outcome_results,
            ),
        )
