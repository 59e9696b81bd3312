"""The OAuth2 authorization-code page of the API developer key flow (docs/canvas.md §4.8) on
the seeded demo district: every refusal, the approve and cancel redirects, and the code
exchanged at the token endpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from tests.sandbox.test_platform import hidden_fields

BASE = "http://localhost:8100"
CALLBACK = "http://127.0.0.1:5000/canvas/oauth/callback"


@pytest.fixture(scope="module")
def app() -> Flask:
    config = SandboxConfig(base_url=BASE)
    config.api_redirect_uri = CALLBACK
    return create_sandbox(config)


@pytest.fixture(scope="module")
def ids(app: Flask) -> Any:
    return app.extensions["sandbox_ids"]


def as_user(app: Flask, user_id: int | None) -> FlaskClient:
    client = app.test_client()
    if user_id is not None:
        assert client.post("/users/switch", data={"user_id": str(user_id)}).status_code == 303
    return client


def auth_query(ids: Any, **changes: str | None) -> dict[str, str]:
    query: dict[str, str | None] = {
        "client_id": ids.api_client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "state": "oauth-state-1234567890",
        "scope": "url:GET|/api/v1/courses/:course_id/outcome_results",
    }
    query.update(changes)
    return {k: v for k, v in query.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "170000000000999"}, "invalid_client"),
        ({"redirect_uri": "https://evil.example/canvas/oauth/callback"}, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:5000/elsewhere"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"state": None}, "invalid_request"),
    ],
)
def test_refusals_never_redirect(
    app: Flask, ids: Any, change: dict[str, str | None], error: str
) -> None:
    response = as_user(app, ids.teacher).get(
        "/login/oauth2/auth", query_string=auth_query(ids, **change)
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert "Location" not in response.headers


def test_without_a_user_the_switcher_comes_first_and_leads_back(app: Flask, ids: Any) -> None:
    client = as_user(app, None)
    response = client.get("/login/oauth2/auth", query_string=auth_query(ids))
    assert response.status_code == 302
    next_path = query_of(response.headers["Location"])["next"]
    assert next_path.startswith("/login/oauth2/auth?")
    switched = client.post("/users/switch", data={"user_id": str(ids.teacher), "next": next_path})
    assert switched.headers["Location"] == next_path


def test_approve_redirects_with_a_code_that_the_token_endpoint_exchanges(
    app: Flask, ids: Any
) -> None:
    client = as_user(app, ids.teacher)
    page = client.get("/login/oauth2/auth", query_string=auth_query(ids))
    assert page.status_code == 200
    assert "Elena Rivera" in page.text  # the current user
    key = app.extensions["sandbox_state"].api_keys
    assert any(k.name in page.text for k in key.values())  # the tool is named
    token = hidden_fields(page.text)["decision_token"]
    response = client.post(
        "/login/oauth2/auth",
        query_string=auth_query(ids),
        data={"decision_token": token, "decision": "approve"},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(CALLBACK + "?")
    back = query_of(location)
    assert back["state"] == "oauth-state-1234567890"
    exchanged = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": ids.api_client_id,
            "client_secret": ids.api_client_secret,
            "redirect_uri": CALLBACK,
            "code": back["code"],
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.get_json()
    assert body["user"]["id"] == ids.teacher
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]


def test_a_subpath_of_the_redirect_uri_is_accepted(app: Flask, ids: Any) -> None:
    query = auth_query(ids, redirect_uri=CALLBACK + "/district-7")
    assert (
        as_user(app, ids.teacher).get("/login/oauth2/auth", query_string=query).status_code == 200
    )


def test_cancel_redirects_with_access_denied(app: Flask, ids: Any) -> None:
    client = as_user(app, ids.students[0])
    token = hidden_fields(client.get("/login/oauth2/auth", query_string=auth_query(ids)).text)[
        "decision_token"
    ]
    response = client.post(
        "/login/oauth2/auth",
        query_string=auth_query(ids),
        data={"decision_token": token, "decision": "cancel"},
    )
    assert response.status_code == 302
    back = query_of(response.headers["Location"])
    assert back["error"] == "access_denied"
    assert back["state"] == "oauth-state-1234567890"
    assert "code" not in back


def test_the_decision_is_bound_to_the_user_and_the_request(app: Flask, ids: Any) -> None:
    teacher = as_user(app, ids.teacher)
    token = hidden_fields(teacher.get("/login/oauth2/auth", query_string=auth_query(ids)).text)[
        "decision_token"
    ]
    # another user's browser, or another state, cannot reuse it
    other = as_user(app, ids.students[0])
    data = {"decision_token": token, "decision": "approve"}
    assert (
        other.post("/login/oauth2/auth", query_string=auth_query(ids), data=data).status_code == 403
    )
    changed = auth_query(ids, state="another-state-0987654321")
    assert teacher.post("/login/oauth2/auth", query_string=changed, data=data).status_code == 403
