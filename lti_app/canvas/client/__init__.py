"""The one way the tool talks to the Canvas REST API (knows no Flask, no other lti_app package).

- `client.CanvasClient`: every call through one chokepoint (timeouts, bounded retries with
  jitter, throttling, pacing, per-token concurrency, refresh-once, same-origin pagination);
- `tokens`: static and OAuth2 token sources (authlib), code exchange, revocation;
- `types`: frozen results parsed from Canvas's JSON; `errors`: typed, display-safe errors
  (import them from `lti_app.canvas.client.errors`).
"""

from lti_app.canvas.client import errors
from lti_app.canvas.client.client import CanvasClient, RequestStats
from lti_app.canvas.client.tokens import (
    OAuth2TokenSource,
    StaticToken,
    StoredToken,
    TokenSource,
    TokenStore,
    authorization_url,
    exchange_code,
    revoke,
)

__all__ = [
    "CanvasClient",
    "OAuth2TokenSource",
    "RequestStats",
    "StaticToken",
    "StoredToken",
    "TokenSource",
    "TokenStore",
    "authorization_url",
    "errors",
    "exchange_code",
    "revoke",
]
