"""The district dashboard's aggregates: computed after each course sync, read per request.

``district_level`` holds one row per (student, account outcome) of a tenant: the learner's
current level on that target from their evidence in every synced course, under the district
policy. ``district_cell`` repeats that level once per course (and section) the student is in
that links the target, with the course's school (sub-account) and term, so every dashboard
view is one indexed aggregate over one table and counts each student once per target
however many courses assess it. Counting once needs no ``DISTINCT`` at request time: each
cell's ``leads`` (:class:`Lead` bits) marks it as the one cell that stands for its student and
target (or its student) within a school, a term, a school's term or a course, decided when the
student's cells are rebuilt. Both tables are rebuilt for the students of a course at the end of
its sync (``lti_app.district.aggregate``).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntFlag

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow


class Lead(IntFlag):
    """Which groups a cell stands for once: set on exactly one cell per key (:data:`LEAD_KEYS`)."""

    TERM = 1  # (student, target, term)
    SCHOOL = 2  # (student, target, school)
    SCHOOL_TERM = 4  # (student, target, school, term)
    COURSE = 8  # (student, target, course)
    STUDENT_SCHOOL = 16  # (student, school)
    STUDENT_SCHOOL_TERM = 32  # (student, school, term)
    STUDENT_COURSE = 64  # (student, course)
    STUDENT_SECTION = 128  # (student, course, section)


#: The cell columns each lead is unique over.
LEAD_KEYS: dict[Lead, tuple[str, ...]] = {
    Lead.TERM: ("canvas_user_id", "canvas_outcome_id", "term_id"),
    Lead.SCHOOL: ("canvas_user_id", "canvas_outcome_id", "account_id"),
    Lead.SCHOOL_TERM: ("canvas_user_id", "canvas_outcome_id", "account_id", "term_id"),
    Lead.COURSE: ("canvas_user_id", "canvas_outcome_id", "course_pk"),
    Lead.STUDENT_SCHOOL: ("canvas_user_id", "account_id"),
    Lead.STUDENT_SCHOOL_TERM: ("canvas_user_id", "account_id", "term_id"),
    Lead.STUDENT_COURSE: ("canvas_user_id", "course_pk"),
    Lead.STUDENT_SECTION: ("canvas_user_id", "course_pk", "canvas_section_id"),
}


class DistrictLevel(Base):
    __tablename__ = "district_level"
    __table_args__ = (
        UniqueConstraint(
            "platform_id",
            "canvas_user_id",
            "canvas_outcome_id",
            name="uq_district_level_platform_user_outcome",
        ),
        # Covers the district-wide count (grouped by target and level, no table read).
        Index(
            "ix_district_level_platform_outcome",
            "platform_id",
            "canvas_outcome_id",
            "level_index",
            "mastered",
            "on_track",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[float | None] = mapped_column(Float)
    # Index into the district scale's levels (floor), None without a level.
    level_index: Mapped[int | None] = mapped_column(Integer)
    mastered: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not mastered yet, with a rising trend that reaches mastery (growth's "on track").
    on_track: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DistrictCell(Base):
    __tablename__ = "district_cell"
    __table_args__ = (
        Index("ix_district_cell_platform_account", "platform_id", "account_id"),
        Index("ix_district_cell_platform_user", "platform_id", "canvas_user_id"),
        Index("ix_district_cell_course", "course_pk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    course_pk: Mapped[int] = mapped_column(ForeignKey("canvas_course.id", ondelete="CASCADE"))
    # "" when the student is in no section Canvas reported.
    canvas_section_id: Mapped[str] = mapped_column(String(64))
    # The course's (sub-)account and term ("" when Canvas did not say).
    account_id: Mapped[str] = mapped_column(String(64))
    term_id: Mapped[str] = mapped_column(String(64))
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    level_index: Mapped[int | None] = mapped_column(Integer)
    mastered: Mapped[bool] = mapped_column(Boolean, default=False)
    on_track: Mapped[bool] = mapped_column(Boolean, default=False)
    leads: Mapped[int] = mapped_column(Integer, default=0)
