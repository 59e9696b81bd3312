"""District proficiency scales (versioned), and the calculation policy with its mapping.

Scale versions are append-only once evidence refers to them: evidence recorded with version k
keeps the meaning version k gave it. Only the latest version of a scale is ever edited in
place, and only when the edit changes no meaning (see ``lti_app.policies.store``).

A policy row with ``canvas_course_id`` NULL is the district default of its platform; a row
with a course id overrides it for that Canvas course. A partial unique index guarantees at most
one district default per platform on SQLite and PostgreSQL alike (a plain unique constraint
treats NULLs as distinct).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import TenantRow, course_unique


class ProficiencyScale(TenantRow, Base):
    """A named district scale of one platform (tenant); its content lives in its versions."""

    __tablename__ = "proficiency_scale"
    __table_args__ = (
        UniqueConstraint("platform_id", "name", name="uq_proficiency_scale_platform_name"),
    )

    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[ProficiencyScaleVersion]] = relationship(
        back_populates="scale",
        order_by="ProficiencyScaleVersion.version",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ProficiencyScaleVersion(Base):
    """One version of a scale: ``definition`` is ``scale_to_dict`` of the domain ``Scale``."""

    __tablename__ = "proficiency_scale_version"
    __table_args__ = (
        UniqueConstraint("scale_id", "version", name="uq_proficiency_scale_version_scale_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("proficiency_scale.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scale: Mapped[ProficiencyScale] = relationship(back_populates="versions")


class MasteryPolicy(TenantRow, Base):
    """Calculation policy and Canvas-score mapping: district default or a course override."""

    __tablename__ = "mastery_policy"
    __table_args__ = (
        course_unique("uq_mastery_policy_platform_course"),
        # NULLs are distinct in unique constraints: this index makes the district default
        # (canvas_course_id IS NULL) unique per platform on both SQLite and PostgreSQL.
        Index(
            "uq_mastery_policy_platform_district",
            "platform_id",
            unique=True,
            sqlite_where=text("canvas_course_id IS NULL"),
            postgresql_where=text("canvas_course_id IS NULL"),
        ),
    )

    # NULL = the district default; otherwise the Canvas course id (a string).
    canvas_course_id: Mapped[str | None] = mapped_column(String(64))
    # NO ACTION (checked at the end of the statement, so a platform's cascading delete works):
    # a scale version a policy uses cannot disappear under it.
    scale_version_id: Mapped[int] = mapped_column(ForeignKey("proficiency_scale_version.id"))
    method: Mapped[str] = mapped_column(String(32))
    parameter: Mapped[int | None] = mapped_column(Integer)
    minimum_evidence: Mapped[int] = mapped_column(Integer)
    override_rule: Mapped[str] = mapped_column(String(64))
    # "canvas": aggregate on the Canvas scale as Canvas does, then map; "district_level": map
    # each piece of evidence to a level first (lti_app.mastery.calculation.Basis).
    basis: Mapped[str] = mapped_column(String(32), default="canvas", server_default="canvas")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    scale_version: Mapped[ProficiencyScaleVersion] = relationship()
