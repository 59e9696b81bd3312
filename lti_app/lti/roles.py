"""Course role from LTI membership (context) roles only.

Canvas sends institution Instructor to everyone who teaches anywhere, and system User to
everyone: neither says anything about this course. TAs arrive as Instructor plus the
TeachingAssistant sub-role. Administrator (institution or system) makes an admin. Observers
(parents, guardians: Canvas's ObserverEnrollment) arrive as membership Mentor; the institution
Mentor role says nothing about this course.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_CONTEXT = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
_TA_SUBROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
_ADMIN_ROLES = frozenset(
    {
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",
    }
)


class CourseRole(StrEnum):
    INSTRUCTOR = "instructor"
    TEACHING_ASSISTANT = "ta"
    LEARNER = "learner"
    OBSERVER = "observer"
    NONE = "none"

    @property
    def is_teacher(self) -> bool:
        return self in (CourseRole.INSTRUCTOR, CourseRole.TEACHING_ASSISTANT)


@dataclass(frozen=True)
class LaunchRoles:
    course_role: CourseRole
    is_admin: bool


def _context_name(role: str) -> str | None:
    """'Instructor' for the full context URI or the deprecated short name; else None."""
    if role.startswith(_CONTEXT):
        return role[len(_CONTEXT) :]
    if role and "/" not in role and "#" not in role and ":" not in role:
        return role  # LTI 1.3 deprecated simple names are context roles
    return None


def classify(roles: list[str]) -> LaunchRoles:
    names = {name for role in roles if (name := _context_name(role))}
    is_ta = _TA_SUBROLE in roles or "TeachingAssistant" in names
    if is_ta:
        course_role = CourseRole.TEACHING_ASSISTANT
    elif "Instructor" in names:
        course_role = CourseRole.INSTRUCTOR
    elif "Learner" in names:
        course_role = CourseRole.LEARNER
    elif "Mentor" in names:
        # A student who also observes someone in the same course stays a student (their own
        # pages); observing is checked against Canvas's observer enrollments, never the role.
        course_role = CourseRole.OBSERVER
    else:
        course_role = CourseRole.NONE
    return LaunchRoles(course_role=course_role, is_admin=bool(_ADMIN_ROLES.intersection(roles)))
