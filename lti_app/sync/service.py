"""Course sync as a unit of background work with a durable ``sync_run`` record.

Design: read everything into memory first (progress per step and per page), then apply the
diff in ONE transaction that also marks the run succeeded, so the course data and "last synced"
flip together and a failed sync leaves the previous complete data untouched. A run left
"queued"/"running" by a dead process is failed as "interrupted" once its heartbeat is stale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import ColumnElement, ScalarSelect, Select, select, update
from sqlalchemy.orm import Session

from lti_app.canvas.client.errors import ReconnectRequired, TokenInvalid
from lti_app.db import session_scope
from lti_app.models.canvas import (
    SYNC_ACTIVE,
    SYNC_FAILED,
    SYNC_QUEUED,
    SYNC_RUNNING,
    SYNC_SUCCEEDED,
    CanvasApiToken,
    SyncRun,
    error_columns,
    step_columns,
)
from lti_app.sync import errors
from lti_app.sync.apply import ApplySummary, apply_snapshot
from lti_app.sync.fetch import CourseReader, fetch_course
from lti_app.tasks import hooks
from lti_app.translatable import _l

log = logging.getLogger("lti_app.sync")

# A run whose heartbeat is older than this was left by a dead process (a single Canvas call
# is bounded well below it by the client's deadline; progress beats at least once a page).
STALE_AFTER = timedelta(minutes=10)
# Progress rows are written at most this often (plus on every step change).
PROGRESS_MIN_INTERVAL = 0.5


class StatsClient(CourseReader, Protocol):
    @property
    def stats(self) -> Any: ...


def _now() -> datetime:
    return datetime.now(UTC)


def reap_stale(
    db: Session, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> int:
    """Fail runs whose process died mid-way; returns how many."""
    now = now or _now()
    result = db.execute(
        update(SyncRun)
        .where(SyncRun.status.in_(SYNC_ACTIVE), SyncRun.heartbeat_at < now - stale_after)
        .values(
            status=SYNC_FAILED,
            error_code=errors.INTERRUPTED,
            **error_columns(_l("The sync was interrupted (the tool restarted). Sync again.")),
            finished_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _newest_first(what: Any, platform_id: int, canvas_course_id: str) -> Select[Any]:
    """``what`` of the course's runs, the most recent first."""
    return (
        select(what)
        .where(SyncRun.platform_id == platform_id, SyncRun.canvas_course_id == canvas_course_id)
        .order_by(SyncRun.id.desc())
    )


def _newest_run(
    db: Session, platform_id: int, canvas_course_id: str, *status: ColumnElement[bool]
) -> SyncRun | None:
    """The course's most recent run (of those matching ``status``, when given)."""
    newest: SyncRun | None = db.scalar(
        _newest_first(SyncRun, platform_id, canvas_course_id).where(*status).limit(1)
    )
    return newest


def active_run(db: Session, platform_id: int, canvas_course_id: str) -> SyncRun | None:
    return _newest_run(db, platform_id, canvas_course_id, SyncRun.status.in_(SYNC_ACTIVE))


def keep_queued_alive(db: Session, run_ids: list[int]) -> None:
    """Touch the heartbeat of those runs still waiting in the queue: whoever queued them is
    alive and waiting too, and a run waiting behind long syncs must not look dead."""
    if run_ids:
        db.execute(
            update(SyncRun)
            .where(SyncRun.id.in_(run_ids), SyncRun.status == SYNC_QUEUED)
            .values(heartbeat_at=_now())
        )


def latest_status(platform_id: int, canvas_course_id: str) -> ScalarSelect[str]:
    """The status of the course's most recent run (NULL: none yet), as a subquery for a
    one-statement summary."""
    return _newest_first(SyncRun.status, platform_id, canvas_course_id).limit(1).scalar_subquery()


def latest_run(db: Session, platform_id: int, canvas_course_id: str) -> SyncRun | None:
    return _newest_run(db, platform_id, canvas_course_id)


def last_success(db: Session, platform_id: int, canvas_course_id: str) -> SyncRun | None:
    return _newest_run(db, platform_id, canvas_course_id, SyncRun.status == SYNC_SUCCEEDED)


def create_run(
    app: Flask, platform_id: int, canvas_course_id: str, requested_by: str
) -> tuple[int, bool]:
    """A queued run (committed at once, so a worker thread can see it), or the course's run
    already in progress. Returns (run id, created)."""
    with session_scope(app) as db:
        reap_stale(db)
        existing = active_run(db, platform_id, canvas_course_id)
        if existing is not None:
            return existing.id, False
        run = SyncRun(
            platform_id=platform_id,
            canvas_course_id=canvas_course_id,
            requested_by=requested_by,
            status=SYNC_QUEUED,
            progress=0,
            **step_columns(_l("Waiting to start")),
            request_count=0,
            heartbeat_at=_now(),
        )
        db.add(run)
        db.flush()
        return run.id, True


