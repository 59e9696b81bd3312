"""Token sources: OAuth2 refresh (authlib) single-flight, dead refresh tokens, code exchange,
authorization URL, revocation, and the client refreshing once for many threads."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from lti_app.canvas.client import (
    CanvasClient,
    OAuth2TokenSource,
    StaticToken,
    StoredToken,
    authorization_url,
    exchange_code,
    revoke,
)
from lti_app.canvas.client.errors import CanvasUnavailable, ReconnectRequired
from tests.canvas import payloads
from tests.canvas.conftest import BASE
from tests.http_calls import send_kwargs

TOKEN_URL = f"{BASE}/login/oauth2/token"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SECRET = "dev-key-secret-xyz"
REFRESH = "refresh-tIh2YBW"


class MemoryStore:
    def __init__(self, token: StoredToken | None) -> None:
        self.token = token
        self.saved: list[StoredToken] = []

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken) -> None:
        self.saved.append(token)
        self.token = token


def stored(
    access: str = "old-access", *, expires_in: float = 3000, refresh: str | None = REFRESH
) -> StoredToken:
    return StoredToken(
        access_token=access,
        refresh_token=refresh,
        expires_at=NOW + timedelta(seconds=expires_in),
        canvas_user_id="42",
        canvas_origin=BASE,
    )


def source(store: MemoryStore, **kwargs: Any) -> OAuth2TokenSource:
    return OAuth2TokenSource(
        canvas_url=BASE,
        client_id="170000000000001",
        client_secret=SECRET,
        store=store,
        clock=lambda: NOW,
        **kwargs,
    )


def refresh_response(access: str = "new-access") -> dict[str, Any]:
    # Canvas's refresh answer: no refresh_token (docs/canvas.md §4.2)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "user": {"id": 42, "name": "Ms. Rivera"},
        "expires_in": 3600,
        "canvas_region": "us-east-1",
    }


def form_of(call: Any) -> dict[str, list[str]]:
    return parse_qs(call.request.body)


def test_fresh_token_needs_no_http(canvas: responses.RequestsMock) -> None:
    assert source(MemoryStore(stored())).access_token() == "old-access"
    assert len(canvas.calls) == 0


def test_refreshes_proactively_inside_the_leeway_and_keeps_the_refresh_token(
    canvas: responses.RequestsMock,
) -> None:
    canvas.post(TOKEN_URL, json=refresh_response())
    store = MemoryStore(stored(expires_in=30))
    tokens = source(store, leeway=60, timeout=(1.5, 7.0))
    assert tokens.access_token() == "new-access"
    (call,) = canvas.calls
    assert form_of(call) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["170000000000001"],
        "client_secret": [SECRET],
    }
    assert send_kwargs(call.request)["timeout"] == (1.5, 7.0)
    assert store.saved == [
        StoredToken(
            "new-access",
            REFRESH,
            NOW + timedelta(seconds=3600),
            canvas_user_id="42",
            canvas_origin=BASE,
        )
    ]
    assert tokens.access_token() == "new-access"
    assert len(canvas.calls) == 1


def test_many_threads_refreshing_the_same_rejected_token_cause_one_refresh(
    canvas: responses.RequestsMock,
) -> None:
    def slow(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)
        return 200, {}, json.dumps(refresh_response())

    canvas.add_callback(responses.POST, TOKEN_URL, callback=slow, content_type="application/json")
    tokens = source(MemoryStore(stored()))
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(tokens.refresh("old-access")))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["new-access"] * 20
    assert len(canvas.calls) == 1


def test_refresh_picks_up_a_token_another_process_already_refreshed(
    canvas: responses.RequestsMock,
) -> None:
    store = MemoryStore(stored())
    tokens = source(store)
    assert tokens.access_token() == "old-access"
    store.token = stored("refreshed-elsewhere")
    assert tokens.refresh("old-access") == "refreshed-elsewhere"
    assert len(canvas.calls) == 0


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": "invalid_grant", "error_description": "refresh_token not found"}),
        (401, {"error": "invalid_client", "error_description": "unknown client"}),
        (401, "unauthorized"),
    ],
)
def test_dead_refresh_token_means_reconnect(
    canvas: responses.RequestsMock, status: int, body: Any
) -> None:
    if isinstance(body, str):
        canvas.post(TOKEN_URL, status=status, body=body, content_type="text/plain")
    else:
        canvas.post(TOKEN_URL, status=status, json=body)
    store = MemoryStore(stored())
    with pytest.raises(ReconnectRequired) as caught:
        source(store).refresh("old-access")
    assert store.saved == []
    text = str(caught.value)
    assert REFRESH not in text and SECRET not in text
    assert caught.value.__cause__ is None


def test_token_endpoint_outage_is_canvas_unavailable_not_reconnect(
    canvas: responses.RequestsMock,
) -> None:
    canvas.post(TOKEN_URL, status=503, body="down")
    with pytest.raises(CanvasUnavailable):
        source(MemoryStore(stored())).refresh("old-access")
    canvas.replace(responses.POST, TOKEN_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(CanvasUnavailable):
        source(MemoryStore(stored())).refresh("old-access")


def test_no_refresh_token_or_no_stored_token_means_reconnect(
    canvas: responses.RequestsMock,
) -> None:
    with pytest.raises(ReconnectRequired):
        source(MemoryStore(stored(refresh=None))).refresh("old-access")
    with pytest.raises(ReconnectRequired):
        source(MemoryStore(stored(expires_in=-5, refresh=None))).access_token()
    with pytest.raises(ReconnectRequired):
        source(MemoryStore(None)).access_token()
    assert len(canvas.calls) == 0


def test_static_token_cannot_refresh() -> None:
    tokens = StaticToken("abc")
    assert tokens.access_token() == "abc"
    assert "abc" not in repr(tokens)
    with pytest.raises(ReconnectRequired):
        tokens.refresh("abc")


def test_stored_token_repr_hides_secrets() -> None:
    text = repr(stored())
    assert "old-access" not in text and REFRESH not in text


def test_exchange_code_posts_the_grant_and_names_the_user(
    canvas: responses.RequestsMock,
) -> None:
    canvas.post(
        TOKEN_URL,
        json={
            "access_token": "1/fFAGR",
            "token_type": "Bearer",
            "user": {"id": 42, "name": "Jimi Hendrix"},
            "refresh_token": "tIh2YBW",
            "expires_in": 3600,
        },
    )
    token = exchange_code(
        BASE,
        "170000000000001",
        SECRET,
        "https://tool.test/canvas/oauth/callback",
        "code-123",
        timeout=(2.0, 5.0),
        clock=lambda: NOW,
    )
    assert token == StoredToken("1/fFAGR", "tIh2YBW", NOW + timedelta(hours=1), "42", BASE)
    (call,) = canvas.calls
    assert form_of(call) == {
        "grant_type": ["authorization_code"],
        "code": ["code-123"],
        "redirect_uri": ["https://tool.test/canvas/oauth/callback"],
        "client_id": ["170000000000001"],
        "client_secret": [SECRET],
    }
    assert send_kwargs(call.request)["timeout"] == (2.0, 5.0)


def test_exchange_of_a_used_code_means_reconnect(canvas: responses.RequestsMock) -> None:
    canvas.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ReconnectRequired):
        exchange_code(BASE, "1", SECRET, "https://tool.test/cb", "used")


def test_authorization_url_sends_scopes_once_space_separated() -> None:
    url = authorization_url(
        BASE + "/",
        "170000000000001",
        "https://tool.test/canvas/oauth/callback",
        "st-1",
        ["url:GET|/api/v1/courses/:course_id/outcome_results", "url:GET|/api/v1/users/:id"],
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/login/oauth2/auth"
    assert parse_qs(parts.query) == {
        "client_id": ["170000000000001"],
        "response_type": ["code"],
        "redirect_uri": ["https://tool.test/canvas/oauth/callback"],
        "state": ["st-1"],
        "scope": ["url:GET|/api/v1/courses/:course_id/outcome_results url:GET|/api/v1/users/:id"],
    }


def test_revoke_deletes_with_the_bearer_token(canvas: responses.RequestsMock) -> None:
    canvas.delete(TOKEN_URL, json={})
    revoke(BASE, "tok-1", timeout=(1.0, 2.0))
    (call,) = canvas.calls
    assert call.request.headers["Authorization"] == "Bearer tok-1"
    assert send_kwargs(call.request)["timeout"] == (1.0, 2.0)
    canvas.replace(responses.DELETE, TOKEN_URL, status=401, json={})
    revoke(BASE, "tok-1")  # already dead: done
    canvas.replace(responses.DELETE, TOKEN_URL, status=500, json={})
    with pytest.raises(CanvasUnavailable):
        revoke(BASE, "tok-1")


def test_twenty_parallel_calls_with_an_expired_token_refresh_once(
    canvas: responses.RequestsMock,
) -> None:
    """Security checklist 25: N parallel requests with an expired token → one refresh."""
    sections = f"{BASE}/api/v1/courses/12/sections"

    def api(request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] == "Bearer new-access":
            return 200, {}, json.dumps([payloads.section(45)])
        time.sleep(0.01)
        body = payloads.expired_token()
        return 401, {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}, json.dumps(body)

    def token_endpoint(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)
        return 200, {}, json.dumps(refresh_response())

    canvas.add_callback(responses.GET, sections, callback=api, content_type="application/json")
    canvas.add_callback(
        responses.POST, TOKEN_URL, callback=token_endpoint, content_type="application/json"
    )
    tokens = source(MemoryStore(stored()))
    client = CanvasClient(BASE, tokens, max_concurrency=3)
    errors: list[Exception] = []

    def work() -> None:
        try:
            assert client.sections("12")[0].id == "45"
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == []
    assert len([c for c in canvas.calls if c.request.url == TOKEN_URL]) == 1
    assert tokens.refresh_count == 1
