"""`make demo`: the tool and a local Canvas sandbox on two loopback ports, wired together.

1. `flask --app lti_app db upgrade` (the tool's SQLite database under instance/ persists);
2. the tool (`python -m lti_app.demo`) on http://127.0.0.1:<tool port>, its log in instance/;
3. the sandbox (seeded demo district) on http://localhost:<sandbox port>, in this process;
4. the tool installed in the sandbox from its developer key JSON URL (client_id and
   deployment_id come out the same on every start, so the tool's registration stays valid);
5. the sandbox registered in the tool with `flask platform add` and `platform set-api-key`
   (the API key secret travels in the environment, never on a command line);
6. one URL printed; Ctrl+C stops both.

Two origins on purpose: localhost and 127.0.0.1 are different sites, so the tool runs in a
third-party iframe exactly as it does inside a real Canvas.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.platform.install import install_from_config_url
from canvas_sandbox.platform.launch import Platform
from canvas_sandbox.platform.store import Deployment, DeveloperKey, deploy
from canvas_sandbox.state import SandboxState

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0  # seconds to wait for the tool to answer
CLI_TIMEOUT = 120.0  # seconds for one `flask ...` command (migrations on a slow disk)


class QuietHandler(WSGIRequestHandler):
    """The sandbox serves launches with hints and tokens in query strings: log nothing."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((HOST, port)) == 0


@dataclass(frozen=True)
class Installed:
    key: DeveloperKey
    deployment: Deployment


def install_tool(state: SandboxState, tool_base: str, account_id: int) -> Installed:
    """What an admin does on the Developer Keys page: install from the JSON URL, deploy."""
    key = install_from_config_url(state, tool_base + "/lti/config.json")
    return Installed(key, deploy(state, key, account_id))


def platform_add_args(platform: Platform, installed: Installed) -> list[str]:
    return [
        "platform",
        "add",
        "--issuer",
        platform.issuer,
        "--client-id",
        installed.key.client_id,
        "--deployment-id",
        installed.deployment.deployment_id,
        "--auth-url",
        platform.authorize_url,
        "--token-url",
        platform.token_url,
        "--jwks-url",
        platform.jwks_url,
        "--canvas-url",
        platform.base_url,
    ]


@dataclass
class Demo:
    sandbox_base: str
    tool_base: str
    instance: Path
    tool: subprocess.Popen[bytes]
    server: BaseWSGIServer
    thread: threading.Thread
    app: Flask
    log: TextIO
    course_name: str = "the ELA course"

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join(timeout=10)
        self.server.server_close()
        if self.tool.poll() is None:
            self.tool.terminate()
            try:
                self.tool.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.tool.kill()
                self.tool.wait(timeout=5)
        self.log.close()


def tool_env(instance: Path, tool_port: int, tool_base: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "development",
            "PORT": str(tool_port),
            "PUBLIC_BASE_URL": tool_base,
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'demo.sqlite3'}",
            "MP_DEMO_WITH_SANDBOX": "1",
            "MP_DEMO_PARENT_PID": str(os.getpid()),  # the tool exits if this process dies
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def flask_cli_start(env: dict[str, str], *args: str, log: TextIO) -> subprocess.Popen[bytes]:
    """`flask --app lti_app ...` in a subprocess (secrets only ever in env), output to the log."""
    command = [sys.executable, "-m", "flask", "--app", "lti_app", *args]
    return subprocess.Popen(  # noqa: S603 - fixed command, our own interpreter
        command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )


