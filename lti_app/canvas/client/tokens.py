"""Canvas API tokens: a static token, or a user's OAuth2 token with single-flight refresh.

OAuth2 HTTP (code exchange, refresh) goes through authlib's requests session with the same
(connect, read) timeouts as every other call. Canvas answers a refresh WITHOUT a new refresh
token (docs/canvas.md §4.2): the old one is kept. Persistence is the caller's (the app encrypts);
this module only calls `TokenStore.load/save`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import requests
from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
from authlib.integrations.requests_client import OAuth2Session  # type: ignore[import-untyped]

from lti_app.canvas.client.errors import BadPayload, CanvasUnavailable, ReconnectRequired
from lti_app.urls import origin_of

log = logging.getLogger(__name__)

Timeout = tuple[float, float]
DEFAULT_TIMEOUT: Timeout = (3.05, 30.0)
# Canvas's token lifetime when a response omits expires_in (docs/canvas.md §4.2: one hour).
DEFAULT_EXPIRES_IN = 3600


class TokenSource(Protocol):
    @property
    def origin(self) -> str | None:
        """The Canvas origin this token was issued by (None: a token given with its URL)."""
        ...

    def access_token(self) -> str:
        """A token to send now (refreshing first if it is about to expire)."""
        ...

    def refresh(self, rejected: str) -> str:
        """A token other than `rejected`, which Canvas just refused (401 + WWW-Authenticate).

        Single-flight: if another thread already replaced `rejected`, return the new one.
        """
        ...


class StaticToken:
    """A given API token (admin CLI --token, a manually generated Canvas token)."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ReconnectRequired("No Canvas API token was given.")
        self._token = token

    @property
    def origin(self) -> str | None:
        return None  # the admin gave the token together with the Canvas URL it is for

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> str:
        raise ReconnectRequired("The Canvas API token was rejected and cannot be refreshed.")

    def __repr__(self) -> str:  # never show the token
        return "StaticToken(<hidden>)"


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    refresh_token: str | None
    expires_at: datetime  # UTC
    canvas_user_id: str
    # The Canvas that issued it (origin_of()); the token never goes anywhere else.
    canvas_origin: str

    def __repr__(self) -> str:
        return (
            f"StoredToken(canvas_user_id={self.canvas_user_id!r}, origin={self.canvas_origin!r}, "
            f"expires_at={self.expires_at.isoformat()}, refresh={self.refresh_token is not None})"
        )


class TokenStore(Protocol):
    def load(self) -> StoredToken | None: ...

    def save(self, token: StoredToken) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _token_url(canvas_url: str) -> str:
    """The token endpoint on the Canvas origin itself (the body carries the client secret)."""
    return origin_of(canvas_url) + "/login/oauth2/token"


def _oauth_session(
    client_id: str, client_secret: str, session: OAuth2Session | None
) -> OAuth2Session:
    if session is not None:
        return session
    # Canvas reads client_id/client_secret from the form body (docs/canvas.md §4.2).
    return OAuth2Session(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method name)
    )


