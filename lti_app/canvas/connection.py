"""The wiring between the app and the Canvas client (``canvas.client``): stored OAuth2 tokens
(encrypted with the KeyRing, AAD bound to the row), the API developer key, and the
construction of a client for a platform and user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.errors import ReconnectRequired
from lti_app.canvas.client.tokens import (
    OAuth2TokenSource,
    StaticToken,
    StoredToken,
    TokenSource,
)
from lti_app.crypto import KeyRing
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken
from lti_app.models.tenancy import Platform
from lti_app.services import Services
from lti_app.urls import origin_of


class MissingApiKey(Exception):
    """The tenant has no usable Canvas API developer key (none, or stored for another Canvas
    address): an admin must store one."""


ACCESS = "access"
REFRESH = "refresh"


def find_token(db: Session, platform_id: int, canvas_user_id: str) -> CanvasApiToken | None:
    return db.scalar(
        select(CanvasApiToken).where(
            CanvasApiToken.platform_id == platform_id,
            CanvasApiToken.canvas_user_id == canvas_user_id,
        )
    )


def save_token(
    db: Session, keyring: KeyRing, platform_id: int, token: StoredToken
) -> CanvasApiToken:
    """Insert or replace the user's tokens, encrypted; a refresh keeps the old refresh token."""
    row = find_token(db, platform_id, token.canvas_user_id)
    if row is None:
        row = CanvasApiToken(platform_id=platform_id, canvas_user_id=token.canvas_user_id)
        db.add(row)
    row.access_token_encrypted = keyring.encrypt(token.access_token, row.aad(ACCESS))
    if token.refresh_token is not None:
        row.refresh_token_encrypted = keyring.encrypt(token.refresh_token, row.aad(REFRESH))
    row.expires_at = token.expires_at
    row.canvas_origin = token.canvas_origin
    return row


def load_token(keyring: KeyRing, row: CanvasApiToken) -> StoredToken:
    refresh = (
        keyring.decrypt(row.refresh_token_encrypted, row.aad(REFRESH))
        if row.refresh_token_encrypted
        else None
    )
    return StoredToken(
        access_token=keyring.decrypt(row.access_token_encrypted, row.aad(ACCESS)),
        refresh_token=refresh,
        expires_at=row.expires_at,
        canvas_user_id=row.canvas_user_id,
        canvas_origin=row.canvas_origin,
    )


class DbTokenStore:
    """``TokenStore`` over canvas_api_token; each call is its own short transaction, so a
    refresh made from a job thread is saved at once (the refresh token must not be lost)."""

    def __init__(self, app: Flask, keyring: KeyRing, platform_id: int, canvas_user_id: str):
        self._app = app
        self._keyring = keyring
        self._platform_id = platform_id
        self._canvas_user_id = canvas_user_id

    def load(self) -> StoredToken | None:
        with session_scope(self._app) as db:
            row = find_token(db, self._platform_id, self._canvas_user_id)
            return load_token(self._keyring, row) if row is not None else None

    def save(self, token: StoredToken) -> None:
        if token.canvas_user_id != self._canvas_user_id:
            # A refresh never changes the user; refuse to file a token under someone else.
            raise ReconnectRequired("Canvas returned a token for another user.")
        with session_scope(self._app) as db:
            save_token(db, self._keyring, self._platform_id, token)


def store_api_key(keyring: KeyRing, platform: Platform, client_id: str, secret: str) -> None:
    """Store the Canvas API developer key, encrypted, for the platform's current Canvas
    origin: the secret will only ever be sent to that origin's token endpoint."""
    platform.api_client_id = client_id
    platform.api_client_secret_encrypted = keyring.encrypt(secret, platform.secret_aad())
    platform.api_key_origin = origin_of(platform.canvas_url)


def platform_api_key(services: Services, platform: Platform) -> tuple[str, str]:
    """The tenant's Canvas API developer key (id, secret) for its current Canvas address;
    MissingApiKey when unset, or when it was stored for another Canvas origin (its secret
    only ever goes to the token endpoint of the Canvas it was stored for)."""
    if not platform.api_client_id or not platform.api_client_secret_encrypted:
        raise MissingApiKey(
            "This Canvas has no API developer key configured; ask your Canvas admin to add "
            "one (flask --app lti_app platform set-api-key)."
        )
    if platform.api_key_origin != origin_of(platform.canvas_url):
        raise MissingApiKey(
            "This Canvas's address changed after its API developer key was stored; ask your "
            "Canvas admin to store the key again (flask --app lti_app platform set-api-key)."
        )
    secret = services.keyring.decrypt(platform.api_client_secret_encrypted, platform.secret_aad())
    return platform.api_client_id, secret


ClientFactory = Callable[[], CanvasClient]


# A sync reads one page at a time: a request is throttled only when the bucket is already
# full as it starts, so one reservation (50) plus a page's cost is enough headroom; the
# client's default (150) is sized for three requests in flight.
SEQUENTIAL_PACE_BELOW = 60.0


def make_client(
    services: Services, canvas_url: str, tokens: TokenSource, **kw: Any
) -> CanvasClient:
    settings = services.settings
    options: dict[str, Any] = {"pace_below": SEQUENTIAL_PACE_BELOW, **kw}
    return CanvasClient(
        canvas_url,
        tokens,
        connect_timeout=settings.http_connect_timeout,
        read_timeout=settings.http_read_timeout,
        **options,
    )


def user_token_source(
    app: Flask, services: Services, platform: Platform, canvas_user_id: str
) -> OAuth2TokenSource:
    client_id, secret = platform_api_key(services, platform)
    return OAuth2TokenSource(
        canvas_url=platform.canvas_url,
        client_id=client_id,
        client_secret=secret,
        store=DbTokenStore(app, services.keyring, platform.id, canvas_user_id),
        timeout=services.settings.http_timeout,
    )


def static_token_source(token: str) -> StaticToken:
    return StaticToken(token)


def user_client_factory(
    app: Flask, services: Services, platform_id: int, canvas_user_id: str
) -> CanvasClient:
    """A client acting as a teacher, from their stored connection (syncs and write-back)."""
    with session_scope(app) as db:
        platform = db.get(Platform, platform_id)
        if platform is None:
            raise LookupError("platform is gone")
        canvas_url = platform.canvas_url
        tokens = user_token_source(app, services, platform, canvas_user_id)
    return make_client(services, canvas_url, tokens)
