"""Who acts: the actor built from a launch session, and role checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lti_app.context import Forbidden
from lti_app.lti.roles import CourseRole
from lti_app.mastery.pathways import Role
from lti_app.models.launch import LaunchSession


@dataclass(frozen=True)
class Actor:
    platform_id: int
    canvas_course_id: str
    canvas_user_id: str
    role: Role

    @classmethod
    def from_session(cls, row: LaunchSession) -> Actor:
        """The launch's tenant, course, user and role; Forbidden without a course role."""
        course_role = CourseRole(row.course_role)
        if course_role.is_teacher:
            role = Role.TEACHER
        elif course_role is CourseRole.LEARNER:
            role = Role.STUDENT
        else:
            raise Forbidden("Pathways are for the students and teachers of this course.")
        if not row.canvas_course_id or not row.canvas_user_id:
            raise Forbidden("Open Mastery Pathways from the course navigation in Canvas.")
        return cls(row.deployment.platform_id, row.canvas_course_id, row.canvas_user_id, role)

    @property
    def is_teacher(self) -> bool:
        return self.role is Role.TEACHER


def require_teacher(actor: Actor) -> None:
    if not actor.is_teacher:
        raise Forbidden("This is for the course's teachers.")


def require_student(actor: Actor) -> None:
    if actor.is_teacher:
        raise Forbidden("Only students choose and submit demonstrations.")


def clock_now() -> datetime:
    return datetime.now(UTC)
