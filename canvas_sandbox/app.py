"""The sandbox's Flask factory: REST API, OAuth2 token endpoint, knobs, and S2's platform side.

``create_sandbox()`` with no state seeds the demo district (``app.extensions["sandbox_ids"]``
holds its ``DemoIds``); pass a ``SandboxState`` to serve your own data. Every ``/api/v1``
request goes through the gate Canvas puts in front of its API: the throttle (a leaky bucket per
token, docs/canvas.md §4.7, whose up-front reservation is held while the request works), injected
latency and faults (knobs), then the bearer token and its scopes (docs/canvas.md §4.8, §4.9).

Run it: ``python -m canvas_sandbox serve --port 8100`` (``--base-url`` when reached through
another name). Get a token: ``canvas_sandbox.tokens.mint_token(state, user_id)`` in-process, or
the OAuth2 code flow with the seeded API key (``DemoIds.api_client_id``/``api_client_secret``).
Knobs (``SandboxConfig``; env ``SANDBOX_<NAME>``; ``GET/POST /_sandbox/knobs`` at runtime):
``latency_ms``, ``error_rate``, ``timeout_rate``/``timeout_sleep_s``/``timeout_mode``,
``fault_seed``, ``throttle_enabled``, ``bucket_high_water``, ``bucket_outflow``,
``upfront_cost``, ``request_cost``, ``row_cost``, ``throttle_status`` (403|429),
``result_delay_ms``, ``token_ttl_s``. Also ``POST /_sandbox/reset`` (re-seed in place),
``GET /_sandbox/stats`` and ``POST /_sandbox/stats/reset``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request

from canvas_sandbox import scopes, serializers, tokens
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.errors import ApiError, ValidationFailed, validation_body
from canvas_sandbox.seed import DemoIds, demo_district
from canvas_sandbox.state import SandboxState
from canvas_sandbox.throttle import THROTTLED_BODY, Throttle

WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'


class Stats:
    """Request counts by endpoint, for benchmarks and fault tests (``GET /_sandbox/stats``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.by_endpoint: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.throttled = 0
            self.injected_errors = 0
            self.injected_timeouts = 0
            self.total = 0

    def hit(self, endpoint: str) -> None:
        with self._lock:
            self.total += 1
            self.by_endpoint[endpoint] += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.by_status[code] += 1

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_endpoint": dict(self.by_endpoint),
                "by_status": {str(k): v for k, v in self.by_status.items()},
                "throttled": self.throttled,
                "injected_errors": self.injected_errors,
                "injected_timeouts": self.injected_timeouts,
            }


class Runtime:
    """What a running sandbox keeps besides its state: knobs, throttle, stats, fault dice."""

    def __init__(self, app: Flask, config: SandboxConfig, state: SandboxState) -> None:
        self.app = app
        self.config = config
        self.state = state
        self.throttle = Throttle(config)
        self.stats = Stats()
        self.ids: DemoIds | None = None
        # Called after every reset with the fresh state (S2 re-installs its platform data).
        self.on_reset: list[Callable[[SandboxState], None]] = []
        self._dice_lock = threading.Lock()
        self._dice = random.Random(config.fault_seed)  # noqa: S311 - test faults
        self.state.result_delay_ms = config.result_delay_ms
        # Knobs may be changed on the config object directly (tests); the gate re-applies.
        self._applied = (config.result_delay_ms, config.fault_seed)

    def apply_config(self) -> None:
        """Push knobs that live elsewhere (state, dice); idempotent, cheap, run per request."""
        if self.config.result_delay_ms != self._applied[0]:
            self.state.result_delay_ms = self.config.result_delay_ms
        if self.config.fault_seed != self._applied[1]:
            with self._dice_lock:
                self._dice = random.Random(self.config.fault_seed)  # noqa: S311 - test faults
        self._applied = (self.config.result_delay_ms, self.config.fault_seed)

    def force_apply(self) -> None:
        """After ``POST /_sandbox/knobs``: re-seed the dice even if the seed is unchanged."""
        self._applied = (-1, -1)
        self.apply_config()

    def roll(self) -> float:
        with self._dice_lock:
            return self._dice.random()

    def seed(self) -> DemoIds:
        self.ids = demo_district(
            self.state, seed=self.config.seed, api_redirect_uri=self.config.api_redirect_uri
        )
        self.app.extensions["sandbox_ids"] = self.ids
        return self.ids

    def reset(self) -> dict[str, Any]:
        """Re-seed in place (same state object). ``tables`` (other modules' data) survive."""
        st = self.state
        with st.lock:
            fresh = SandboxState()
            keep = {"lock", "clock", "tables", "result_delay_ms"}
            for f in dataclasses.fields(SandboxState):
                if f.name not in keep:
                    setattr(st, f.name, getattr(fresh, f.name))
            ids = self.seed()
        self.throttle.reset()
        for hook in self.on_reset:
            hook(st)
        return dataclasses.asdict(ids)


