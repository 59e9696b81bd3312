"""Quick evidence: a level a teacher observed outside any submission (a conference, a lab, a
presentation), recorded on the page, from a CSV upload or the ``evidence import`` CLI.

Keyed by platform (tenant) and Canvas ids as strings, like the pathway tables. Never edited:
an observation is a dated fact, written back to Canvas like a scored demonstration.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import StudentTargetRow, course_student_index

# How an observation arrived (shown nowhere to students; kept for the audit).
VIA_FORM = "form"
VIA_UPLOAD = "upload"
VIA_CLI = "cli"


class Observation(StudentTargetRow, Base):
    __tablename__ = "observation"
    __table_args__ = (course_student_index("ix_observation_course_student"),)

    # A level value of the district scale, and the scale version it was recorded with (None:
    # the built-in default scale).
    level: Mapped[float] = mapped_column(Float)
    scale_version_id: Mapped[int | None] = mapped_column(ForeignKey("proficiency_scale_version.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The day the teacher saw it (shown with the evidence); the evidence itself is dated when it
    # was recorded, as Canvas dates the result the tool writes (docs/canvas.md §3.14).
    observed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
