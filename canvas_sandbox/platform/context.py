"""Per-request access to the sandbox: its state, its public URL, its signing secret, the user.

The app factory (``canvas_sandbox.app.create_sandbox``) keeps the state and config in
``app.extensions``; everything on the platform side reaches them through here.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from canvas_sandbox.state import SandboxState, User

META = "lti_platform_meta"
USER_COOKIE = "canvas_sandbox_user"


def state() -> SandboxState:
    found: SandboxState = current_app.extensions["sandbox_state"]
    return found


def config() -> Any:
    return current_app.extensions["sandbox_config"]


def base_url() -> str:
    """The sandbox's public origin as browsers and tools see it, e.g. http://localhost:8100."""
    return str(config().base_url).rstrip("/")


def issuer() -> str:
    """The LTI ``iss``. Self-hosted Canvas sets its own; the sandbox uses its origin."""
    return str(getattr(config(), "lti_issuer", "") or base_url())


def platform_secret(s: SandboxState | None = None) -> str:
    """A per-process secret for what Canvas signs with its own secret (message hints,
    registration tokens, the user cookie). A restart invalidates them, as a new Canvas would."""
    meta = (s or state()).table(META)
    with (s or state()).lock:
        if "secret" not in meta:
            meta["secret"] = secrets.token_urlsafe(32)
        return str(meta["secret"])


def _cookie_signer() -> URLSafeSerializer:
    return URLSafeSerializer(platform_secret(), salt="canvas-sandbox-user")


def user_cookie_value(user_id: int) -> str:
    return str(_cookie_signer().dumps(user_id))


def current_user() -> User | None:
    raw = request.cookies.get(USER_COOKIE)
    if not raw:
        return None
    try:
        user_id = _cookie_signer().loads(raw)
    except BadSignature:
        return None
    return state().users.get(user_id) if isinstance(user_id, int) else None
