"""The teacher's comment on one student's learning target for one report period.

Keyed by platform (tenant) and Canvas ids as strings, like the pathway and observation tables.
``period`` names the period the comment is about: ``gp:<Canvas grading period id>`` or
``range:<YYYY-MM-DD>:<YYYY-MM-DD>`` (lti_app.grading.report.Period.key); one comment per
student, target and period, edited in place.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import StudentTargetRow, student_target_unique


class ReportComment(StudentTargetRow, Base):
    __tablename__ = "report_comment"
    __table_args__ = (student_target_unique("uq_report_comment_student_target_period", "period"),)

    period: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    written_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
