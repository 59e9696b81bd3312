"""A teacher's Canvas token, its refresh token and the API key secret only ever go back to the
Canvas that issued (or received) them, even after the platform's canvas_url changes.

The takeover this guards against: someone points a district's platform row at their own host
(an unauthenticated registration did, before it was closed); then *Sync now* or a refresh would
have carried the teacher's tokens and the district's API key secret to that host.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import responses
from flask import Flask
from sqlalchemy import select, update

from lti_app.canvas import connection
from lti_app.canvas.client.errors import ReconnectRequired
from lti_app.canvas.client.tokens import OAuth2TokenSource
from lti_app.canvas.connection import MissingApiKey
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken, SyncRun
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.tasks.runner import runner
from tests.conftest import LtiBrowser, set_api_key
from tests.http_calls import url_of
from tests.lti_platform import FakePlatform
from tests.sync.test_oauth_connect import (
    ACCESS,
    API_CLIENT_ID,
    API_SECRET,
    REFRESH,
    api_key,
    callback,
    canvas_redirect,
    mock_canvas,
    post,
    start_url,
    teacher,
)

__all__ = ["api_key"]  # a fixture, used by name

ELSEWHERE = "https://canvas-lookalike.example"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def connect(browser: LtiBrowser, jwks: responses.RequestsMock, platform: FakePlatform) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    assert callback(browser, state)[0] == 200


def move_platform(app: Flask, *, expire_token: bool = True) -> None:
    """What the takeover did: the platform row now names another Canvas."""
    with session_scope(app) as db:
        db.execute(update(Platform).values(canvas_url=ELSEWHERE))
        if expire_token:  # so that any use would first try a refresh
            db.execute(
                update(CanvasApiToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=5))
            )


def record_elsewhere(mock: responses.RequestsMock) -> None:
    for method in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
        mock.add(method, re.compile(re.escape(ELSEWHERE) + r"/.*"), json={})


def calls_carrying_secrets(mock: responses.RequestsMock) -> list[str]:
    """Every request to the other host that carries a token, the refresh token or the secret."""
    leaked = []
    for call in mock.calls:
        if not url_of(call.request).startswith(ELSEWHERE):
            continue
        sent = f"{call.request.headers}{call.request.body!r}{call.request.url}"
        if any(s in sent for s in (ACCESS, REFRESH, API_SECRET)):
            leaked.append(url_of(call.request))
    return leaked


def test_sync_after_the_canvas_url_changed_sends_nothing_and_asks_to_reconnect(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    connect(browser, jwks, platform)
    move_platform(app)
    record_elsewhere(jwks)
    row = teacher(browser)

    html = post(browser, row, "/canvas/sync")
    assert post.status in (200, 202), html  # type: ignore[attr-defined]
    assert runner(app).wait_idle(timeout=60)
    assert [c.request.url for c in jwks.calls if url_of(c.request).startswith(ELSEWHERE)] == []
    with session_scope(app) as db:
        run = db.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
        assert run is not None and run.status == "failed"
        # The API key was stored for the old Canvas: the admin must store it again.
        assert run.error_code == "not_configured"

    # Even once an admin stores the API key again for the new address, the teacher's token
    # (issued by the old Canvas) is not sent there: the teacher reconnects instead.
    set_api_key(app, platform, API_CLIENT_ID, API_SECRET)
    html = post(browser, row, "/canvas/sync")
    assert runner(app).wait_idle(timeout=60)
    assert calls_carrying_secrets(jwks) == []
    assert [c.request.url for c in jwks.calls if url_of(c.request).startswith(ELSEWHERE)] == []
    with session_scope(app) as db:
        run = db.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
        assert run is not None and (run.status, run.error_code) == ("failed", "reconnect")
    page = browser.client.get(f"/s/{row.id}/canvas", base_url="https://tool.test")
    assert "Reconnect to Canvas" in page.get_data(as_text=True)
    assert "Connect to Canvas" in page.get_data(as_text=True)


def test_refresh_and_client_refuse_a_token_from_another_canvas(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    connect(browser, jwks, platform)
    move_platform(app)
    record_elsewhere(jwks)
    with app.app_context(), session_scope(app) as db:
        moved = db.scalars(select(Platform)).one()
        with pytest.raises(MissingApiKey):
            connection.platform_api_key(services(), moved)
        row = db.scalars(select(CanvasApiToken)).one()
        stored = connection.load_token(services().keyring, row)
    assert stored.canvas_origin == platform.canvas_url

    store = connection.DbTokenStore(app, app.extensions["mp_services"].keyring, moved.id, "812")
    # A token source for the new address (as if its API key had been stored again).
    source = OAuth2TokenSource(
        canvas_url=ELSEWHERE, client_id=API_CLIENT_ID, client_secret=API_SECRET, store=store
    )
    with pytest.raises(ReconnectRequired):
        source.access_token()
    with pytest.raises(ReconnectRequired):
        source.refresh(ACCESS)
    # A client for the new address refuses a source bound to the old one before any request.
    old_source = OAuth2TokenSource(
        canvas_url=platform.canvas_url,
        client_id=API_CLIENT_ID,
        client_secret=API_SECRET,
        store=store,
    )
    with app.app_context():
        client = connection.make_client(services(), ELSEWHERE, old_source)
    with pytest.raises(ReconnectRequired):
        client.users_self()
    assert [c.request.url for c in jwks.calls if url_of(c.request).startswith(ELSEWHERE)] == []


def test_connect_after_the_canvas_url_changed_never_sends_the_api_secret_there(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    move_platform(app, expire_token=False)
    record_elsewhere(jwks)
    row = teacher(browser)
    html = post(browser, row, "/canvas/connect")
    state = re.findall(r"state=([A-Za-z0-9_-]+)", html)[0]
    status, _ = callback(browser, state, code="code-from-elsewhere")
    assert status == 502
    assert calls_carrying_secrets(jwks) == []
    assert [c.request.url for c in jwks.calls if url_of(c.request).startswith(ELSEWHERE)] == []


def test_disconnect_revokes_at_the_canvas_that_issued_the_token(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    connect(browser, jwks, platform)
    move_platform(app)
    record_elsewhere(jwks)
    row = teacher(browser)
    html = post(browser, row, "/canvas/disconnect")
    assert post.status == 200, html  # type: ignore[attr-defined]
    [revoke] = [c for c in jwks.calls if c.request.method == "DELETE"]
    assert revoke.request.url == platform.canvas_url + "/login/oauth2/token"
    assert [c.request.url for c in jwks.calls if url_of(c.request).startswith(ELSEWHERE)] == []
