"""Demonstration pathways: the district library, target menus, demonstrations with their
audit trail, and teacher overrides.

Everything is keyed by platform (tenant) and the Canvas course/outcome/user ids as strings, like
the synced tables: a record survives a re-sync that rebuilds ``course_outcome`` rows. States and
kinds are the values of ``lti_app.mastery.pathways``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import (
    CourseRow,
    StudentTargetRow,
    TenantRow,
    course_student_index,
    course_unique,
    student_target_unique,
)


class PathwayLibraryKind(TenantRow, Base):
    """One kind of the district's pathway library (seeded from the seven defaults)."""

    __tablename__ = "pathway_library_kind"
    __table_args__ = (
        UniqueConstraint("platform_id", "kind", name="uq_pathway_library_kind_platform_kind"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    # The district's default instructions, copied into a menu item when a teacher adds it.
    instructions: Mapped[str] = mapped_column(Text)
    # The title and instructions in other languages: {"es": {"title": ..., "instructions": ...}}
    # (lti_app.mastery.district_text.localized_text falls back to the district's own text).
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer)


class PathwayMenuItem(CourseRow, Base):
    """One way to demonstrate one target of one course (at most one item per kind)."""

    __tablename__ = "pathway_menu_item"
    __table_args__ = (
        course_unique("uq_pathway_menu_item_target_kind", "canvas_outcome_id", "kind"),
    )

    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)
    # As on the library kind: the title and instructions in other languages.
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_limit: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Demonstration(StudentTargetRow, Base):
    """One attempt of one student to demonstrate one target through one menu item."""

    __tablename__ = "demonstration"
    __table_args__ = (
        course_student_index("ix_demonstration_course_student"),
        Index("ix_demonstration_course_state", "platform_id", "canvas_course_id", "state"),
        # At most one open demonstration per student and target, even for two requests at
        # once (a double click): ``open_slot`` is 1 while open and NULL once closed, and NULLs
        # never collide in a unique constraint (SQLite and PostgreSQL alike).
        student_target_unique("uq_demonstration_one_open_per_target", "open_slot"),
    )

    # The menu item may be edited or removed later: kind and title are kept as chosen.
    menu_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("pathway_menu_item.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(32))
    open_slot: Mapped[int | None] = mapped_column(Integer, default=1)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    # The attempt this one re-does after an approved reassessment.
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("demonstration.id", ondelete="SET NULL")
    )
    proposal_text: Mapped[str | None] = mapped_column(Text)
    evidence_text: Mapped[str | None] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    reflection_text: Mapped[str | None] = mapped_column(Text)
    reflection_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A level value of the district scale, and the scale version it was scored with (None:
    # the built-in default scale, which has no stored version).
    score: Mapped[float | None] = mapped_column(Float)
    scale_version_id: Mapped[int | None] = mapped_column(ForeignKey("proficiency_scale_version.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    scored_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[DemonstrationEvent]] = relationship(
        back_populates="demonstration",
        order_by="DemonstrationEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class DemonstrationEvent(Base):
    """The audit trail: every transition, who made it, when, and the note that went with it."""

    __tablename__ = "demonstration_event"
    __table_args__ = (Index("ix_demonstration_event_demonstration", "demonstration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demonstration_id: Mapped[int] = mapped_column(
        ForeignKey("demonstration.id", ondelete="CASCADE")
    )
    actor_canvas_user_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # Extra facts of the transition (e.g. the score given), for the audit view.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    demonstration: Mapped[Demonstration] = relationship(back_populates="events")


class MasteryOverride(StudentTargetRow, Base):
    """A teacher's override of a student's level on a target; the reason is shown to them.

    Never deleted: clearing sets ``cleared_at`` so the history stays auditable.
    """

    __tablename__ = "mastery_override"
    __table_args__ = (course_student_index("ix_mastery_override_course_student"),)

    level: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    teacher_canvas_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(64))
