"""Which students an observer (a parent or guardian: Canvas's ObserverEnrollment) may see.

Canvas decides, never the launch alone or a URL:

1. The course's synced observer enrollments (``course_observer``, read at every sync with their
   ``associated_user_id``) must link the observer's Canvas user id (from the signed launch) to
   an active student of the course. A link Canvas no longer reports is gone at the next sync,
   and with it the access.
2. When the launch carries Canvas's ``role_scope_mentor`` claim (tools of privacy level public;
   Canvas sends the observed students' LTI 1.3 ids, ``User#lti_id``, the ``sub`` of their own
   launches), it must not contradict the sync: a linked student whose LTI id the tool knows
   (``lti_user``, recorded at each of that student's launches) is shown only if the claim names
   that id. Canvas's REST API does not report LTI 1.3 ids, so a student who has never opened the
   tool cannot be checked against the claim; the synced link alone decides for them.

Observers only read: ``CourseContext.from_session`` refuses them every pathway operation, so no
form of the student pages can act for them (docs/lti.md §4.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext, Forbidden, NotFound, NotSynced
from lti_app.lti.roles import CourseRole
from lti_app.mastery.pathways import Role
from lti_app.models.canvas import CourseObserver, CourseStudent, synced_course
from lti_app.models.launch import LaunchSession, LtiUser
from lti_app.translatable import _l


@dataclass(frozen=True)
class ObservedStudent:
    canvas_user_id: str
    name: str


def require_observer(row: LaunchSession) -> tuple[int, str, str]:
    """The observer launch's (platform, course, Canvas user); Forbidden for anyone else."""
    if CourseRole(row.course_role) is not CourseRole.OBSERVER:
        raise Forbidden(_l("This page is for parents and guardians who observe a student."))
    if not row.canvas_course_id or not row.canvas_user_id:
        raise Forbidden(_l("Open Mastery Pathways from the course navigation in Canvas."))
    return row.deployment.platform_id, row.canvas_course_id, row.canvas_user_id


def _claim_allows(db: Session, platform_id: int, scope: list[str], ids: list[str]) -> set[str]:
    """Of ``ids`` (Canvas user ids), those the role_scope_mentor claim does not contradict."""
    known: dict[str, set[str]] = {}
    for canvas_id, lti_id in db.execute(
        select(LtiUser.canvas_user_id, LtiUser.lti_user_id).where(
            LtiUser.platform_id == platform_id, LtiUser.canvas_user_id.in_(ids)
        )
    ):
        known.setdefault(canvas_id, set()).add(lti_id)
    named = set(scope)
    return {i for i in ids if i not in known or known[i] & named}


def observed_students(db: Session, row: LaunchSession) -> list[ObservedStudent]:
    """The students this observer launch may see, in Canvas's roster order (sortable name)."""
    platform_id, course_id, observer_id = require_observer(row)
    course = synced_course(db, platform_id, course_id)
    if course is None:
        raise NotSynced(_l("This course has not been synced from Canvas yet."))
    rows = db.execute(
        select(CourseStudent.canvas_user_id, CourseStudent.name, CourseStudent.sortable_name)
        .join(
            CourseObserver,
            (CourseObserver.course_pk == CourseStudent.course_pk)
            & (CourseObserver.student_user_id == CourseStudent.canvas_user_id),
        )
        .where(CourseStudent.course_pk == course.id, CourseObserver.observer_user_id == observer_id)
        .order_by(CourseStudent.sortable_name, CourseStudent.canvas_user_id)
    ).all()
    allowed = (
        {r.canvas_user_id for r in rows}
        if row.mentor_scope is None
        else _claim_allows(db, platform_id, row.mentor_scope, [r.canvas_user_id for r in rows])
    )
    return [ObservedStudent(r.canvas_user_id, r.name) for r in rows if r.canvas_user_id in allowed]


def observes(db: Session, row: LaunchSession, student_id: str) -> bool:
    """Whether this launch is an observer's who may see ``student_id`` (the rule above)."""
    if CourseRole(row.course_role) is not CourseRole.OBSERVER or not row.canvas_user_id:
        return False
    try:
        return any(s.canvas_user_id == student_id for s in observed_students(db, row))
    except NotSynced:
        return False


def observed_context(
    db: Session, row: LaunchSession, student_id: str
) -> tuple[CourseContext, ObservedStudent, list[ObservedStudent]]:
    """The course context of one observed student (read as that student's own pages read it),
    that student, and all the observer may see; NotFound for anyone else (a guessed id)."""
    students = observed_students(db, row)
    for student in students:
        if student.canvas_user_id == student_id:
            actor = CourseContext(
                row.deployment.platform_id, row.canvas_course_id or "", student_id, Role.STUDENT
            )
            return actor, student, students
    raise NotFound(_l("There is no such student among the students you observe."))