def flask_cli_wait(process: subprocess.Popen[bytes], what: str, log: TextIO) -> None:
    try:
        code = process.wait(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        raise
    if code != 0:
        raise RuntimeError(f"`flask --app lti_app {what}` failed; see {log.name}")


def flask_cli(env: dict[str, str], *args: str, log: TextIO) -> None:
    log.flush()
    flask_cli_wait(flask_cli_start(env, *args, log=log), " ".join(args[:2]), log)


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the tool exited during start-up")
        try:
            if requests.get(url, timeout=(1, 2)).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the tool did not answer at {url} within {timeout:.0f} s")


def start(sandbox_port: int, tool_port: int, instance: Path) -> Demo:
    for port in (sandbox_port, tool_port):
        if port and port_in_use(port):
            raise RuntimeError(
                f"port {port} is in use; choose others with --sandbox-port / --tool-port"
            )
    sandbox_port = sandbox_port or free_port()
    tool_port = tool_port or free_port()
    sandbox_base = f"http://localhost:{sandbox_port}"
    tool_base = f"http://{HOST}:{tool_port}"
    instance.mkdir(parents=True, exist_ok=True)
    log = (instance / "demo-tool.log").open("a", encoding="utf-8")
    env = tool_env(instance, tool_port, tool_base)

    # The migration runs while the sandbox seeds its district (both take a second or two).
    upgrade = flask_cli_start(env, "db", "upgrade", log=log)
    config = SandboxConfig.from_env()
    config.base_url = sandbox_base
    config.api_redirect_uri = tool_base + "/canvas/oauth/callback"
    app = create_sandbox(config)
    state: SandboxState = app.extensions["sandbox_state"]
    ids: Any = app.extensions["sandbox_ids"]
    flask_cli_wait(upgrade, "db upgrade", log)
    server = make_server(HOST, sandbox_port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="sandbox", daemon=True)
    thread.start()
    tool = subprocess.Popen(
        [sys.executable, "-m", "lti_app.demo"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_ready(tool_base + "/lti/config.json", tool, READY_TIMEOUT)
        installed = install_tool(state, tool_base, ids.account)
        # The sandbox's issuer is its origin (canvas_sandbox.platform.context.issuer).
        me = Platform(base_url=sandbox_base, issuer=sandbox_base, secret="")
        flask_cli(env, *platform_add_args(me, installed), log=log)
        flask_cli(
            {**env, "CANVAS_API_CLIENT_SECRET": ids.api_client_secret},
            "platform",
            "set-api-key",
            "--issuer",
            me.issuer,
            "--client-id",
            installed.key.client_id,
            "--api-client-id",
            ids.api_client_id,
            log=log,
        )
    except BaseException:
        server.shutdown()
        server.server_close()
        tool.terminate()
        tool.wait(timeout=10)
        log.close()
        raise
    course = state.courses.get(ids.ela_course)
    return Demo(
        sandbox_base,
        tool_base,
        instance,
        tool,
        server,
        thread,
        app,
        log,
        course_name=course.name if course else "the ELA course",
    )


def banner(demo: Demo) -> str:
    return (
        "\nThe Canvas sandbox and Mastery Pathways are running.\n\n"
        f"    Open {demo.sandbox_base}/\n\n"
        f"Pick a teacher, open {demo.course_name}, then the Mastery Pathways tab.\n"
        "The tool's first page says what to do next: Connect to Canvas (Canvas's permission\n"
        "page opens in a new window: choose Authorize), then Sync now to bring in the course's\n"
        "targets, students and results. Then switch to a student and open the same tab.\n"
        "The admin's Developer Keys page shows the installation.\n"
        f"Tool log: {demo.instance / 'demo-tool.log'}. Stop both with Ctrl+C.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8100"))
    )
    parser.add_argument("--tool-port", type=int, default=int(os.environ.get("TOOL_PORT", "5000")))
    parser.add_argument("--instance", type=Path, default=PROJECT_ROOT / "instance")
    args = parser.parse_args(argv)

    stopping = threading.Event()
    previous: dict[int, Callable[..., Any] | int | None] = {}

    def _stop(signum: int, frame: object) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, _stop)
    try:
        demo = start(args.sandbox_port, args.tool_port, args.instance)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 1
    print(banner(demo), flush=True)
    try:
        while not stopping.is_set() and demo.tool.poll() is None:
            stopping.wait(0.5)
    finally:
        print("Stopping…", flush=True)
        demo.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if not stopping.is_set():
        print("The tool stopped on its own; see the tool log.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
