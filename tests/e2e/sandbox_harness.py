"""The real tool and the Canvas sandbox on two loopback ports, wired as `make demo` wires them.

The tool is the real app (`create_app`, testing settings, a temporary SQLite database or the
given one) at
http://127.0.0.1:<p1>; the sandbox (`create_sandbox`, the seeded demo district) at
http://localhost:<p2>. The sandbox installs the tool from its developer key JSON URL over
loopback, and the tool gets the platform with `flask platform add`, as in the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.demo import Installed, install_tool, platform_add_args
from canvas_sandbox.platform.launch import Platform
from canvas_sandbox.state import SandboxState
from lti_app import create_app
from lti_app.db import Base
from tests.e2e.harness import ServerThread, ToolRecorder


@dataclass
class SandboxStack:
    tool_base: str
    sandbox_base: str
    tool_app: Flask
    sandbox_app: Flask
    recorder: ToolRecorder
    installed: Installed

    @property
    def state(self) -> SandboxState:
        state: SandboxState = self.sandbox_app.extensions["sandbox_state"]
        return state

    @property
    def ids(self) -> Any:
        return self.sandbox_app.extensions["sandbox_ids"]

    def tool_url(self, course_id: int) -> str:
        return f"{self.sandbox_base}/courses/{course_id}/external_tools/{self.installed.key.id}"


def start_sandbox_stack(
    tmp: Path, database_url: str | None = None
) -> tuple[SandboxStack, Callable[[], None]]:
    tool_server = ServerThread("127.0.0.1")
    sandbox_server = ServerThread("127.0.0.1")
    tool_base = f"http://127.0.0.1:{tool_server.port}"
    sandbox_base = f"http://localhost:{sandbox_server.port}"
    tool_app = create_app(
        {
            "app_env": "testing",
            "database_url": database_url or f"sqlite:///{tmp / 'sandbox-e2e.sqlite3'}",
            "public_base_url": tool_base,
            "secret_key": "sandbox-e2e-secret-key-" + "x" * 32,
            "instance_path": str(tmp / "instance"),
        }
    )
    Base.metadata.create_all(tool_app.extensions["db_engine"])
    recorder = ToolRecorder()
    recorder.install(tool_app)
    tool_server.start(tool_app)

    config = SandboxConfig(base_url=sandbox_base)
    config.api_redirect_uri = tool_base + "/canvas/oauth/callback"
    sandbox_app = create_sandbox(config)
    sandbox_server.start(sandbox_app)
    state: SandboxState = sandbox_app.extensions["sandbox_state"]
    installed = install_tool(state, tool_base, sandbox_app.extensions["sandbox_ids"].account)
    platform = Platform(base_url=sandbox_base, issuer=sandbox_base, secret="")
    result = tool_app.test_cli_runner().invoke(args=platform_add_args(platform, installed))
    assert result.exit_code == 0, result.output

    def stop() -> None:
        tool_server.stop()
        sandbox_server.stop()
        tool_app.extensions["db_engine"].dispose()

    stack = SandboxStack(tool_base, sandbox_base, tool_app, sandbox_app, recorder, installed)
    return stack, stop