def create_sandbox(config: SandboxConfig | None = None, state: SandboxState | None = None) -> Flask:
    """Build the sandbox app; without ``state`` the demo district is seeded."""
    config = config or SandboxConfig.from_env()
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    seeded = state is None
    state = state or SandboxState()
    runtime = Runtime(app, config, state)
    app.extensions["sandbox_state"] = state
    app.extensions["sandbox_config"] = config
    app.extensions["sandbox_runtime"] = runtime
    app.extensions["sandbox_ids"] = None
    if seeded:
        runtime.seed()

    from canvas_sandbox.api import (
        accounts_api,
        features_api,
        grading_periods_api,
        oauth,
        outcomes_api,
        results_api,
        roster_api,
        rubrics_api,
        sandbox_admin,
    )

    for module in (
        outcomes_api,
        results_api,
        rubrics_api,
        roster_api,
        features_api,
        accounts_api,
        grading_periods_api,
    ):
        app.register_blueprint(module.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(sandbox_admin.bp)
    _install_gate(app, runtime)

    if importlib.util.find_spec("canvas_sandbox.platform") is not None:
        platform = importlib.import_module("canvas_sandbox.platform")
        register = getattr(platform, "register", None)
        if callable(register):
            register(app)
    return app


def _install_gate(app: Flask, runtime: Runtime) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        resp = Response(serializers_dumps(err.body), status=err.status, mimetype="application/json")
        for k, v in err.headers.items():
            resp.headers[k] = v
        return resp

    @app.errorhandler(ValidationFailed)
    def validation_failed(err: ValidationFailed) -> Response:
        return Response(serializers_dumps(validation_body(err)), 400, mimetype="application/json")

    @app.before_request
    def gate() -> Response | None:
        if not request.path.startswith("/api/v1/"):
            return None
        cfg = runtime.config
        runtime.apply_config()
        rule = request.url_rule.rule if request.url_rule is not None else "<unrouted>"
        runtime.stats.hit(f"{request.method} {rule}")
        token = _bearer()
        # The throttle is the outermost layer: the reservation is held while the request "works"
        # (the latency knob), which is what penalises parallel fan-out (docs/canvas.md §4.7).
        key = tokens.token_hash(token) if token else f"anon:{request.remote_addr}"
        if cfg.throttle_enabled:
            if not runtime.throttle.start(key):
                runtime.stats.bump("throttled")
                resp = Response(
                    THROTTLED_BODY, cfg.throttle_status, content_type="text/plain; charset=utf-8"
                )
                resp.headers["X-Rate-Limit-Remaining"] = "0.0"
                return resp
            g.sandbox_bucket = key
        if cfg.latency_ms > 0:
            time.sleep(cfg.latency_ms / 1000)
        if cfg.timeout_rate > 0 and runtime.roll() < cfg.timeout_rate:
            runtime.stats.bump("injected_timeouts")
            time.sleep(cfg.timeout_sleep_s)
            if cfg.timeout_mode == "504":
                return Response("504 Gateway Timeout\n", 504, mimetype="text/plain")
        if cfg.error_rate > 0 and runtime.roll() < cfg.error_rate:
            runtime.stats.bump("injected_errors")
            body = {
                "errors": [
                    {"message": "An error occurred.", "error_code": "internal_server_error"}
                ],
                "error_report_id": runtime.stats.injected_errors,
            }
            return Response(serializers_dumps(body), 500, mimetype="application/json")
        if not token:
            return _auth_failure(
                {
                    "status": "unauthenticated",
                    "errors": [{"message": "user authorization required"}],
                }
            )
        checked = tokens.check(runtime.state, token)
        if checked.token is None:
            assert checked.failure is not None
            return _auth_failure(
                serializers.invalid_token_json(checked.failure, checked.expired_at)
            )
        if checked.token.scopes:
            needed = scopes.scope_for(request.endpoint, request.view_args)
            if needed is None or needed not in checked.token.scopes:
                body = {"errors": [{"message": "Insufficient scopes on access token."}]}
                return Response(serializers_dumps(body), 401, mimetype="application/json")
            dev_key = runtime.state.api_keys.get(checked.token.developer_key_id or -1)
            g.sandbox_drop_includes = dev_key is None or not dev_key.allow_includes
        g.sandbox_user_id = checked.token.user_id
        g.sandbox_token = checked.token
        # Handlers run one at a time: the state is plain dicts (latency and throttling above
        # still overlap across threads).
        runtime.state.lock.acquire()
        g.sandbox_locked = True
        return None

    @app.teardown_request
    def unlock(_exc: BaseException | None) -> None:
        if g.pop("sandbox_locked", False):
            runtime.state.lock.release()

    @app.after_request
    def finish(resp: Response) -> Response:
        if request.path.startswith("/api/v1/"):
            runtime.stats.status(resp.status_code)
            if (
                "application/json+canvas-string-ids" in request.headers.get("Accept", "")
                and resp.mimetype == "application/json"
            ):
                resp.set_data(json.dumps(_stringify_ids(json.loads(resp.get_data()))))
        key = g.pop("sandbox_bucket", None)
        if key is not None:
            cost, remaining = runtime.throttle.finish(key, int(g.get("sandbox_rows", 0)))
            resp.headers["X-Request-Cost"] = f"{cost:.4f}".rstrip("0").rstrip(".") or "0"
            resp.headers["X-Rate-Limit-Remaining"] = repr(round(remaining, 4))
        return resp


def _stringify_ids(value: Any, key: str = "") -> Any:
    """``Accept: application/json+canvas-string-ids``: every id as a string
    (docs/canvas.md §1.4)."""
    is_id = key == "id" or key.endswith("_id")
    if isinstance(value, dict):
        return {k: _stringify_ids(v, k) for k, v in value.items()}
    if isinstance(value, list):
        list_of_ids = key.endswith("_ids")
        return [str(v) if list_of_ids and isinstance(v, int) else _stringify_ids(v) for v in value]
    if is_id and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _auth_failure(body: dict[str, Any]) -> Response:
    resp = Response(serializers_dumps(body), 401, mimetype="application/json")
    resp.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return resp


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.args.get("access_token") or None


def serializers_dumps(body: Any) -> str:
    return json.dumps(body)
