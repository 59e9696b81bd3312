"""Teacher views: the review queue and choice analytics."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext
from lti_app.mastery import pathways as rules
from lti_app.mastery.pathways import PathwayKind, State
from lti_app.models.canvas import (
    CanvasCourse,
    CourseStudent,
)
from lti_app.models.pathways import (
    Demonstration,
    PathwayMenuItem,
)
from lti_app.pathways.actor import require_teacher
from lti_app.pathways.targets import library, synced_course_of, targets
from lti_app.policies.store import effective_policy


@dataclass(frozen=True)
class QueueItem:
    demo: Demonstration
    student_name: str
    target_title: str
    due_at: datetime | None = None

    @property
    def late(self) -> bool:
        """Submitted after the menu item's due date (shown, never refused)."""
        submitted = self.demo.submitted_at
        return bool(self.due_at and submitted and submitted > self.due_at)


@dataclass
class ReviewQueue:
    proposals: list[QueueItem] = field(default_factory=list)
    submissions: list[QueueItem] = field(default_factory=list)
    reassessments: list[QueueItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.proposals) + len(self.submissions) + len(self.reassessments)


_QUEUE_STATES = {
    State.PROPOSED.value: "proposals",
    State.SUBMITTED.value: "submissions",
    State.REASSESSMENT_REQUESTED.value: "reassessments",
}


def student_names(db: Session, course: CanvasCourse) -> dict[str, str]:
    return {
        s.canvas_user_id: s.name
        for s in db.scalars(select(CourseStudent).where(CourseStudent.course_pk == course.id))
    }


def roster_names(db: Session, actor: CourseContext) -> dict[str, str]:
    """Student names of the course by Canvas user id (teachers only)."""
    require_teacher(actor)
    return student_names(db, synced_course_of(db, actor))


def review_queue(db: Session, actor: CourseContext) -> ReviewQueue:
    """What waits for the teacher, oldest first."""
    require_teacher(actor)
    course = synced_course_of(db, actor)
    names = student_names(db, course)
    titles = {o.canvas_outcome_id: o.name for o in targets(db, actor)}
    dues = {
        i.id: i.due_at
        for i in db.scalars(
            select(PathwayMenuItem).where(
                PathwayMenuItem.in_course(actor.platform_id, actor.canvas_course_id),
                PathwayMenuItem.due_at.is_not(None),
            )
        )
    }
    queue = ReviewQueue()
    rows = db.scalars(
        select(Demonstration)
        .where(
            Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
            Demonstration.state.in_(list(_QUEUE_STATES)),
        )
        .order_by(Demonstration.updated_at, Demonstration.id)
    )
    for demo in rows:
        item = QueueItem(
            demo,
            names.get(demo.canvas_user_id, f"Student {demo.canvas_user_id}"),
            titles.get(demo.canvas_outcome_id, f"Target {demo.canvas_outcome_id}"),
            dues.get(demo.menu_item_id) if demo.menu_item_id else None,
        )
        getattr(queue, _QUEUE_STATES[demo.state]).append(item)
    return queue


def _waiting(platform_id: int, canvas_course_id: str) -> ColumnElement[bool]:
    """The course's demonstrations waiting in one of the review queues."""
    return and_(
        Demonstration.in_course(platform_id, canvas_course_id),
        Demonstration.state.in_(list(_QUEUE_STATES)),
    )


def waiting_count(platform_id: int, canvas_course_id: str) -> ScalarSelect[int]:
    """Items waiting in the review queues, as a subquery for a one-statement summary."""
    return (
        select(func.count(Demonstration.id))
        .where(_waiting(platform_id, canvas_course_id))
        .scalar_subquery()
    )


def queue_counts(db: Session, platform_id: int, canvas_course_id: str) -> dict[str, int]:
    """Waiting items per queue (for the tab's count), without loading any rows."""
    counts = dict.fromkeys(_QUEUE_STATES.values(), 0)
    rows = db.execute(
        select(Demonstration.state, func.count(Demonstration.id))
        .where(_waiting(platform_id, canvas_course_id))
        .group_by(Demonstration.state)
    )
    for state, count in rows:
        counts[_QUEUE_STATES[state]] = count
    counts["total"] = sum(counts.values())
    return counts


@dataclass(frozen=True)
class KindChoices:
    kind: PathwayKind
    title: str
    students: int
    scored: int
    levels: list[tuple[str, int]]  # (level label, scored attempts), scale order
    mean: float | None


@dataclass(frozen=True)
class TargetChoices:
    canvas_outcome_id: str
    title: str
    kinds: list[KindChoices]
    students: int


def choice_analytics(db: Session, actor: CourseContext) -> list[TargetChoices]:
    """Per target: which pathways students chose, and the levels scored attempts reached."""
    require_teacher(actor)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    kind_titles = {k.kind: k.title for k in library(db, actor.platform_id)}
    demos = db.scalars(
        select(Demonstration).where(
            Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
            Demonstration.state != State.WITHDRAWN.value,
        )
    ).all()
    by_target: dict[str, dict[str, list[Demonstration]]] = defaultdict(lambda: defaultdict(list))
    for d in demos:
        by_target[d.canvas_outcome_id][d.kind].append(d)
    out = []
    for target in targets(db, actor):
        per_kind = by_target.get(target.canvas_outcome_id, {})
        kinds = []
        for info in rules.DEFAULT_KINDS:
            rows = per_kind.get(info.kind.value, [])
            if not rows:
                continue
            scores = [d.score for d in rows if d.score is not None]
            labels = Counter(
                (lvl.label if (lvl := eff.scale.level_for(s)) else str(s)) for s in scores
            )
            levels = [(lv.label, labels[lv.label]) for lv in eff.scale.levels if labels[lv.label]]
            kinds.append(
                KindChoices(
                    info.kind,
                    kind_titles.get(info.kind.value, info.title),
                    len({d.canvas_user_id for d in rows}),
                    len(scores),
                    levels,
                    round(sum(scores) / len(scores), 2) if scores else None,
                )
            )
        students = len({d.canvas_user_id for rows in per_kind.values() for d in rows})
        out.append(TargetChoices(target.canvas_outcome_id, target.name, kinds, students))
    return out
