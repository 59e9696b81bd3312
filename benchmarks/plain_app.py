"""The baseline: a minimal Flask tool on plain pylti1p3, as its README and examples build one.

FlaskOIDCLogin + FlaskMessageLaunch with a ToolConfDict, and a launch-data cache shared by all
workers (Redis through redis-py when PLAIN_REDIS_URL is set, else an in-process dict, which is
only correct with one worker). The platform's JWKS is cached in the same store with
`set_public_key_caching`, as the library suggests. None of the hardened app's checks, no
database: this is the cost floor a hardened launch is compared with.

Configuration from the environment (gunicorn: `plain_app:create_app()` with
`--pythonpath benchmarks`):

    PLAIN_ISSUER, PLAIN_CLIENT_ID, PLAIN_DEPLOYMENT_ID, PLAIN_AUTH_URL, PLAIN_TOKEN_URL,
    PLAIN_JWKS_URL, PLAIN_REDIS_URL (optional), PLAIN_CACHE_PREFIX, SECRET_KEY
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, render_template_string, request
from pylti1p3.contrib.flask import (
    FlaskCacheDataStorage,
    FlaskMessageLaunch,
    FlaskOIDCLogin,
    FlaskRequest,
)
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.tool_config import ToolConfDict

# Launch data expires well before pylti1p3's default of a day, so a benchmark leaves no litter.
MAX_TTL = 900

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1><p>Signed in as {{ name }} ({{ roles|length }} roles)</p></body>
</html>"""


@dataclass(frozen=True)
class PlainConfig:
    issuer: str
    client_id: str
    deployment_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    redis_url: str = ""
    cache_prefix: str = "plain-lti:"
    secret_key: str = "plain-benchmark-secret"

    @classmethod
    def from_env(cls) -> PlainConfig:
        env = os.environ
        return cls(
            issuer=env["PLAIN_ISSUER"],
            client_id=env["PLAIN_CLIENT_ID"],
            deployment_id=env["PLAIN_DEPLOYMENT_ID"],
            auth_url=env["PLAIN_AUTH_URL"],
            token_url=env["PLAIN_TOKEN_URL"],
            jwks_url=env["PLAIN_JWKS_URL"],
            redis_url=env.get("PLAIN_REDIS_URL", ""),
            cache_prefix=env.get("PLAIN_CACHE_PREFIX", "plain-lti:"),
            secret_key=env.get("SECRET_KEY", "plain-benchmark-secret"),
        )


class RedisJsonCache:
    """The get/set interface FlaskCacheDataStorage wants, over redis-py with JSON values."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._prefix = prefix

    def get(self, key: str) -> Any:
        raw = self._redis.get(self._prefix + key)
        return None if raw is None else json.loads(raw)

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        ttl = min(timeout or MAX_TTL, MAX_TTL)
        self._redis.set(self._prefix + key, json.dumps(value), ex=ttl)


class MemoryCache:
    """Per-process fallback (one gunicorn worker only): a dict with expiry."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        ttl = min(timeout or MAX_TTL, MAX_TTL)
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)


def create_app(config: PlainConfig | None = None) -> Flask:
    conf = config or PlainConfig.from_env()
    tool_conf = ToolConfDict(
        {
            conf.issuer: [
                {
                    "default": True,
                    "client_id": conf.client_id,
                    "auth_login_url": conf.auth_url,
                    "auth_token_url": conf.token_url,
                    "key_set_url": conf.jwks_url,
                    "key_set": None,
                    "deployment_ids": [conf.deployment_id],
                }
            ]
        }
    )
    cache: RedisJsonCache | MemoryCache = (
        RedisJsonCache(conf.redis_url, conf.cache_prefix) if conf.redis_url else MemoryCache()
    )
    app = Flask(__name__)
    app.config["SECRET_KEY"] = conf.secret_key

    def lti_request() -> tuple[FlaskRequest, FlaskCacheDataStorage]:
        # Production sits behind TLS, so cookies are Secure; SameSite=None (as the hardened app).
        return FlaskRequest(request_is_secure=True), FlaskCacheDataStorage(cache)

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Any:
        freq, storage = lti_request()
        params = request.args if request.method == "GET" else request.form
        target = params.get("target_link_uri")
        if not target:
            return Response("missing target_link_uri", status=400)
        try:
            oidc = FlaskOIDCLogin(freq, tool_conf, launch_data_storage=storage)
            return oidc.redirect(target)
        except OIDCException as exc:
            return Response(str(exc), status=400)

    @app.post("/lti/launch")
    def launch() -> Any:
        freq, storage = lti_request()
        try:
            message = FlaskMessageLaunch(freq, tool_conf, launch_data_storage=storage)
            message.set_public_key_caching(storage, cache_lifetime=MAX_TTL)
            data = message.get_launch_data()
        except LtiException as exc:
            return Response(str(exc), status=400)
        context = data.get("https://purl.imsglobal.org/spec/lti/claim/context") or {}
        return render_template_string(
            PAGE,
            title=context.get("title", "Plain tool"),
            name=data.get("name", ""),
            roles=data.get("https://purl.imsglobal.org/spec/lti/claim/roles", []),
        )

    @app.get("/health")
    def health() -> str:
        return "ok"

    return app
