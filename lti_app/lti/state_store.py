"""Pending OIDC logins in the database, and the cookies that bind them to one browser.

The nonce travels inside the state's record, so "issued by us for this state" and "used
once" are one row: the launch consumes it with a single conditional UPDATE, which two
concurrent POSTs of one token cannot both win.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pylti1p3.contrib.flask import FlaskCookieService, FlaskRequest
from pylti1p3.session import SessionService
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from lti_app.db import commit_without_waiting_for_disk
from lti_app.models.launch import OidcLogin

STATE_COOKIE_PREFIX = "__Host-lti1p3"


class PartitionedCookieService(FlaskCookieService):  # type: ignore[misc]
    """pylti1p3's cookies, always Secure; SameSite=None; Partitioned; __Host- prefixed.

    Inside the Canvas iframe every launch is cross-site, so a cookie without these flags is
    never sent back; pylti1p3 drops them unless the request looks secure, and never
    partitions (CHIPS).
    """

    _cookie_prefix = STATE_COOKIE_PREFIX

    def update_response(self, response: Response) -> None:
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(
                key,
                value=data["value"],
                max_age=data["exp"],
                secure=True,
                httponly=True,
                path="/",
                samesite="None",
                partitioned=True,
            )


class DbSessionService(SessionService):  # type: ignore[misc]
    """pylti1p3's session service, keeping login state in the oidc_login table."""

    def __init__(self, request: FlaskRequest, db: Session, ttl_seconds: int) -> None:
        super().__init__(request)
        self._db = db
        self._ttl = ttl_seconds

    def save_nonce(self, nonce: str) -> None:
        """The nonce is stored with its state (see HardenedOIDCLogin), not on its own."""

    def check_nonce(self, nonce: str) -> bool:
        raise NotImplementedError("nonces are checked against their state's login record")

    def save_state_params(self, state: str, params: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        commit_without_waiting_for_disk(self._db)
        # A plain INSERT: every login writes one row, and the ORM unit of work adds nothing.
        self._db.execute(
            insert(OidcLogin).values(
                state=state,
                params=params,
                created_at=now,
                expires_at=now + timedelta(seconds=self._ttl),
            )
        )
        # Expired rows are deleted by the periodic prune (lti_app/maintenance/prune.py).

    def get_state_params(self, state: str) -> dict[str, Any]:
        login = self.get_login(state)
        return dict(login.params) if login else {}

    def get_login(self, state: str) -> OidcLogin | None:
        return self._db.scalar(select(OidcLogin).where(OidcLogin.state == state))

    def consume(self, state: str) -> bool:
        """Mark the login used; True for exactly one caller, and only before it expires."""
        now = datetime.now(UTC)
        result = self._db.execute(
            update(OidcLogin)
            .where(
                OidcLogin.state == state,
                OidcLogin.consumed_at.is_(None),
                OidcLogin.expires_at > now,
            )
            .values(consumed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)
