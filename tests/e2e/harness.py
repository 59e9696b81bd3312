"""Loopback servers for the browser tests: the tool (the real app) and the fake Canvas.

Both run on werkzeug's threaded server in daemon threads, on ports the OS picks. The tool
is at http://127.0.0.1:<p1> and Canvas at http://localhost:<p2>: different sites, so the
tool's iframe is genuinely third-party in the browser.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, make_server

from lti_app import create_app
from lti_app.db import Base
from tests.e2e.fake_canvas import FakeCanvas

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LateApp:
    """A WSGI app filled in after the server is bound (the app needs the port first)."""

    def __init__(self) -> None:
        self.app: WSGIApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "server started before its app was set"
        return self.app(environ, start_response)


class ServerThread:
    def __init__(self, host: str) -> None:
        self.late = LateApp()
        self.server: BaseWSGIServer = make_server(host, 0, self.late, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self, app: WSGIApp) -> None:
        self.late.app = app
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=10)
        self.server.server_close()


@dataclass
class Seen:
    """One request the tool answered, as the server saw it."""

    method: str
    path: str
    cookies: dict[str, str]
    origin: str | None
    sec_fetch_site: str | None
    form: dict[str, str]
    status: int
    set_cookies: list[str]


@dataclass
class ToolRecorder:
    requests: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, app: Flask) -> None:
        @app.after_request
        def _record(response: Response) -> Response:
            form = {}
            if request.method == "POST":
                form = {k: request.form[k] for k in request.form if k != "id_token"}
                form["has_id_token"] = "1" if request.form.get("id_token") else ""
            seen = Seen(
                method=request.method,
                path=request.path,
                cookies=dict(request.cookies),
                origin=request.headers.get("Origin"),
                sec_fetch_site=request.headers.get("Sec-Fetch-Site"),
                form=form,
                status=response.status_code,
                set_cookies=response.headers.getlist("Set-Cookie"),
            )
            with self._lock:
                self.requests.append(seen)
            return response

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def launches(self) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/lti/launch"]

    def all(self) -> list[Seen]:
        with self._lock:
            return list(self.requests)


@dataclass
class Stack:
    tool_base: str
    canvas: FakeCanvas
    tool_app: Flask
    recorder: ToolRecorder

    @property
    def canvas_origin(self) -> str:
        return self.canvas.base


def start_stack(tmp: Path) -> tuple[Stack, Callable[[], None]]:
    """Start the tool and the fake Canvas; returns the stack and a stop function."""
    tool_server = ServerThread("127.0.0.1")
    canvas_server = ServerThread("127.0.0.1")
    tool_base = f"http://127.0.0.1:{tool_server.port}"
    canvas = FakeCanvas(
        base=f"http://localhost:{canvas_server.port}",
        elsewhere_base=f"http://127.0.0.1:{canvas_server.port}",
        tool_base=tool_base,
    )
    app = create_app(
        {
            "app_env": "testing",
            "database_url": f"sqlite:///{tmp / 'e2e.sqlite3'}",
            "public_base_url": tool_base,
            "secret_key": "e2e-secret-key-" + "x" * 32,
            "instance_path": str(tmp / "instance"),
        }
    )
    Base.metadata.create_all(app.extensions["db_engine"])
    result = app.test_cli_runner().invoke(args=canvas.platform.cli_args())
    assert result.exit_code == 0, result.output
    recorder = ToolRecorder()
    recorder.install(app)
    tool_server.start(app)
    canvas_server.start(canvas.app())

    def stop() -> None:
        tool_server.stop()
        canvas_server.stop()
        app.extensions["db_engine"].dispose()

    return Stack(tool_base, canvas, app, recorder), stop
