"""Role checks on the course context a pathway operation acts in, and the clock it uses."""

from __future__ import annotations

from datetime import UTC, datetime

from lti_app.context import CourseContext, Forbidden
from lti_app.translatable import _l


def require_teacher(actor: CourseContext) -> None:
    if not actor.is_teacher:
        raise Forbidden("This is for the course's teachers.")


def require_student(actor: CourseContext) -> None:
    if actor.is_teacher:
        raise Forbidden(_l("Only students choose and submit demonstrations."))


def clock_now() -> datetime:
    return datetime.now(UTC)
