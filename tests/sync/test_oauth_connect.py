"""Connect to Canvas (OAuth2 authorization code) from a teacher's launch: state single use and
bound to the launch, wrong Canvas account refused, tokens encrypted at rest, disconnect revokes.

Canvas's OAuth endpoints are mocked with `responses` (no network), in Canvas's shapes
(docs/canvas.md §4.2, §4.8).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask
from sqlalchemy import select, text, update

from lti_app.canvas import connection
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken, CanvasOAuthState
from lti_app.models.launch import LaunchSession
from lti_app.services import services
from tests.conftest import LtiBrowser, set_api_key
from tests.http_calls import url_of
from tests.lti_platform import LEARNER, TOOL_BASE, FakePlatform

ACCESS = "1~AccessTokenSecretValue0123456789"
REFRESH = "1~RefreshTokenSecretValue9876543210"
API_CLIENT_ID = "170000000000099"
API_SECRET = "api-secret-value-for-tests"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def api_key(app: Flask, platform: FakePlatform) -> None:
    set_api_key(app, platform, API_CLIENT_ID, API_SECRET)


def teacher(browser: LtiBrowser, roles: list[str] | None = None) -> LaunchSession:
    response = browser.launch(roles=roles)
    assert response.status_code == 200, response.get_data(as_text=True)
    [handle] = set(re.findall(r"/s/([A-Za-z0-9_-]+)/", response.get_data(as_text=True)))
    app = browser.client.application
    with session_scope(app) as db:
        row = db.get(LaunchSession, handle)
        assert row is not None
        db.expunge(row)
        return row


def post(browser: LtiBrowser, row: LaunchSession, path: str) -> str:
    response = browser.client.post(
        f"/s/{row.id}{path}",
        data={"csrf_token": row.csrf_token},
        headers={"Origin": TOOL_BASE},
        base_url=TOOL_BASE,
    )
    html = response.get_data(as_text=True)
    post.status = response.status_code  # type: ignore[attr-defined]
    return html


def start_url(browser: LtiBrowser, row: LaunchSession) -> str:
    html = post(browser, row, "/canvas/connect")
    assert post.status == 200, html  # type: ignore[attr-defined]
    url: str
    [url] = re.findall(r'href="(https://tool\.test/canvas/oauth/start\?state=[^"]+)"', html)
    assert 'target="_blank"' in html
    return url.replace("&amp;", "&")


def canvas_redirect(browser: LtiBrowser, url: str) -> dict[str, list[str]]:
    response = browser.client.get(url, base_url=TOOL_BASE)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://school.canvas.test.example/login/oauth2/auth?")
    return parse_qs(urlsplit(location).query)


def mock_canvas(mock: responses.RequestsMock, platform: FakePlatform, user_id: int = 812) -> None:
    mock.post(
        platform.canvas_url + "/login/oauth2/token",
        json={
            "access_token": ACCESS,
            "token_type": "Bearer",
            "user": {"id": user_id, "name": "Carrie A Lowell"},
            "refresh_token": REFRESH,
            "expires_in": 3600,
            "canvas_region": "us-east-1",
        },
    )
    mock.get(
        platform.canvas_url + "/api/v1/users/self",
        json={
            "id": user_id,
            "name": "Carrie A Lowell",
            "sortable_name": "Lowell, Carrie A",
            "short_name": "Carrie",
        },
    )
    mock.delete(platform.canvas_url + "/login/oauth2/token", json={})


def callback(browser: LtiBrowser, state: str, code: str = "code-123") -> tuple[int, str]:
    response = browser.client.get(
        "/canvas/oauth/callback", query_string={"code": code, "state": state}, base_url=TOOL_BASE
    )
    return response.status_code, response.get_data(as_text=True)


def raw_token_rows(app: Flask) -> list[str]:
    with app.app_context():
        engine = app.extensions["db_engine"]
        with engine.connect() as conn:
            return [
                json.dumps([str(v) for v in r])
                for r in conn.execute(text("select * from canvas_api_token")).all()
            ]


def test_connect_stores_encrypted_tokens_and_the_state_works_once(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    query = canvas_redirect(browser, start_url(browser, row))
    assert query["client_id"] == [API_CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [TOOL_BASE + "/canvas/oauth/callback"]
    assert "url:GET|/api/v1/courses/:course_id/outcome_results" in query["scope"][0].split(" ")
    state = query["state"][0]
    mock_canvas(jwks, platform)

    status, html = callback(browser, state)
    assert status == 200, html
    assert "Connected to Canvas" in html
    token_call = next(c for c in jwks.calls if c.request.method == "POST")
    body = parse_qs(str(token_call.request.body))
    assert body["grant_type"] == ["authorization_code"] and body["code"] == ["code-123"]
    assert body["redirect_uri"] == [TOOL_BASE + "/canvas/oauth/callback"]

    # Encrypted at rest: the raw row holds neither token, yet the app reads them back.
    raw = raw_token_rows(app)
    assert len(raw) == 1
    assert ACCESS not in raw[0] and REFRESH not in raw[0]
    with app.app_context(), session_scope(app) as db:
        stored = db.scalars(select(CanvasApiToken)).one()
        assert stored.canvas_user_id == "812"
        token = connection.load_token(services().keyring, stored)
        assert (token.access_token, token.refresh_token) == (ACCESS, REFRESH)
        assert token.expires_at > datetime.now(UTC) + timedelta(minutes=55)

    # Reusing the state: refused, and no second code exchange.
    exchanges = sum(1 for c in jwks.calls if c.request.method == "POST")
    status, html = callback(browser, state)
    assert status == 400
    assert "could not be verified" in html
    assert sum(1 for c in jwks.calls if c.request.method == "POST") == exchanges
    # And the start link no longer works either.
    assert (
        browser.client.get(
            "/canvas/oauth/start", query_string={"state": state}, base_url=TOOL_BASE
        ).status_code
        == 400
    )


def test_wrong_canvas_account_is_refused_and_its_token_revoked(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform, user_id=999)  # someone else signed in to Canvas
    status, html = callback(browser, state)
    assert status == 403
    assert "different Canvas account" in html
    assert raw_token_rows(app) == []
    revokes = [c for c in jwks.calls if c.request.method == "DELETE"]
    assert len(revokes) == 1
    assert revokes[0].request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_unknown_expired_or_missing_state_is_refused_without_calling_canvas(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    with session_scope(app) as db:
        db.execute(
            update(CanvasOAuthState).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    for bad in (state, "forged-state", ""):
        status, _ = callback(browser, bad)
        assert status == 400
    assert not [c for c in jwks.calls if "login/oauth2/token" in url_of(c.request)]


def test_state_is_bound_to_the_launch_session(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    start = start_url(browser, row)
    with session_scope(app) as db:
        state_row = db.scalars(select(CanvasOAuthState)).one()
        assert state_row.launch_session_id == row.id
        assert state_row.canvas_user_id == "812"
        # Only a hash is stored: the state in the link is not in the table.
        assert parse_qs(urlsplit(start).query)["state"][0] != state_row.state_hash
        # The launch ends (sign out, expiry clean-up): its pending connect goes with it.
        db.execute(text("delete from launch_session"))
        assert db.scalars(select(CanvasOAuthState)).all() == []


def test_disconnect_revokes_at_canvas_then_forgets(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    assert callback(browser, state)[0] == 200
    html = post(browser, row, "/canvas/disconnect")
    assert post.status == 200, html  # type: ignore[attr-defined]
    assert "Disconnected" in html
    [revoke] = [c for c in jwks.calls if c.request.method == "DELETE"]
    assert revoke.request.url == platform.canvas_url + "/login/oauth2/token"
    assert revoke.request.headers["Authorization"] == f"Bearer {ACCESS}"
    assert raw_token_rows(app) == []
    assert "Connect to Canvas" in html


def test_disconnect_keeps_the_token_when_canvas_does_not_confirm(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    assert callback(browser, state)[0] == 200
    jwks.replace(responses.DELETE, platform.canvas_url + "/login/oauth2/token", status=503)
    post(browser, row, "/canvas/disconnect")
    assert post.status == 502  # type: ignore[attr-defined]
    assert len(raw_token_rows(app)) == 1


def test_students_cannot_connect_or_sync(app: Flask, browser: LtiBrowser, api_key: None) -> None:
    row = teacher(browser, roles=[LEARNER])
    assert browser.client.get(f"/s/{row.id}/canvas", base_url=TOOL_BASE).status_code == 403
    for path in ("/canvas/connect", "/canvas/sync"):
        post(browser, row, path)
        assert post.status == 403  # type: ignore[attr-defined]
    with session_scope(app) as db:
        assert db.scalars(select(CanvasOAuthState)).all() == []


def test_connect_needs_csrf_token(app: Flask, browser: LtiBrowser, api_key: None) -> None:
    row = teacher(browser)
    response = browser.client.post(
        f"/s/{row.id}/canvas/connect", headers={"Origin": TOOL_BASE}, base_url=TOOL_BASE
    )
    assert response.status_code == 403
    with session_scope(app) as db:
        assert db.scalars(select(CanvasOAuthState)).all() == []


def test_disconnect_with_an_expired_token_refreshes_then_revokes_the_grant(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    assert callback(browser, state)[0] == 200
    with session_scope(app) as db:
        db.execute(
            update(CanvasApiToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    fresh = "1~FreshAccessTokenAfterRefresh"
    jwks.replace(
        responses.POST,
        platform.canvas_url + "/login/oauth2/token",
        json={
            "access_token": fresh,
            "token_type": "Bearer",
            "user": {"id": 812, "name": "Carrie A Lowell"},
            "expires_in": 3600,
        },
    )
    html = post(browser, row, "/canvas/disconnect")
    assert post.status == 200, html  # type: ignore[attr-defined]
    refresh = [c for c in jwks.calls if c.request.method == "POST"][-1]
    assert parse_qs(str(refresh.request.body))["grant_type"] == ["refresh_token"]
    assert parse_qs(str(refresh.request.body))["refresh_token"] == [REFRESH]
    [revoke] = [c for c in jwks.calls if c.request.method == "DELETE"]
    assert revoke.request.headers["Authorization"] == f"Bearer {fresh}"
    assert raw_token_rows(app) == []


def test_disconnect_when_the_grant_is_already_dead_just_forgets(
    app: Flask,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
    platform: FakePlatform,
    api_key: None,
) -> None:
    row = teacher(browser)
    state = canvas_redirect(browser, start_url(browser, row))["state"][0]
    mock_canvas(jwks, platform)
    assert callback(browser, state)[0] == 200
    with session_scope(app) as db:
        db.execute(
            update(CanvasApiToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    jwks.replace(
        responses.POST,
        platform.canvas_url + "/login/oauth2/token",
        status=400,
        json={"error": "invalid_grant", "error_description": "refresh_token not found"},
    )
    html = post(browser, row, "/canvas/disconnect")
    assert post.status == 200, html  # type: ignore[attr-defined]
    assert not [c for c in jwks.calls if c.request.method == "DELETE"]
    assert raw_token_rows(app) == []
