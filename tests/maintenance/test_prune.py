"""Pruning on SQLite and PostgreSQL: what goes, what a page still needs stays, the CLI
prints counts, and the periodic job runs on the task seam (timer thread or Celery beat)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_app.db import session_scope
from lti_app.maintenance.prune import BATCH, prune
from lti_app.maintenance.schedule import TASK_PRUNE
from lti_app.models.canvas import (
    SYNC_FAILED,
    SYNC_RUNNING,
    SYNC_SUCCEEDED,
    CanvasOAuthState,
    SyncRun,
)
from lti_app.models.launch import LaunchSession, OidcLogin
from lti_app.models.tenancy import Deployment, Platform
from lti_app.sync import service as sync_service
from lti_app.tasks import timer
from tests.conftest import close_app, make_app
from tests.lti_platform import FakePlatform


@pytest.fixture
def app(backend_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(backend_url, tmp_path, sync_run_keep_days=30)
    result = app.test_cli_runner().invoke(args=FakePlatform().cli_args())
    assert result.exit_code == 0, result.output
    yield app
    timer.stop(app)
    close_app(app)


def _login(state: str, expires_at: datetime, consumed: bool = False) -> OidcLogin:
    return OidcLogin(
        state=state,
        params={"nonce": state},
        created_at=expires_at - timedelta(minutes=5),
        expires_at=expires_at,
        consumed_at=expires_at - timedelta(minutes=4) if consumed else None,
    )


def _session(deployment: Deployment, sid: str, expires_at: datetime) -> LaunchSession:
    return LaunchSession(
        id=sid,
        secret_hash="h" * 64,
        csrf_token="c" * 64,
        deployment_pk=deployment.id,
        user_sub="u1",
        canvas_user_id="7",
        canvas_course_id="101",
        course_role="teacher",
        roles=[],
        expires_at=expires_at,
    )


def _state(platform_id: int, session_id: str, state_hash: str, expires_at: datetime) -> object:
    return CanvasOAuthState(
        state_hash=state_hash,
        launch_session_id=session_id,
        platform_id=platform_id,
        canvas_user_id="7",
        expires_at=expires_at,
    )


def _run(platform_id: int, course: str, status: str, finished_at: datetime | None) -> SyncRun:
    return SyncRun(
        platform_id=platform_id,
        canvas_course_id=course,
        requested_by="7",
        status=status,
        created_at=finished_at or datetime.now(UTC),
        finished_at=finished_at,
    )


def _seed(app: Flask) -> dict[str, int]:
    """Rows of every kind, some due for pruning; returns the ids the test checks by."""
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=40)
    with session_scope(app) as db:
        platform_id = db.scalars(select(Platform.id)).one()
        deployment = db.scalars(select(Deployment)).one()
        db.add_all(
            [
                _login("expired-used", now - timedelta(seconds=1), consumed=True),
                _login("expired-unused", now - timedelta(hours=2)),
                _login("pending", now + timedelta(minutes=4)),
                _login("just-used", now + timedelta(minutes=4), consumed=True),
                _session(deployment, "old", now - timedelta(seconds=1)),
                _session(deployment, "live", now + timedelta(hours=7)),
            ]
        )
        db.flush()
        db.add_all(
            [
                # Goes with its expired session (cascade), and on its own expiry.
                _state(platform_id, "old", "a" * 64, now + timedelta(minutes=5)),
                _state(platform_id, "live", "b" * 64, now - timedelta(seconds=1)),
                _state(platform_id, "live", "c" * 64, now + timedelta(minutes=5)),
            ]
        )
        runs = {
            # Course 101: an old success, then older failures, a recent run, the latest.
            "old_success": _run(platform_id, "101", SYNC_SUCCEEDED, long_ago),
            "old_success_2": _run(platform_id, "101", SYNC_SUCCEEDED, long_ago),
            "old_failed": _run(platform_id, "101", SYNC_FAILED, long_ago),
            "recent_failed": _run(platform_id, "101", SYNC_FAILED, now - timedelta(days=2)),
            "latest_failed": _run(platform_id, "101", SYNC_FAILED, long_ago),
            # Course 202: its only run is old and stays (the page shows it).
            "only": _run(platform_id, "202", SYNC_SUCCEEDED, long_ago),
            # Course 303: a run still going (a stale one is failed by recovery, not pruned).
            "failed_before": _run(platform_id, "303", SYNC_FAILED, long_ago),
            "running": _run(platform_id, "303", SYNC_RUNNING, None),
        }
        for run in runs.values():
            db.add(run)
            db.flush()  # ids in this order: "latest" means the highest id
        return {name: run.id for name, run in runs.items()} | {"platform_id": platform_id}


def _remaining(app: Flask) -> dict[str, set[str]]:
    with session_scope(app) as db:
        return {
            "logins": set(db.scalars(select(OidcLogin.state))),
            "sessions": set(db.scalars(select(LaunchSession.id))),
            "states": {h[0] for h in db.scalars(select(CanvasOAuthState.state_hash))},
            "runs": {str(i) for i in db.scalars(select(SyncRun.id))},
        }


def test_prune_removes_expired_and_keeps_what_pages_show(app: Flask) -> None:
    ids = _seed(app)

    result = app.test_cli_runner().invoke(args=["maintenance", "prune"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "oidc_login: 2 removed",
        "canvas_oauth_state: 1 removed",  # the cascade's row is not counted here
        "launch_session: 1 removed",
        "sync_run: 3 removed",
        "total: 7 removed",
    ]
    left = _remaining(app)
    assert left["logins"] == {"pending", "just-used"}
    assert left["sessions"] == {"live"}
    assert left["states"] == {"c"}
    kept = {"old_success_2", "recent_failed", "latest_failed", "only", "running"}
    assert left["runs"] == {str(ids[name]) for name in kept}
    with session_scope(app) as db:
        # What the sync page reads is unchanged for every course.
        latest = sync_service.latest_run(db, ids["platform_id"], "101")
        success = sync_service.last_success(db, ids["platform_id"], "101")
        assert latest is not None and latest.id == ids["latest_failed"]
        assert success is not None and success.id == ids["old_success_2"]

    again = app.test_cli_runner().invoke(args=["maintenance", "prune"])
    assert again.output.splitlines()[-1] == "total: 0 removed"


def test_prune_works_through_a_backlog_in_batches(app: Flask) -> None:
    now = datetime.now(UTC)
    count = BATCH * 2 + 17
    with session_scope(app) as db:
        db.add_all(_login(f"s{i}", now - timedelta(minutes=1)) for i in range(count))
        db.add(_login("fresh", now + timedelta(minutes=1)))

    assert prune(app).oidc_login == count
    with session_scope(app) as db:
        assert db.scalar(select(func.count()).select_from(OidcLogin)) == 1


def test_periodic_prune_runs_on_the_timer_without_celery(backend_url: str, tmp_path: Path) -> None:
    app = make_app(backend_url, tmp_path, prune_seconds=0.2)
    now = datetime.now(UTC)
    try:
        with session_scope(app) as db:
            db.add(_login("expired", now - timedelta(seconds=1)))
        timer.run_periodically(app, TASK_PRUNE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _remaining(app)["logins"]:
            time.sleep(0.1)
        assert _remaining(app)["logins"] == set()
    finally:
        timer.stop(app)
        close_app(app)


def test_periodic_prune_is_on_celery_beat(sqlite_url: str, tmp_path: Path) -> None:
    from lti_app.tasks.celery_app import make_celery

    app = make_app(sqlite_url, tmp_path, celery_broker_url="memory://", prune_seconds=120)
    try:
        timer.run_periodically(app, TASK_PRUNE)  # beat's job under Celery: no thread here
        assert timer.EXTENSION not in app.extensions
        schedule = make_celery(app).conf.beat_schedule[TASK_PRUNE]
        assert schedule == {"task": TASK_PRUNE, "schedule": 120.0, "options": {"expires": 120.0}}
    finally:
        close_app(app)
