"""A course's targets and the district library of pathway kinds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.context import CourseContext, Invalid, NotFound, NotSynced
from lti_app.mastery import pathways as rules
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    outcomes_in_outline,
    synced_course,
)
from lti_app.models.pathways import (
    PathwayLibraryKind,
)
from lti_app.pathways.actor import clock_now
from lti_app.translatable import _l


def synced_course_of(db: Session, actor: CourseContext) -> CanvasCourse:
    course = synced_course(db, actor.platform_id, actor.canvas_course_id)
    if course is None:
        raise NotSynced(_l("This course has not been synced from Canvas yet."))
    return course


def targets(db: Session, actor: CourseContext) -> list[CourseOutcome]:
    """The course's learning targets in Canvas's outline order."""
    return outcomes_in_outline(db, synced_course_of(db, actor).id)


def course_target(db: Session, actor: CourseContext, canvas_outcome_id: str) -> CourseOutcome:
    if len(canvas_outcome_id) > 64 or not canvas_outcome_id.isprintable():
        raise NotFound(_l("This course has no such learning target."))  # not a Canvas id
    course = synced_course_of(db, actor)
    row = db.scalars(
        select(CourseOutcome).where(
            CourseOutcome.course_pk == course.id,
            CourseOutcome.canvas_outcome_id == canvas_outcome_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(_l("This course has no such learning target."))
    return row


def library(db: Session, platform_id: int) -> list[PathwayLibraryKind]:
    """The district's pathway library, seeded with the seven default kinds on first use."""
    rows = list(
        db.scalars(
            select(PathwayLibraryKind)
            .where(PathwayLibraryKind.platform_id == platform_id)
            .order_by(PathwayLibraryKind.position)
        )
    )
    if rows:
        return rows
    try:
        with db.begin_nested():
            for position, info in enumerate(rules.DEFAULT_KINDS):
                db.add(
                    PathwayLibraryKind(
                        platform_id=platform_id,
                        kind=info.kind.value,
                        title=info.title,
                        instructions=info.instructions,
                        enabled=True,
                        position=position,
                    )
                )
    except IntegrityError:
        pass  # a concurrent first use seeded it: read theirs
    return list(
        db.scalars(
            select(PathwayLibraryKind)
            .where(PathwayLibraryKind.platform_id == platform_id)
            .order_by(PathwayLibraryKind.position)
        )
    )


@dataclass(frozen=True)
class LibraryRow:
    """One kind of the district library as typed on the admin page."""

    kind: str
    enabled: bool
    title: str
    instructions: str


def save_library(
    db: Session, platform_id: int, rows: Sequence[LibraryRow]
) -> list[PathwayLibraryKind]:
    """The district admin's edit of the library (caller checks the admin role).

    A disabled kind is no longer offered by default menus nor addable to a menu; menus that
    already offer it keep it. Invalid ("<kind>-<field>": message) leaves everything unchanged.
    """
    current = {k.kind: k for k in library(db, platform_id)}
    errors: dict[str, str] = {}
    for row in rows:
        if row.kind not in current:
            errors[f"{row.kind}-kind"] = "That is not a kind of the district library."
            continue
        _, item_errors = rules.validate_menu_item(
            row.kind, row.title, row.instructions, "", "", clock_now()
        )
        errors |= {f"{row.kind}-{key}": message for key, message in item_errors.items()}
    if not any(r.enabled for r in rows):
        errors["library"] = "Keep at least one kind enabled."
    if errors:
        raise Invalid("The library was not saved.", errors)
    for row in rows:
        kind = current[row.kind]
        kind.enabled = row.enabled
        kind.title = row.title.strip()
        kind.instructions = row.instructions.strip()
    db.flush()
    return library(db, platform_id)