@dataclass
class Outcome:
    run_id: int
    ok: bool
    error_code: str | None = None
    error_message: str | None = None
    summary: ApplySummary | None = None
    requests: int = 0


class _Reporter:
    """Writes progress to the run row (throttled) and to an optional listener (the CLI)."""

    def __init__(
        self,
        app: Flask,
        run_id: int,
        requests: Callable[[], int],
        listener: Callable[[int, str], None] | None,
    ) -> None:
        self._app = app
        self._run_id = run_id
        self._requests = requests
        self._listener = listener
        self._last_write = 0.0
        self._last_step = ""

    def __call__(self, percent: int, step: str) -> None:
        if self._listener is not None:
            self._listener(percent, step)
        now = time.monotonic()
        base_step = step.split(" (")[0]
        if base_step == self._last_step and now - self._last_write < PROGRESS_MIN_INTERVAL:
            return
        self._last_write, self._last_step = now, base_step
        with session_scope(self._app) as db:
            db.execute(
                update(SyncRun)
                .where(SyncRun.id == self._run_id, SyncRun.status == SYNC_RUNNING)
                .values(
                    progress=max(0, min(99, percent)),
                    **step_columns(step),
                    request_count=self._requests(),
                    heartbeat_at=_now(),
                )
            )


def _request_count(client: object) -> int:
    stats = getattr(client, "stats", None)
    return int(getattr(stats, "requests", 0) or 0)


def execute(
    app: Flask,
    run_id: int,
    make_client: Callable[[], StatsClient],
    *,
    listener: Callable[[int, str], None] | None = None,
) -> Outcome:
    """Run one queued sync to the end; never raises for Canvas or tool errors (they are
    recorded on the run)."""
    with session_scope(app) as db:
        run = db.get(SyncRun, run_id)
        if run is None or run.status != SYNC_QUEUED:
            return Outcome(run_id, ok=False, error_code="not_queued")
        run.status = SYNC_RUNNING
        run.started_at = run.heartbeat_at = _now()
        run.set_step(_l("Connecting to Canvas"))
        platform_id, course_id, requested_by = (
            run.platform_id,
            run.canvas_course_id,
            run.requested_by,
        )

    client: StatsClient | None = None
    try:
        client = make_client()
        reporter = _Reporter(app, run_id, lambda: _request_count(client), listener)
        snapshot = fetch_course(client, course_id, reporter)
        reporter(95, _l("Saving"))
        with session_scope(app) as db:
            now = _now()
            summary = apply_snapshot(db, platform_id, snapshot, synced_at=now, sync_run_id=run_id)
            # In the same transaction: what is built on the course (the district aggregates)
            # changes together with it.
            hooks.course_synced(app, db, platform_id, summary.course_pk)
            run = db.get(SyncRun, run_id)
            assert run is not None
            run.status = SYNC_SUCCEEDED
            run.progress = 100
            run.set_step(_l("Done"))
            run.request_count = _request_count(client)
            run.summary = summary.as_json()
            run.finished_at = run.heartbeat_at = now
        if listener is not None:
            listener(100, "Done")
        log.info(
            "sync_succeeded run=%d course=%s requests=%d changed=%s",
            run_id,
            course_id,
            _request_count(client),
            summary.changed,
        )
        return Outcome(run_id, ok=True, summary=summary, requests=_request_count(client))
    except Exception as exc:
        failure = errors.classify(exc)
        if failure.code == errors.INTERNAL:
            log.exception("sync_failed run=%d course=%s", run_id, course_id)
        else:
            log.warning(
                "sync_failed run=%d course=%s code=%s error=%s",
                run_id,
                course_id,
                failure.code,
                type(exc).__name__,
            )
        with session_scope(app) as db:
            if isinstance(exc, ReconnectRequired | TokenInvalid) and requested_by != "cli":
                # The stored token is dead: forget it so the page offers "Connect" again.
                token = db.scalar(
                    select(CanvasApiToken).where(
                        CanvasApiToken.platform_id == platform_id,
                        CanvasApiToken.canvas_user_id == requested_by,
                    )
                )
                if token is not None:
                    db.delete(token)
            run = db.get(SyncRun, run_id)
            if run is not None:
                run.status = SYNC_FAILED
                run.error_code = failure.code
                run.set_error(failure.message)
                run.request_count = _request_count(client)
                run.finished_at = run.heartbeat_at = _now()
        return Outcome(
            run_id,
            ok=False,
            error_code=failure.code,
            error_message=failure.message,
            requests=_request_count(client),
        )