def _stored_from_response(
    response: Mapping[str, Any],
    *,
    now: datetime,
    previous: StoredToken | None,
    origin: str,
) -> StoredToken:
    access = response.get("access_token")
    if not isinstance(access, str) or not access:
        raise BadPayload("Canvas's token response carried no access token")
    refresh = response.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        refresh = previous.refresh_token if previous else None
    expires_in = response.get("expires_in", DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        expires_in = DEFAULT_EXPIRES_IN
    user = response.get("user")
    user_id: object = user.get("id") if isinstance(user, Mapping) else None
    if isinstance(user_id, int | str) and not isinstance(user_id, bool) and str(user_id):
        canvas_user_id = str(user_id)
    elif previous is not None:
        canvas_user_id = previous.canvas_user_id
    else:
        raise BadPayload("Canvas's token response did not name the user")
    return StoredToken(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + timedelta(seconds=float(expires_in)),
        canvas_user_id=canvas_user_id,
        canvas_origin=origin,
    )


def _token_endpoint_failure(exc: Exception, action: str) -> Exception:
    """Map a token-endpoint failure: grant/client problems mean reconnect, the rest retry later."""
    if isinstance(exc, OAuthError):
        # invalid_grant (dead or revoked refresh token / used code), invalid_client, ...
        return ReconnectRequired(f"Canvas refused the {action} ({exc.error}); connect again.")
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (400, 401, 403):
            return ReconnectRequired(f"Canvas refused the {action}; connect again.", status=status)
        return CanvasUnavailable(f"Canvas failed the {action}.", status=status)
    if isinstance(exc, requests.RequestException):
        return CanvasUnavailable(f"Canvas did not answer the {action} ({type(exc).__name__}).")
    if isinstance(exc, ValueError | TypeError | KeyError):
        # not a JSON object (e.g. a redirect or an HTML page where the token answer belongs)
        return BadPayload(f"Canvas's {action} response was not a token response.")
    return exc


class OAuth2TokenSource:
    """A user's OAuth2 token: refreshed proactively near expiry, and once after a rejection.

    One lock per source makes refresh single-flight inside a process. The store is re-read on
    `refresh()` so a refresh done by another process (sharing the store) is picked up instead of
    spending the refresh token twice.
    """

    def __init__(
        self,
        *,
        canvas_url: str,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        session: OAuth2Session | None = None,
        clock: Callable[[], datetime] = _utcnow,
        leeway: float = 60.0,
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._origin = origin_of(canvas_url)
        self._token_url = _token_url(canvas_url)
        self._client_id = client_id
        self._client_secret = client_secret
        self._store = store
        self._session = session
        self._clock = clock
        self._leeway = timedelta(seconds=leeway)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._current: StoredToken | None = None
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"OAuth2TokenSource({self._token_url!r})"

    @property
    def origin(self) -> str:
        return self._origin

    def access_token(self) -> str:
        with self._lock:
            token = self._current or self._load()
            if self._expiring(token):
                token = self._refresh_locked(token)
            return token.access_token

    def refresh(self, rejected: str) -> str:
        with self._lock:
            token = self._current
            if token is None or token.access_token == rejected:
                token = self._load()  # another process may have refreshed already
            if token.access_token != rejected and not self._expiring(token):
                return token.access_token
            return self._refresh_locked(token).access_token

    def _expiring(self, token: StoredToken) -> bool:
        return token.expires_at - self._leeway <= self._clock()

    def _load(self) -> StoredToken:
        token = self._store.load()
        if token is None:
            raise ReconnectRequired("Not connected to Canvas; connect first.")
        if token.canvas_origin != self._origin:
            # The Canvas address changed since this token was issued: neither the token, the
            # refresh token nor the client secret may go to the new address.
            log.warning("canvas_token_origin_mismatch user=%s", token.canvas_user_id)
            raise ReconnectRequired(
                "This Canvas connection was made with another Canvas address; connect again."
            )
        self._current = token
        return token

    def _refresh_locked(self, token: StoredToken) -> StoredToken:
        if not token.refresh_token:
            raise ReconnectRequired("The Canvas token expired and cannot be refreshed.")
        session = _oauth_session(self._client_id, self._client_secret, self._session)
        self.refresh_count += 1
        try:
            response = session.refresh_token(
                self._token_url,
                refresh_token=token.refresh_token,
                timeout=self._timeout,
                allow_redirects=False,  # the body carries the client secret
            )
        except Exception as exc:
            mapped = _token_endpoint_failure(exc, "token refresh")
            log.warning("canvas_token_refresh_failed error=%s", type(mapped).__name__)
            if mapped is exc:
                raise
            raise mapped from None  # the cause may quote the request body
        fresh = _stored_from_response(
            response, now=self._clock(), previous=token, origin=self._origin
        )
        self._store.save(fresh)
        self._current = fresh
        log.info("canvas_token_refreshed user=%s", fresh.canvas_user_id)
        return fresh


def authorization_url(
    canvas_url: str, client_id: str, redirect_uri: str, state: str, scopes: Sequence[str]
) -> str:
    """Canvas's /login/oauth2/auth URL; scopes once, space-separated (docs/canvas.md §4.2)."""
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scopes:
        params["scope"] = " ".join(scopes)
    return canvas_url.rstrip("/") + "/login/oauth2/auth?" + urlencode(params)


def exchange_code(
    canvas_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    *,
    session: OAuth2Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    clock: Callable[[], datetime] = _utcnow,
) -> StoredToken:
    """Trade an authorization code (single use) for a token; the response names the user."""
    oauth = _oauth_session(client_id, client_secret, session)
    try:
        response = oauth.fetch_token(
            _token_url(canvas_url),
            grant_type="authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            timeout=timeout,
            allow_redirects=False,  # the body carries the client secret
        )
    except Exception as exc:
        mapped = _token_endpoint_failure(exc, "authorization code")
        if mapped is exc:
            raise
        raise mapped from None
    return _stored_from_response(response, now=clock(), previous=None, origin=origin_of(canvas_url))


def revoke(
    canvas_url: str,
    token: str,
    *,
    session: requests.Session | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
) -> None:
    """DELETE /login/oauth2/token with the token itself; an already dead token counts as done.

    Canvas's revocation is not RFC 7009 (it is an authenticated DELETE), so this is a plain
    request; it never follows redirects (the token must not leave the Canvas origin).
    """
    http = session or requests.Session()
    try:
        response = http.delete(
            _token_url(canvas_url),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise CanvasUnavailable(
            f"Canvas did not answer the revocation ({type(exc).__name__})."
        ) from None
    if response.status_code == 401:
        return  # already invalid: nothing left to revoke
    if response.status_code >= 500:
        raise CanvasUnavailable("Canvas failed the revocation.", status=response.status_code)
    if response.status_code >= 300:
        raise ReconnectRequired("Canvas refused the revocation.", status=response.status_code)
