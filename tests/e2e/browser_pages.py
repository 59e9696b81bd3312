"""What the sandbox browser tests share: a synced sandbox stack per module, and a Chromium
page with its own profile under a cookie policy (Chromium's default, or no cookie at all for
the tool, as Safari in Canvas's frame)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    BLOCK_THIRD_PARTY,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    block_all_cookies_for,
)
from tests.e2e.core_loop_flows import WIDE, sync_course
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack

#: third-party cookies blocked (Chromium's default; partitioned ones kept), or none for the tool
COOKIE_MODES = ["third_party_blocked", "no_cookies"]


def synced_sandbox(
    tmp: pytest.TempPathFactory, name: str, database_url: str | None = None
) -> Iterator[SandboxStack]:
    """The demo stack with the ELA course synced into the tool (as the teacher's sync does);
    ``database_url``: the tool's database (None: the harness's own SQLite file)."""
    stack, stop = start_sandbox_stack(tmp.mktemp(name), database_url)
    try:
        sync_course(stack, stack.ids.ela_course)
        yield stack
    finally:
        stop()


def chromium_page(driver: Any, tmp: pytest.TempPathFactory, prefs: dict[str, Any]) -> Iterator[Any]:
    """A page in a fresh Chromium profile with these preferences; ``page.csp_errors`` collects
    the console's Content Security Policy errors."""
    user_data: Path = tmp.mktemp("core-loop-chromium")
    (user_data / "Default").mkdir()
    (user_data / "Default" / "Preferences").write_text(json.dumps(prefs))
    context = driver.chromium.launch_persistent_context(
        str(user_data),
        executable_path="/usr/bin/chromium",
        headless=True,
        args=CHROMIUM_ARGS,
        timeout=TIMEOUT_MS * 3,
        viewport=WIDE,
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Content Security Policy" in m.text
            else None
        ),
    )
    page.csp_errors = errors
    try:
        yield page
    finally:
        context.close()


def cookie_mode_page(
    mode: str, driver: Any, tmp: pytest.TempPathFactory, stack: SandboxStack
) -> Iterator[Any]:
    """:func:`chromium_page` under one of :data:`COOKIE_MODES`; ``page.no_cookies`` says
    which."""
    prefs = (
        BLOCK_THIRD_PARTY
        if mode == "third_party_blocked"
        else block_all_cookies_for(stack.tool_base)
    )
    for page in chromium_page(driver, tmp, prefs):
        page.no_cookies = mode == "no_cookies"
        yield page
