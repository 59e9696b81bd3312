"""Pending OIDC logins and the sessions created by validated launches (server-side only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.tenancy import Deployment


class OidcLogin(Base):
    """One login initiation: its state, nonce and the values the launch must match."""

    __tablename__ = "oidc_login"
    __table_args__ = (Index("ix_oidc_login_expires_at", "expires_at"),)

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set once, atomically, by the launch that consumes this login (nonce single use).
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LaunchSession(Base):
    """A session bound to one launch: two tabs with two courses never share one."""

    __tablename__ = "launch_session"
    __table_args__ = (Index("ix_launch_session_expires_at", "expires_at"),)

    # Public handle (in page URLs); the secret proving possession is only hashed here.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    deployment_pk: Mapped[int] = mapped_column(ForeignKey("deployment.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str | None] = mapped_column(String(255))
    canvas_user_id: Mapped[str | None] = mapped_column(String(64))
    context_id: Mapped[str | None] = mapped_column(String(255))
    context_title: Mapped[str | None] = mapped_column(String(255))
    canvas_course_id: Mapped[str | None] = mapped_column(String(64))
    course_role: Mapped[str] = mapped_column(String(16))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    roles: Mapped[list[str]] = mapped_column(JSON)
    placement: Mapped[str | None] = mapped_column(String(64))
    # The user's time zone from Canvas ($Person.address.timezone), a valid IANA name or None.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The page language: from the launch (launch_presentation.locale), then the reader's switch.
    locale: Mapped[str | None] = mapped_column(String(16))
    # An observer's launch: the LTI user ids in Canvas's role_scope_mentor claim (the students
    # observed in this course); None when the claim was absent (docs/canvas.md §7.10).
    mentor_scope: Mapped[list[str] | None] = mapped_column(JSON)
    # An administrator's reach on the district pages: the Canvas (sub-)account a school
    # admin's launch was in (they see it and the schools under it); None for a root account
    # admin (the whole district) and for everyone else (``admin_scope``).
    admin_account_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    deployment: Mapped[Deployment] = relationship()


class LtiUser(Base):
    """A Canvas user's LTI 1.3 id (the ``sub`` of their launches) and Canvas user id, as their
    latest launch said: how an observer's ``role_scope_mentor`` (LTI ids) names students that
    the sync knows by Canvas id. Canvas's REST API does not report the LTI 1.3 id."""

    __tablename__ = "lti_user"
    __table_args__ = (
        UniqueConstraint("platform_id", "lti_user_id", name="uq_lti_user_platform_sub"),
        Index("ix_lti_user_platform_canvas_user", "platform_id", "canvas_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    lti_user_id: Mapped[str] = mapped_column(String(255))
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
