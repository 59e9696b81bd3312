"""Bearer tokens and the OAuth2 token endpoint (docs/canvas.md §4.2, §4.8)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from canvas_sandbox import tokens
from canvas_sandbox.seed import DEFAULT_API_REDIRECT_URI, DemoIds
from canvas_sandbox.state import SandboxState

H = dict[str, str]
SELF = "/api/v1/users/self"


def _www(resp: object) -> str | None:
    return resp.headers.get("WWW-Authenticate")  # type: ignore[attr-defined, no-any-return]


def test_missing_and_invalid_tokens(client: FlaskClient) -> None:
    missing = client.get(SELF)
    assert missing.status_code == 401 and _www(missing) == 'Bearer realm="canvas-lms"'
    bad = client.get(SELF, headers={"Authorization": "Bearer 1~nope"})
    assert bad.status_code == 401 and _www(bad) == 'Bearer realm="canvas-lms"'
    assert bad.get_json() == {"errors": [{"message": "Invalid access token."}]}


def test_expired_and_revoked_tokens(client: FlaskClient, state: SandboxState, ids: DemoIds) -> None:
    token = tokens.mint_token(state, ids.teacher, ttl=60)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(SELF, headers=headers).get_json()["id"] == ids.teacher
    real = state.clock
    later = real() + timedelta(seconds=61)
    state.clock = lambda: later
    expired = client.get(SELF, headers=headers)
    assert expired.status_code == 401 and _www(expired)
    body = expired.get_json()
    assert body["errors"] == [{"message": "Expired access token."}] and body["expired_at"]
    state.clock = real
    token2 = tokens.mint_token(state, ids.teacher)
    h2 = {"Authorization": f"Bearer {token2}"}
    assert client.delete("/login/oauth2/token", headers=h2).status_code == 200
    revoked = client.get(SELF, headers=h2)
    assert revoked.status_code == 401
    assert revoked.get_json() == {"errors": [{"message": "Revoked access token."}]}


def test_access_token_query_param_works(
    client: FlaskClient, state: SandboxState, ids: DemoIds
) -> None:
    token = tokens.mint_token(state, ids.ta)
    assert client.get(f"{SELF}?access_token={token}").get_json()["id"] == ids.ta


def test_authorization_code_flow_and_refresh(
    client: FlaskClient, state: SandboxState, ids: DemoIds
) -> None:
    code = tokens.issue_code(state, ids.api_client_id, ids.teacher, DEFAULT_API_REDIRECT_URI, [])
    form = {
        "grant_type": "authorization_code",
        "client_id": ids.api_client_id,
        "client_secret": ids.api_client_secret,
        "redirect_uri": DEFAULT_API_REDIRECT_URI,
        "code": code,
    }
    resp = client.post("/login/oauth2/token", data=form)
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {
        "access_token", "token_type", "user", "refresh_token", "expires_in", "canvas_region"
    }  # fmt: skip
    assert body["user"] == {"id": ids.teacher, "name": "Elena Rivera"}
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(SELF, headers=headers).status_code == 200
    # codes are single use
    again = client.post("/login/oauth2/token", data=form)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    refreshed = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": ids.api_client_id,
            "client_secret": ids.api_client_secret,
            "refresh_token": body["refresh_token"],
        },
    ).get_json()
    assert "refresh_token" not in refreshed  # reuse the original one
    assert refreshed["access_token"] != body["access_token"]
    assert client.get(SELF, headers=headers).status_code == 401  # the old access token is gone
    new_headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert client.get(SELF, headers=new_headers).get_json()["id"] == ids.teacher
    # revoking kills the refresh token too
    client.delete("/login/oauth2/token", headers=new_headers)
    dead = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": ids.api_client_id,
            "client_secret": ids.api_client_secret,
            "refresh_token": body["refresh_token"],
        },
    )
    assert dead.status_code == 400


def test_token_endpoint_refuses_wrong_client_and_redirect(
    client: FlaskClient, state: SandboxState, ids: DemoIds
) -> None:
    code = tokens.issue_code(state, ids.api_client_id, ids.teacher, DEFAULT_API_REDIRECT_URI, [])
    wrong_secret = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": ids.api_client_id,
            "client_secret": "wrong",
            "redirect_uri": DEFAULT_API_REDIRECT_URI,
            "code": code,
        },
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.get_json()["error"] == "invalid_client"
    code2 = tokens.issue_code(state, ids.api_client_id, ids.teacher, DEFAULT_API_REDIRECT_URI, [])
    wrong_redirect = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": ids.api_client_id,
            "client_secret": ids.api_client_secret,
            "redirect_uri": "http://evil.example/cb",
            "code": code2,
        },
    )
    assert wrong_redirect.status_code == 400


def test_permission_failure_has_no_www_authenticate(
    client: FlaskClient, state: SandboxState, ids: DemoIds
) -> None:
    other_teacher = {"Authorization": f"Bearer {tokens.mint_token(state, ids.teacher2)}"}
    resp = client.get(f"/api/v1/courses/{ids.ela_course}/outcome_results", headers=other_teacher)
    assert resp.status_code == 401 and _www(resp) is None
    assert resp.get_json()["status"] == "unauthorized"
