"""The teacher's Canvas page end to end against the sandbox over loopback: connect through the
real OAuth code exchange, sync in the background with progress, then a revoked token shows the
reconnect path (and the previous data stays)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import func, select

from lti_app.canvas import connection
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken, CourseOutcomeResult, SyncRun
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.tasks.runner import runner
from tests.conftest import LtiBrowser
from tests.lti_platform import CLAIM, TOOL_BASE
from tests.sync.sandbox_server import RunningSandbox, running_sandbox


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def sandbox(jwks: responses.RequestsMock) -> Iterator[RunningSandbox]:
    with running_sandbox() as sb:
        jwks.add_passthru(sb.url)  # real HTTP to the loopback sandbox
        yield sb


@pytest.fixture
def tenant(app: Flask, sandbox: RunningSandbox) -> None:
    """The launch platform's Canvas is the sandbox, with the sandbox's API developer key."""
    ids = sandbox.ids
    with app.app_context(), session_scope(app) as db:
        platform = db.scalars(select(Platform)).one()
        platform.canvas_url = sandbox.url
        connection.store_api_key(
            services().keyring, platform, ids.api_client_id, ids.api_client_secret
        )


def launch_as_teacher(browser: LtiBrowser, sb: RunningSandbox) -> LaunchSession:
    def mutate(claims: dict[str, Any]) -> None:
        claims[CLAIM + "custom"]["canvas_course_id"] = str(sb.ids.ela_course)
        claims[CLAIM + "custom"]["canvas_user_id"] = str(sb.ids.teacher)

    response = browser.launch(mutate=mutate)
    assert response.status_code == 200
    [handle] = set(re.findall(r"/s/([A-Za-z0-9_-]+)/", response.get_data(as_text=True)))
    with session_scope(browser.client.application) as db:
        row = db.get(LaunchSession, handle)
        assert row is not None
        db.expunge(row)
        return row


def post(browser: LtiBrowser, row: LaunchSession, path: str) -> tuple[int, str]:
    response = browser.client.post(
        f"/s/{row.id}{path}",
        data={"csrf_token": row.csrf_token},
        headers={"Origin": TOOL_BASE},
        base_url=TOOL_BASE,
    )
    return response.status_code, response.get_data(as_text=True)


def page(browser: LtiBrowser, row: LaunchSession) -> str:
    response = browser.client.get(f"/s/{row.id}/canvas", base_url=TOOL_BASE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def status(browser: LtiBrowser, row: LaunchSession) -> dict[str, Any]:
    response = browser.client.get(f"/s/{row.id}/canvas/status.json", base_url=TOOL_BASE)
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return data


def connect(browser: LtiBrowser, row: LaunchSession, sb: RunningSandbox) -> None:
    from canvas_sandbox.tokens import issue_code

    code, html = post(browser, row, "/canvas/connect")
    assert code == 200
    [state] = re.findall(r"/canvas/oauth/start\?state=([A-Za-z0-9_-]+)", html)
    start = browser.client.get(
        "/canvas/oauth/start", query_string={"state": state}, base_url=TOOL_BASE
    )
    assert start.headers["Location"].startswith(sb.url + "/login/oauth2/auth?")
    # The teacher approves on Canvas: Canvas redirects back with a code for them.
    code_value = issue_code(
        sb.state, sb.ids.api_client_id, sb.ids.teacher, TOOL_BASE + "/canvas/oauth/callback", []
    )
    done = browser.client.get(
        "/canvas/oauth/callback",
        query_string={"code": code_value, "state": state},
        base_url=TOOL_BASE,
    )
    assert done.status_code == 200, done.get_data(as_text=True)


def test_connect_sync_with_progress_then_a_revoked_token_asks_to_reconnect(
    app: Flask, browser: LtiBrowser, sandbox: RunningSandbox, tenant: None
) -> None:
    row = launch_as_teacher(browser, sandbox)
    html = page(browser, row)
    assert "Connect to Canvas" in html and "not been synced yet" in html
    assert status(browser, row)["connected"] is False

    connect(browser, row, sandbox)
    assert status(browser, row)["connected"] is True

    code, html = post(browser, row, "/canvas/sync")
    assert code == 200
    assert runner(app).wait_idle(timeout=60)
    st = status(browser, row)
    assert st["run"]["status"] == "succeeded", st
    assert st["run"]["progress"] == 100 and st["last_synced_at"]
    html = page(browser, row)
    assert "Last complete sync" in html and "Sync again" in html
    # The status says in words what was read: the demo course has New Quizzes results and
    # Canvas's own scores, which the tool reproduces.
    read = re.search(r'<ul id="sync-read".*?</ul>', html, re.S)
    assert read is not None
    assert re.search(r"[1-9][0-9,]* from New Quizzes", read.group(0))
    assert "the tool computes the same score for every one" in read.group(0)
    assert "Canvas scores on" in read.group(0)
    with session_scope(app) as db:
        results = db.scalar(select(func.count()).select_from(CourseOutcomeResult))
    assert results and results > 0

    # The teacher removes the tool's access in Canvas (token and refresh token revoked).
    from canvas_sandbox.tokens import token_hash

    with app.app_context(), session_scope(app) as db:
        from lti_app.canvas.connection import load_token

        stored = load_token(services().keyring, db.scalars(select(CanvasApiToken)).one())
    with sandbox.state.lock:
        record = sandbox.state.access_tokens[token_hash(stored.access_token)]
        record.revoked = True
        sandbox.state.refresh_tokens.pop(record.refresh_hash, None)

    code, _ = post(browser, row, "/canvas/sync")
    assert code == 200
    assert runner(app).wait_idle(timeout=60)
    st = status(browser, row)
    assert st["run"]["status"] == "failed" and st["run"]["error_code"] == "reconnect"
    assert st["connected"] is False  # the dead token is gone
    html = page(browser, row)
    assert "Reconnect to Canvas" in html and "Connect to Canvas" in html
    with session_scope(app) as db:
        # The previous complete data is still there.
        assert db.scalar(select(func.count()).select_from(CourseOutcomeResult)) == results
        assert db.scalar(select(func.count()).select_from(SyncRun)) == 2


def test_a_second_click_while_syncing_does_not_start_another(
    app: Flask, browser: LtiBrowser, sandbox: RunningSandbox, tenant: None
) -> None:
    row = launch_as_teacher(browser, sandbox)
    connect(browser, row, sandbox)
    sandbox.knobs(latency_ms=50)
    post(browser, row, "/canvas/sync")
    code, html = post(browser, row, "/canvas/sync")
    assert code == 200
    assert 'id="sync-progress"' in html or "Last complete sync" in html
    assert runner(app).wait_idle(timeout=60)
    with session_scope(app) as db:
        runs = db.scalars(select(SyncRun)).all()
    assert [r.status for r in runs] == ["succeeded"]
