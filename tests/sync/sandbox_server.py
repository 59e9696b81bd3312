"""The Canvas sandbox served over loopback HTTP in a thread, for sync integration tests and
the benchmark (werkzeug's threaded server; one per test)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server


@dataclass
class RunningSandbox:
    url: str
    app: Any  # the sandbox Flask app
    state: Any  # canvas_sandbox.state.SandboxState
    config: Any  # canvas_sandbox.config.SandboxConfig
    ids: Any  # canvas_sandbox.seed.DemoIds | None

    @property
    def runtime(self) -> Any:
        return self.app.extensions["sandbox_runtime"]

    def knobs(self, **changes: Any) -> None:
        unknown = self.config.update(changes)
        assert not unknown, unknown
        self.runtime.apply_config()

    def stats(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = self.runtime.stats.snapshot()
        return snapshot

    def token(self, user_id: int) -> str:
        from canvas_sandbox.tokens import mint_token

        token: str = mint_token(self.state, user_id)
        return token


@contextmanager
def running_sandbox(
    config: Any = None, state: Any = None, prepare: Callable[[Any], None] | None = None
) -> Iterator[RunningSandbox]:
    """`prepare(app)` may add request hooks before the first request is served."""
    from canvas_sandbox.app import create_sandbox
    from canvas_sandbox.config import SandboxConfig

    config = config or SandboxConfig()
    app = create_sandbox(config, state)
    if prepare is not None:
        prepare(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Pagination links are absolute: they must name the port actually bound.
    config.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    try:
        yield RunningSandbox(
            url=config.base_url,
            app=app,
            state=app.extensions["sandbox_state"],
            config=config,
            ids=app.extensions.get("sandbox_ids"),
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
