"""What every domain shares about a request: the course context it acts in (tenant, course,
user, role), and the errors a service raises for a person to read.

A service raises a ``DomainError`` subclass with a message for the person and an HTTP status;
each blueprint registers one handler that renders it for its audience, so views do not catch
them one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from lti_app.lti.roles import CourseRole
from lti_app.mastery.pathways import Role
from lti_app.models.launch import LaunchSession
from lti_app.translatable import _l


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(DomainError):
    """No such record in the actor's reach (also for other students', courses', tenants')."""

    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    """The record is not in a state that allows the action (e.g. already scored)."""

    status = 409


class Invalid(DomainError):
    """Bad input: ``errors`` maps each field to a message for the person who typed it."""

    status = 400


class NotSynced(DomainError):
    """The course has not been read from Canvas yet."""

    status = 409


@dataclass(frozen=True)
class CourseContext:
    """Who acts, where: the launch's tenant (platform), course, user and role."""

    platform_id: int
    canvas_course_id: str
    canvas_user_id: str
    role: Role

    @classmethod
    def from_session(cls, row: LaunchSession) -> CourseContext:
        """The launch's tenant, course, user and role; Forbidden without a course role."""
        course_role = CourseRole(row.course_role)
        if course_role.is_teacher:
            role = Role.TEACHER
        elif course_role is CourseRole.LEARNER:
            role = Role.STUDENT
        else:
            raise Forbidden(_l("Pathways are for the students and teachers of this course."))
        if not row.canvas_course_id or not row.canvas_user_id:
            raise Forbidden(_l("Open Mastery Pathways from the course navigation in Canvas."))
        return cls(row.deployment.platform_id, row.canvas_course_id, row.canvas_user_id, role)

    @property
    def is_teacher(self) -> bool:
        return self.role is Role.TEACHER
