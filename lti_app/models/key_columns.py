"""The key columns most tables share, declared once (mixins for the declarative models).

Every tool table is scoped by platform (tenant), directly or through ``canvas_course``; the
Canvas ids are strings (docs/canvas.md §1). A model lists its own columns after these.
"""

from __future__ import annotations

from typing import TypedDict

from sqlalchemy import ColumnElement, ForeignKey, Index, String, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column

# Mixin columns would otherwise come after the model's own: these keep every table's columns
# in the order the migrations created them (key columns first, then the model's).
_ID, _SCOPE, _COURSE, _USER, _TARGET = -5, -4, -3, -2, -1


class TenantRow:
    """A row of one platform (tenant), with a surrogate key."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=_ID)
    platform_id: Mapped[int] = mapped_column(
        ForeignKey("platform.id", ondelete="CASCADE"), sort_order=_SCOPE
    )


class CourseRow(TenantRow):
    """A row about one Canvas course of the tenant."""

    canvas_course_id: Mapped[str] = mapped_column(String(64), sort_order=_COURSE)

    @classmethod
    def in_course(cls, platform_id: int, canvas_course_id: str) -> ColumnElement[bool]:
        """The filter for the rows of one course of one platform (a query's tenant scope)."""
        return and_(cls.platform_id == platform_id, cls.canvas_course_id == canvas_course_id)


class StudentTarget(TypedDict):
    """Which student and learning target of which course a row is about."""

    platform_id: int
    canvas_course_id: str
    canvas_user_id: str
    canvas_outcome_id: str


class StudentTargetRow(CourseRow):
    """A row about one student and one learning target (Canvas outcome) of the course."""

    canvas_user_id: Mapped[str] = mapped_column(String(64), sort_order=_USER)
    canvas_outcome_id: Mapped[str] = mapped_column(String(64), sort_order=_TARGET)

    def student_target(self) -> StudentTarget:
        """The key columns, for another record about the same student and target."""
        return StudentTarget(
            platform_id=self.platform_id,
            canvas_course_id=self.canvas_course_id,
            canvas_user_id=self.canvas_user_id,
            canvas_outcome_id=self.canvas_outcome_id,
        )


def course_unique(name: str, *columns: str) -> UniqueConstraint:
    """At most one row of a course per value of ``columns`` (none: one row a course)."""
    return UniqueConstraint("platform_id", "canvas_course_id", *columns, name=name)


def student_target_unique(name: str, *columns: str) -> UniqueConstraint:
    """At most one :class:`StudentTargetRow` per student and target per value of ``columns``."""
    return course_unique(name, "canvas_user_id", "canvas_outcome_id", *columns)


def course_student_index(name: str) -> Index:
    """The index a student's page reads a :class:`StudentTargetRow` table by."""
    return Index(name, "platform_id", "canvas_course_id", "canvas_user_id")


class SyncedRow:
    """A row of a synced course, replaced with the course's other rows by a completed sync."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=_ID)
    course_pk: Mapped[int] = mapped_column(
        ForeignKey("canvas_course.id", ondelete="CASCADE"), sort_order=_SCOPE
    )
