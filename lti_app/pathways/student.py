"""What a student's pages show: every target with its menu, current demonstration and history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext
from lti_app.mastery import pathways as rules
from lti_app.mastery.pathways import Action, PathwayKind, Role, State
from lti_app.models.pathways import (
    Demonstration,
    DemonstrationEvent,
    PathwayMenuItem,
)
from lti_app.pathways.actor import require_student
from lti_app.pathways.menus import MenuEntry, menu_of
from lti_app.pathways.targets import library, targets


@dataclass(frozen=True)
class StudentTarget:
    canvas_outcome_id: str
    title: str
    description: str | None
    menu: list[MenuEntry]
    current: Demonstration | None
    """The open demonstration, else the latest scored one, else None."""
    actions: list[Action]
    """What the student may do with ``current`` now."""
    history: list[Demonstration]
    """Every demonstration of this target, newest first (events loaded: feedback is there)."""


def student_view(db: Session, actor: CourseContext) -> list[StudentTarget]:
    """Every target of the course with its menu and the student's own demonstrations."""
    require_student(actor)
    mine = db.scalars(
        select(Demonstration)
        .where(
            Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
            Demonstration.canvas_user_id == actor.canvas_user_id,
        )
        .order_by(Demonstration.id.desc())
    ).all()
    by_target: dict[str, list[Demonstration]] = defaultdict(list)
    for d in mine:
        by_target[d.canvas_outcome_id].append(d)
    # Two queries for every menu of the course, however many targets it has.
    menus: dict[str, list[PathwayMenuItem]] = defaultdict(list)
    for item in db.scalars(
        select(PathwayMenuItem)
        .where(
            PathwayMenuItem.in_course(actor.platform_id, actor.canvas_course_id),
        )
        .order_by(PathwayMenuItem.position, PathwayMenuItem.id)
    ):
        menus[item.canvas_outcome_id].append(item)
    kinds = library(db, actor.platform_id)
    out = []
    for target in targets(db, actor):
        history = by_target.get(target.canvas_outcome_id, [])
        current = next((d for d in history if rules.is_open(State(d.state))), None)
        if current is None:
            current = next((d for d in history if d.state == State.SCORED.value), None)
        actions = (
            rules.actions_for(State(current.state), Role.STUDENT, PathwayKind(current.kind))
            if current
            else []
        )
        menu, _ = menu_of(menus.get(target.canvas_outcome_id, []), lambda: kinds)
        out.append(
            StudentTarget(
                target.canvas_outcome_id,
                target.title,
                target.description,
                menu,
                current,
                actions,
                history,
            )
        )
    return out


def teacher_feedback(demo: Demonstration) -> list[DemonstrationEvent]:
    """The teachers' notes on a demonstration, oldest first (what the student should read)."""
    return [e for e in demo.events if e.actor_role == Role.TEACHER.value and e.note]
