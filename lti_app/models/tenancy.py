"""Platforms (a Canvas LTI developer key on a Canvas instance) and their deployments.

A tenant is (issuer, client_id, deployment_id): every Instructure-hosted Canvas shares one
issuer, so the issuer alone never identifies an institution.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import TenantRow


class Platform(Base):
    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_platform_issuer_client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    jwks_url: Mapped[str] = mapped_column(String(1024))
    # The institution's Canvas (API base and the origin that frames the tool).
    canvas_url: Mapped[str] = mapped_column(String(1024))
    # Canvas API developer key (a separate key from the LTI one) for the REST API.
    api_client_id: Mapped[str | None] = mapped_column(String(255))
    api_client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # The Canvas origin the API key was stored for: its secret only ever goes to that
    # origin's token endpoint (an admin stores the key again after a move).
    api_key_origin: Mapped[str | None] = mapped_column(String(255))
    # Dynamic Registration installs learn deployment ids only at the first launch.
    auto_register_deployments: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_via: Mapped[str] = mapped_column(String(32), default="cli")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", order_by="Deployment.id", cascade="all, delete-orphan"
    )

    def secret_aad(self) -> str:
        return f"platform:{self.issuer}:{self.client_id}:api_client_secret"


class Deployment(TenantRow, Base):
    __tablename__ = "deployment"
    __table_args__ = (
        UniqueConstraint("platform_id", "deployment_id", name="uq_deployment_platform_deployment"),
    )

    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_launch_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Learned from a launch or a registration answer, not added by an admin.
    auto_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    # Removed by an admin (`platform remove-deployment`): its launches are refused, and a
    # platform that auto-registers does not add it back.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    platform: Mapped[Platform] = relationship(back_populates="deployments")
