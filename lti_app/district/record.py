"""A learner's record across courses: their level on each account outcome over time, and the
course (and term) each piece of evidence was earned in (issue 19, part 3).

:func:`may_view_record` is the one answer to "who may see this learner's record"; every page
that shows a record asks it, and a refusal is a 404 (the page never says whether the learner
exists).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lti_app.district.aggregate import canvas_evidence, district_policy
from lti_app.district.dashboard import account_targets, schools_in_reach
from lti_app.grading.course_mastery import tool_evidence
from lti_app.grading.grid import level_index
from lti_app.lti.roles import CourseRole
from lti_app.mastery.calculation import Evidence, current_level, ordered
from lti_app.mastery.growth import Growth, growth
from lti_app.models.canvas import CanvasCourse, CourseStudent
from lti_app.models.launch import LaunchSession
from lti_app.pathways import observers
from lti_app.policies.store import EffectivePolicy


def _in_course(db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str) -> bool:
    return bool(
        db.scalar(
            select(
                exists().where(
                    CanvasCourse.in_course(platform_id, canvas_course_id),
                    CanvasCourse.last_synced_at.is_not(None),
                    CourseStudent.course_pk == CanvasCourse.id,
                    CourseStudent.canvas_user_id == canvas_user_id,
                )
            )
        )
    )


def _known(
    db: Session, platform_id: int, canvas_user_id: str, schools: frozenset[str] | None = None
) -> bool:
    """A student of a synced course of the tenant (of one of ``schools``, when given)."""
    where = [
        CanvasCourse.platform_id == platform_id,
        CourseStudent.course_pk == CanvasCourse.id,
        CourseStudent.canvas_user_id == canvas_user_id,
    ]
    if schools is not None:
        where.append(CanvasCourse.account_id.in_(sorted(schools)))
    return bool(db.scalar(select(exists().where(*where))))


def may_view_record(db: Session, viewer: LaunchSession, canvas_user_id: str) -> bool:
    """Who may see ``canvas_user_id``'s record, within the viewer's own tenant:

    * the learner themself;
    * an administrator (institution or system role in the launch) of the tenant, for a
      learner the tenant has synced, and a school (sub-account) admin only for a learner in a
      course of their schools (``dashboard.schools_in_reach``);
    * a teacher or TA of the launched course, for a student in that course *now* (the last
      sync's roster), not a former one;
    * an observer (parent or guardian) of the learner in the launched course, as the course's
      synced observer enrollments and the launch's role_scope_mentor claim say
      (lti_app/pathways/observers.py).
    """
    platform_id = viewer.deployment.platform_id
    if viewer.canvas_user_id is not None and viewer.canvas_user_id == canvas_user_id:
        return True
    if viewer.is_admin:
        if viewer.admin_account_id is None:
            return _known(db, platform_id, canvas_user_id)
        reach = schools_in_reach(db, platform_id, viewer.admin_account_id)
        return _known(db, platform_id, canvas_user_id, reach)
    if CourseRole(viewer.course_role).is_teacher and viewer.canvas_course_id:
        return _in_course(db, platform_id, viewer.canvas_course_id, canvas_user_id)
    return observers.observes(db, viewer, canvas_user_id)


@dataclass(frozen=True)
class Piece:
    """One piece of evidence, where it was earned, and the level it left the learner at."""

    evidence: Evidence
    level_index: int | None
    source: str
    """The course it was earned in (and its term)."""
    level_after: float | None


@dataclass(frozen=True)
class RecordTarget:
    canvas_outcome_id: str
    name: str
    pieces: list[Piece]
    growth: Growth
    level_index: int | None


@dataclass(frozen=True)
class Record:
    canvas_user_id: str
    name: str | None
    targets: list[RecordTarget]
    courses: list[tuple[str, str]]
    """(course, term) of every synced course the learner is or was in, by name."""
    eff: EffectivePolicy


def _course_label(course: CanvasCourse) -> str:
    name = course.name or f"course {course.canvas_course_id}"
    return f"{name} ({course.term_name})" if course.term_name else name


def learner_record(db: Session, platform_id: int, canvas_user_id: str, now: datetime) -> Record:
    eff = district_policy(db, platform_id)
    scale, policy = eff.scale, eff.policy
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    names = account_targets(db, platform_id)
    courses = {
        c.id: c
        for c in db.scalars(select(CanvasCourse).where(CanvasCourse.platform_id == platform_id))
    }
    enrolled = db.execute(
        select(CourseStudent.course_pk, CourseStudent.name)
        .join(CanvasCourse, CanvasCourse.id == CourseStudent.course_pk)
        .where(
            CanvasCourse.platform_id == platform_id,
            CourseStudent.canvas_user_id == canvas_user_id,
        )
    ).all()
    learner_name = enrolled[0][1] if enrolled else None
    pieces: dict[str, list[tuple[Evidence, str]]] = defaultdict(list)
    found = canvas_evidence(db, platform_id, [canvas_user_id], list(names), eff)
    for (_, oid), earned in found.items():
        pieces[oid].extend((e, _course_label(courses[pk])) for e, pk in earned)
    for pk, _ in enrolled:
        course = courses[pk]
        own = tool_evidence(db, platform_id, course.canvas_course_id, canvas_user_id)
        for (uid, oid), items in own.items():
            if uid == canvas_user_id and oid in names:
                pieces[oid].extend((e, _course_label(course)) for e in items)
    seen_in = {pk for pk, _ in enrolled}
    seen_in.update(pk for earned in found.values() for _, pk in earned)
    targets: list[RecordTarget] = []
    for oid, name in names.items():
        rows = pieces.get(oid)
        if not rows:
            continue
        where = {id(e): label for e, label in rows}
        items = ordered([e for e, _ in rows])
        plotted: list[Piece] = []
        for i, e in enumerate(items):
            after = current_level(items[: i + 1], policy, lo, hi, threshold).value
            plotted.append(Piece(e, level_index(scale.values, e.score), where[id(e)], after))
        g = growth(items, policy, lo, hi, threshold, now)
        index = level_index(scale.values, g.current_level) if g.current_level is not None else None
        targets.append(RecordTarget(oid, name, plotted, g, index))
    listed = sorted(
        {(_course_label(courses[pk]), courses[pk].term_name or "") for pk in seen_in},
        key=lambda c: (c[1].casefold(), c[0].casefold()),
    )
    return Record(canvas_user_id, learner_name, targets, listed, eff)
