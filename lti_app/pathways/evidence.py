"""Scored demonstrations and teacher overrides as evidence for the mastery engine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, Text, cast, null, select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext, Invalid, NotFound
from lti_app.mastery import pathways as rules
from lti_app.mastery.calculation import Evidence, SourceKind
from lti_app.mastery.own_evidence import by_pair
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
) -> Select[int, str, str, float | None, datetime | None, str | None]:
    """Every scored attempt of the course (or of one student) as an ``own_evidence`` row
    (no reason), unordered; only the columns evidence needs."""
    query = select(
        Demonstration.id,
        Demonstration.canvas_user_id,
        Demonstration.canvas_outcome_id,
        Demonstration.score.label("level"),
        Demonstration.scored_at.label("at"),
        cast(null(), Text).label("reason"),
    ).where(
        Demonstration.platform_id == platform_id,
        Demonstration.canvas_course_id == canvas_course_id,
        Demonstration.score.is_not(None),
        Demonstration.scored_at.is_not(None),
    )
    if canvas_user_id is not None:
        query = query.where(Demonstration.canvas_user_id == canvas_user_id)
    return query


def override_rows(
    platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> Select[int, str, str, float, datetime, str]:
    """Every override in force (not cleared) of the course (or of one student) as an
    ``own_evidence`` row, unordered."""
    query = select(
        MasteryOverride.id,
        MasteryOverride.canvas_user_id,
        MasteryOverride.canvas_outcome_id,
        MasteryOverride.level.label("level"),
        MasteryOverride.created_at.label("at"),
        MasteryOverride.reason,
    ).where(
        MasteryOverride.platform_id == platform_id,
        MasteryOverride.canvas_course_id == canvas_course_id,
        MasteryOverride.cleared_at.is_(None),
    )
    if canvas_user_id is not None:
        query = query.where(MasteryOverride.canvas_user_id == canvas_user_id)
    return query


def scored_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Every scored attempt of the course (or of one student) as evidence, per
    (canvas_user_id, outcome id), oldest first."""
    query = scored_rows(platform_id, canvas_course_id, canvas_user_id)
    rows = db.execute(query.order_by(Demonstration.scored_at, Demonstration.id))
    return by_pair(SourceKind.DEMONSTRATION, rows)


def override_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Every override in force (not cleared) of the course (or of one student), per
    (canvas_user_id, outcome id), oldest first."""
    query = override_rows(platform_id, canvas_course_id, canvas_user_id)
    rows = db.execute(query.order_by(MasteryOverride.created_at, MasteryOverride.id))
    return by_pair(SourceKind.OVERRIDE, rows)


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
            MasteryOverride.platform_id == actor.platform_id,
            MasteryOverride.canvas_course_id == actor.canvas_course_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such override.")
    if row.cleared_at is None:
        row.cleared_at = clock_now()
        row.cleared_by = actor.canvas_user_id
    return row
