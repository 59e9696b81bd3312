"""Scored demonstrations and teacher overrides as evidence for the mastery engine."""

from __future__ import annotations

from sqlalchemy import Text, cast, null, select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext, Invalid, NotFound
from lti_app.mastery import pathways as rules
from lti_app.mastery.calculation import Evidence, SourceKind
from lti_app.mastery.own_evidence import by_pair
from lti_app.models.own_rows import OwnRows, oldest_first, own_rows
from lti_app.models.pathways import (
    Demonstration,
    MasteryOverride,
)
from lti_app.pathways.actor import clock_now, require_teacher
from lti_app.pathways.review import student_names
from lti_app.pathways.targets import course_target, synced_course_of
from lti_app.policies.store import effective_policy


def scored_rows(
    platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> OwnRows:
    """Every scored attempt of the course (or of one student) as an ``own_rows`` row (no
    reason); ``grading.course_mastery.tool_evidence`` makes it evidence."""
    return own_rows(
        Demonstration,
        Demonstration.score,
        Demonstration.scored_at,
        cast(null(), Text),
        platform_id,
        canvas_course_id,
        canvas_user_id,
        Demonstration.score.is_not(None),
        Demonstration.scored_at.is_not(None),
    )


def override_rows(
    platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> OwnRows:
    """Every override in force (not cleared) of the course (or of one student) as an
    ``own_rows`` row."""
    return own_rows(
        MasteryOverride,
        MasteryOverride.level,
        MasteryOverride.created_at,
        MasteryOverride.reason,
        platform_id,
        canvas_course_id,
        canvas_user_id,
        MasteryOverride.cleared_at.is_(None),
    )


def override_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Every override in force (not cleared) of the course (or of one student), per
    (canvas_user_id, outcome id), oldest first."""
    query = oldest_first(override_rows(platform_id, canvas_course_id, canvas_user_id))
    return by_pair(SourceKind.OVERRIDE, db.execute(query))


def set_override(
    db: Session,
    actor: CourseContext,
    canvas_user_id: str,
    canvas_outcome_id: str,
    level: str,
    reason: str,
) -> MasteryOverride:
    """A teacher override on the course's scale; the reason (shown to the student) is required."""
    require_teacher(actor)
    course_target(db, actor, canvas_outcome_id)
    course = synced_course_of(db, actor)
    if canvas_user_id not in student_names(db, course):
        raise NotFound("This course has no such student.")
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    value, errors = rules.validate_score(level, eff.scale.values)
    if not reason.strip():
        errors["reason"] = "Give a reason; the student sees it."
    elif problem := rules.validate_feedback(reason, required=True).get("note"):
        errors["reason"] = problem.replace("The feedback", "The reason")
    if errors or value is None:
        raise Invalid("The override was not saved.", errors)
    row = MasteryOverride(
        platform_id=actor.platform_id,
        canvas_course_id=actor.canvas_course_id,
        canvas_user_id=canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
        level=value,
        reason=reason.strip(),
        teacher_canvas_user_id=actor.canvas_user_id,
        created_at=clock_now(),
    )
    db.add(row)
    db.flush()
    return row


def clear_override(db: Session, actor: CourseContext, override_id: int) -> MasteryOverride:
    require_teacher(actor)
    row = db.scalars(
        select(MasteryOverride).where(
            MasteryOverride.id == override_id,
            MasteryOverride.in_course(actor.platform_id, actor.canvas_course_id),
        )
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such override.")
    if row.cleared_at is None:
        row.cleared_at = clock_now()
        row.cleared_by = actor.canvas_user_id
    return row
