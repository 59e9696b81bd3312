"""The write-back outbox: one row per result the tool owes Canvas, and the per-course lease.

A row is committed in the same transaction as the scoring it comes from (so a crash loses
nothing), then delivered by a worker (``lti_app.writeback.delivery``). The database, not the
broker, is the durable record of pending work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import StudentTargetRow, student_target_unique

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

# What an item carries: one scored demonstration on its round's carrier (the only kind so far;
# the column leaves room for the optional teacher-verified current level).
KIND_DEMONSTRATION = "demonstration"


class WritebackItem(StudentTargetRow, Base):
    __tablename__ = "writeback_item"
    __table_args__ = (
        UniqueConstraint("platform_id", "idempotency_key", name="uq_writeback_item_key"),
        # One result per student, target and carrier round: the round is Canvas's result slot.
        student_target_unique("uq_writeback_item_slot", "kind", "round"),
        Index("ix_writeback_item_due", "status", "next_attempt_at"),
        Index("ix_writeback_item_course", "platform_id", "canvas_course_id", "status"),
    )

    kind: Mapped[str] = mapped_column(String(32), default=KIND_DEMONSTRATION)
    round: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    demonstration_id: Mapped[int | None] = mapped_column(
        ForeignKey("demonstration.id", ondelete="SET NULL")
    )
    # The district level and the Canvas points that read back as it (the mapping's round trip).
    level: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(200))
    points: Mapped[float] = mapped_column(Float)
    # The rubric row comment Canvas shows with the result (the pathway, not the teacher's note).
    comment: Mapped[str | None] = mapped_column(Text)
    # Whose Canvas connection writes it: the teacher who scored.
    teacher_canvas_user_id: Mapped[str] = mapped_column(String(64))
    carrier_id: Mapped[int | None] = mapped_column(
        ForeignKey("carrier_assignment.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Why the last attempt did not deliver, in words for the teacher (no Canvas bodies).
    last_error: Mapped[str | None] = mapped_column(Text)
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WritebackLease(Base):
    """At most one worker delivers a course at a time (an assessment replaces all its rows, so
    two writers on one carrier must not interleave). Expires so a dead worker's course is
    picked up again by the sweeper."""

    __tablename__ = "writeback_lease"

    platform_id: Mapped[int] = mapped_column(
        ForeignKey("platform.id", ondelete="CASCADE"), primary_key=True
    )
    canvas_course_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
