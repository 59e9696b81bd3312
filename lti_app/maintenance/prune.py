"""Delete rows nothing will read again, in small batches on their expiry indexes.

- ``oidc_login``: a login past its expiry can no longer be consumed (the launch's UPDATE
  requires ``expires_at > now``), so its row only proves that a replay is a replay, and an
  expired state is refused anyway.
- ``launch_session`` and ``canvas_oauth_state``: refused once expired (their Connect states
  go with their session by cascade).
- ``sync_run``: finished runs older than ``sync_run_keep_days``, except each course's latest
  run and latest successful run, which the sync page shows.

Each batch is its own short transaction, so a large backlog never holds SQLite's write lock
(or PostgreSQL row locks) for long, and launches keep going while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute

from lti_app.db import session_scope
from lti_app.models.canvas import SYNC_ACTIVE, SYNC_SUCCEEDED, CanvasOAuthState, SyncRun
from lti_app.models.launch import LaunchSession, OidcLogin
from lti_app.services import Services

BATCH = 1000
# A bound on one prune's work (batches per table); the next run continues.
MAX_BATCHES = 200


@dataclass(frozen=True)
class Pruned:
    oidc_login: int = 0
    canvas_oauth_state: int = 0
    launch_session: int = 0
    sync_run: int = 0

    def items(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def total(self) -> int:
        return sum(count for _, count in self.items())


def _batched(app: Flask, key: InstrumentedAttribute[Any], doomed: Select[Any]) -> int:
    """Delete the rows whose ``key`` the query selects, BATCH at a time; returns how many."""
    removed = 0
    for _ in range(MAX_BATCHES):
        with session_scope(app) as db:
            keys = list(db.scalars(doomed.limit(BATCH)))
            if keys:
                db.execute(
                    delete(key.class_)
                    .where(key.in_(keys))
                    .execution_options(synchronize_session=False)
                )
        removed += len(keys)
        if len(keys) < BATCH:
            break
    return removed


def _kept_runs() -> ColumnElement[bool]:
    """A course's latest run and its latest successful run (what the sync page shows)."""
    course = (SyncRun.platform_id, SyncRun.canvas_course_id)
    latest = select(func.max(SyncRun.id)).group_by(*course)
    latest_ok = (
        select(func.max(SyncRun.id)).where(SyncRun.status == SYNC_SUCCEEDED).group_by(*course)
    )
    return SyncRun.id.in_(latest.union(latest_ok))


def prune(app: Flask, now: datetime | None = None) -> Pruned:
    services: Services = app.extensions["mp_services"]
    settings = services.settings
    at = now or datetime.now(UTC)
    run_cutoff = at - timedelta(days=settings.sync_run_keep_days)
    return Pruned(
        oidc_login=_batched(
            app, OidcLogin.state, select(OidcLogin.state).where(OidcLogin.expires_at < at)
        ),
        canvas_oauth_state=_batched(
            app,
            CanvasOAuthState.state_hash,
            select(CanvasOAuthState.state_hash).where(CanvasOAuthState.expires_at < at),
        ),
        launch_session=_batched(
            app, LaunchSession.id, select(LaunchSession.id).where(LaunchSession.expires_at < at)
        ),
        sync_run=_batched(
            app,
            SyncRun.id,
            select(SyncRun.id).where(
                SyncRun.finished_at < run_cutoff,
                SyncRun.status.not_in(SYNC_ACTIVE),
                ~_kept_runs(),
            ),
        ),
    )
