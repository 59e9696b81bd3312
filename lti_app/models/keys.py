"""The tool's own RSA key pairs (signing service assertions; published at the JWKS URL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow

SLOT_CURRENT = "current"
SLOT_PREVIOUS = "previous"


class ToolKey(Base):
    __tablename__ = "tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    private_pem_encrypted: Mapped[str] = mapped_column(Text)
    # "current" signs; "previous" is still published during rotation; NULL is retired.
    # Unique, so two processes can never both install a current key.
    slot: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def private_aad(self) -> str:
        return f"tool_key:{self.kid}"
