"""What a newcomer reads in `make demo`: the terminal's instructions, the Developer Keys
placeholders with the tool's configured address, and a favicon on every sandbox page."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.demo import banner


def test_the_terminal_says_connect_then_sync() -> None:
    demo: Any = SimpleNamespace(
        sandbox_base="http://localhost:8100", course_name="ELA 7", instance=Path("instance")
    )
    text = banner(demo)
    assert "Connect to Canvas" in text and "Authorize" in text and "Sync now" in text
    assert text.index("Connect to Canvas") < text.index("Sync now")


def test_developer_keys_placeholders_show_the_tools_configured_port() -> None:
    config = SandboxConfig(base_url="http://localhost:8100")
    config.api_redirect_uri = "http://127.0.0.1:5123/canvas/oauth/callback"
    app = create_sandbox(config)
    ids = app.extensions["sandbox_ids"]
    client = app.test_client()
    client.post("/users/switch", data={"user_id": str(ids.admin), "next": "/"})
    page = client.get(f"/accounts/{ids.account}/developer_keys").get_data(as_text=True)
    assert 'placeholder="http://127.0.0.1:5123/lti/config.json"' in page
    assert 'placeholder="http://127.0.0.1:5123/lti/register"' in page
    assert "5000" not in page
    icon = client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in icon and "favicon.svg" in icon
