"""Fixtures for the real-browser tests: the two loopback servers and Chromium profiles.

Chromium is Debian's (/usr/bin/chromium, installed by `make browser`); Playwright cannot
download browsers here. Without it, or without the playwright package, every test in this
folder is skipped with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import CHROMIUM, private_postgres_schema
from tests.e2e.harness import Stack, start_stack

__all__ = ["CHROMIUM"]

# The Playwright driver (one per test session: Playwright's sync API cannot run twice in a
# process) is the `playwright_driver` fixture of tests/conftest.py.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No site-per-process. With it, Playwright (1.65, driving Debian's Chromium 156) now
    # and then loses track of the tool frame as it swaps processes on its way
    # 127.0.0.1 -> localhost -> 127.0.0.1 and waits on a stale frame. Cookies, their
    # partitioning, postMessage origins and CSP are enforced the same in either process
    # model. (Not --disable-features: a second one would replace Playwright's own list.)
    "--disable-site-isolation-trials",
]
TIMEOUT_MS = 10_000  # every Playwright wait is bounded by this

# Chromium profile preferences. cookie_controls_mode: 0 allows third-party cookies,
# 1 blocks them (Chromium's own default here). Partitioned (CHIPS) cookies survive mode 1;
# a "block" exception for the tool's origin refuses it every cookie, as Safari does in a
# third-party frame, which is what forces the Platform Storage path.
ALLOW_THIRD_PARTY = {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}
BLOCK_THIRD_PARTY = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}


def block_all_cookies_for(origin: str) -> dict[str, Any]:
    return {
        "profile": {
            **BLOCK_THIRD_PARTY["profile"],
            "content_settings": {"exceptions": {"cookies": {f"{origin},*": {"setting": 2}}}},
        }
    }


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack, stop = start_stack(tmp_path_factory.mktemp("e2e"))
    try:
        yield stack
    finally:
        stop()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def stack_database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """For a module's sandbox stack: SQLite (None: the harness's own file), then PostgreSQL (a
    private schema of `test`; skipped with the reason when PostgreSQL is not reachable)."""
    if request.param == "sqlite":
        yield None
    else:
        with private_postgres_schema() as url:
            yield url


Profiles = Callable[[str], Any]


@pytest.fixture(scope="session")
def chromium_profiles(
    playwright_driver: Any, e2e_stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Profiles]:
    """`chromium_profiles(name)`: a persistent Chromium context, launched on first use.

    Names: "cookies_allowed", "third_party_blocked" (Chromium's default: unpartitioned
    third-party cookies refused), "tool_cookies_blocked" (no cookie at all for the tool).
    """
    prefs = {
        "cookies_allowed": ALLOW_THIRD_PARTY,
        "third_party_blocked": BLOCK_THIRD_PARTY,
        "tool_cookies_blocked": block_all_cookies_for(e2e_stack.tool_base),
    }
    opened: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in opened:
            user_data = tmp_path_factory.mktemp(f"chromium-{name}")
            (user_data / "Default").mkdir()
            (user_data / "Default" / "Preferences").write_text(json.dumps(prefs[name]))
            context = playwright_driver.chromium.launch_persistent_context(
                str(user_data),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=TIMEOUT_MS * 3,
            )
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            opened[name] = context
        context = opened[name]
        context.clear_cookies()
        return context

    try:
        yield get
    finally:
        for context in opened.values():
            context.close()


@pytest.fixture
def stack(e2e_stack: Stack) -> Stack:
    """The session's servers, with what they recorded so far forgotten."""
    e2e_stack.recorder.clear()
    e2e_stack.canvas.reset()
    return e2e_stack
