"""API developer keys, OAuth2 codes and access tokens (docs/canvas.md §4.2, §4.8).

Only hashes of codes and tokens are kept. Tokens look like Canvas's (``<id>~<random>``).
S2's authorize page calls ``issue_code``; tests, the demo and the benchmarks call
``mint_token`` (a "manually generated" token: no refresh token).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from canvas_sandbox.state import AccessToken, ApiDeveloperKey, AuthCode, SandboxState

CODE_TTL = timedelta(minutes=10)
API_KEY_IDS_FROM = 170000000000001


class OAuthError(Exception):
    """An OAuth2 token-endpoint error: HTTP status and RFC 6749 body."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


@dataclass(frozen=True)
class TokenCheck:
    """Outcome of checking a bearer token: ``token`` when valid, else the failure kind."""

    token: AccessToken | None
    failure: str | None = None  # "invalid" | "expired" | "revoked"
    expired_at: datetime | None = None


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def token_hash(token: str) -> str:
    """The key the sandbox files a token under (also the throttle bucket key,
    docs/canvas.md §4.7)."""
    return _hash(token)


def create_api_key(
    state: SandboxState,
    name: str,
    redirect_uri: str,
    *,
    client_id: str | None = None,
    secret: str | None = None,
    scopes: list[str] | None = None,
    allow_includes: bool = False,
) -> ApiDeveloperKey:
    with state.lock:
        key_id = state.next_id("api_key", API_KEY_IDS_FROM)
        key = ApiDeveloperKey(
            id=key_id,
            client_id=client_id or str(key_id),
            secret=secret or secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            name=name,
            scopes=list(scopes or []),
            allow_includes=allow_includes,
        )
        state.api_keys[key.id] = key
        return key


def key_by_client_id(state: SandboxState, client_id: str) -> ApiDeveloperKey | None:
    for key in state.api_keys.values():
        if key.client_id == client_id and key.workflow_state == "active":
            return key
    return None


def redirect_uri_allowed(key: ApiDeveloperKey, redirect_uri: str) -> bool:
    """Canvas accepts the key's redirect URI or one below it (same scheme/host, path prefix)."""
    return redirect_uri == key.redirect_uri or redirect_uri.startswith(
        key.redirect_uri.rstrip("/") + "/"
    )


def issue_code(
    state: SandboxState, client_id: str, user_id: int, redirect_uri: str, scopes: list[str]
) -> str:
    """Authorization code for the approve page (single use, 10 minutes)."""
    code = secrets.token_urlsafe(32)
    with state.lock:
        state.auth_codes[_hash(code)] = AuthCode(
            code_hash=_hash(code),
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            scopes=list(scopes),
            expires_at=state.now() + CODE_TTL,
        )
    return code


def _new_token(
    state: SandboxState,
    user_id: int,
    ttl: int | None,
    *,
    key: ApiDeveloperKey | None = None,
    scopes: list[str] | None = None,
    with_refresh: bool = False,
) -> tuple[str, str | None, AccessToken]:
    with state.lock:
        token_id = state.next_id("access_token", 1)
        token = f"{token_id}~{secrets.token_urlsafe(48)}"
        refresh = f"{token_id}~{secrets.token_urlsafe(48)}" if with_refresh else None
        record = AccessToken(
            id=token_id,
            user_id=user_id,
            token_hash=_hash(token),
            expires_at=state.now() + timedelta(seconds=ttl) if ttl else None,
            developer_key_id=key.id if key else None,
            refresh_hash=_hash(refresh) if refresh else None,
            scopes=list(scopes or []),
        )
        state.access_tokens[record.token_hash] = record
        if refresh is not None:
            state.refresh_tokens[_hash(refresh)] = token_id
        return token, refresh, record


def mint_token(state: SandboxState, user_id: int, ttl: int | None = 3600) -> str:
    """A manually generated API token for ``user_id`` (``ttl=None``: never expires)."""
    if user_id not in state.users:
        raise KeyError(f"no user {user_id}")
    token, _, _ = _new_token(state, user_id, ttl)
    return token


def _client(state: SandboxState, client_id: str, client_secret: str) -> ApiDeveloperKey:
    key = key_by_client_id(state, client_id)
    if key is None or not hmac.compare_digest(key.secret, client_secret):
        raise OAuthError(401, "invalid_client", "unknown client")
    return key


def _token_response(
    state: SandboxState, user_id: int, token: str, refresh: str | None, ttl: int
) -> dict[str, Any]:
    user = state.users[user_id]
    body: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "user": {"id": user.id, "name": user.name},
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    body["expires_in"] = ttl
    body["canvas_region"] = "us-east-1"
    return body


def exchange_code(
    state: SandboxState,
    *,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    ttl: int = 3600,
) -> dict[str, Any]:
    """``grant_type=authorization_code``: single-use code -> access + refresh token."""
    key = _client(state, client_id, client_secret)
    with state.lock:
        record = state.auth_codes.get(_hash(code))
        if record is None or record.used or record.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "authorization_code not found")
        record.used = True  # single use, even when the rest of the request is wrong
        if record.expires_at <= state.now():
            raise OAuthError(400, "invalid_grant", "authorization_code expired")
        if record.redirect_uri != redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match")
        if key.scopes and not set(record.scopes) <= set(key.scopes):
            raise OAuthError(400, "invalid_scope", "a requested scope is not on the key")
        # A key that enforces scopes and got none would have refused at /login/oauth2/auth.
        scopes = record.scopes if key.scopes else []
        token, refresh, _ = _new_token(
            state, record.user_id, ttl, key=key, scopes=scopes, with_refresh=True
        )
        return _token_response(state, record.user_id, token, refresh, ttl)


def refresh_access_token(
    state: SandboxState, *, client_id: str, client_secret: str, refresh_token: str, ttl: int = 3600
) -> dict[str, Any]:
    """``grant_type=refresh_token``: a new access token, NO new refresh token
    (docs/canvas.md §4.2)."""
    key = _client(state, client_id, client_secret)
    with state.lock:
        token_id = state.refresh_tokens.get(_hash(refresh_token))
        record = next((t for t in state.access_tokens.values() if t.id == token_id), None)
        if record is None or record.revoked or record.developer_key_id != key.id:
            raise OAuthError(400, "invalid_grant", "refresh_token not found")
        # Canvas regenerates the access token of the same AccessToken row.
        del state.access_tokens[record.token_hash]
        token = f"{record.id}~{secrets.token_urlsafe(48)}"
        record.token_hash = _hash(token)
        record.expires_at = state.now() + timedelta(seconds=ttl)
        state.access_tokens[record.token_hash] = record
        return _token_response(state, record.user_id, token, None, ttl)


def check(state: SandboxState, token: str) -> TokenCheck:
    with state.lock:
        record = state.access_tokens.get(_hash(token))
        if record is None:
            return TokenCheck(None, "invalid")
        if record.revoked:
            return TokenCheck(None, "revoked")
        if record.expires_at is not None and record.expires_at <= state.now():
            return TokenCheck(None, "expired", record.expires_at)
        return TokenCheck(record)


def revoke(state: SandboxState, token: str) -> bool:
    """Revoke the token and its refresh token (``DELETE /login/oauth2/token``)."""
    with state.lock:
        record = state.access_tokens.get(_hash(token))
        if record is None:
            return False
        record.revoked = True
        if record.refresh_hash:
            state.refresh_tokens.pop(record.refresh_hash, None)
        return True
