"""Helpers for the whole-loop browser test: sync the sandbox course into the tool, act in the
tool's frame as a person would, and check each page (axe-core, 375 px, screenshots).

Screenshots go to ``test-artifacts/screenshots/`` at the repository root (git-ignored), the
same folder whatever ``--basetemp`` is, so a reviewer finds them after any run.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from canvas_sandbox.tokens import mint_token
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_accessibility import blocking_violations, horizontal_overflow
from tests.e2e.test_sandbox_launch import open_tool_tab

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 375, "height": 812}
SMALLEST = {"width": 320, "height": 640}  # a small phone: no sideways scrolling either


def wait_in_frame(frame: Any, script: str, arg: Any = None, timeout: float = 10.0) -> None:
    """Poll ``script`` (a JS function of ``arg``) in the frame until it is truthy, bounded.

    Not Playwright's wait_for_function: while it polls, it compiles the predicate with eval,
    which the tool's CSP (script-src 'self') refuses; evaluate() is not subject to the page's
    CSP."""
    deadline = time.monotonic() + timeout
    while not frame.evaluate(script, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.05)


def sync_course(stack: SandboxStack, course_id: int) -> str:
    """The teacher's sync, run as the CLI runs it against the sandbox (a teacher's API token)."""
    token = mint_token(stack.state, stack.ids.teacher)
    result = stack.tool_app.test_cli_runner().invoke(
        args=[
            "canvas",
            "sync",
            "--canvas-url",
            stack.sandbox_base,
            "--token",
            token,
            "--course-id",
            str(course_id),
        ]
    )
    assert result.exit_code == 0, result.output
    assert token not in result.output
    output: str = result.output
    return output


def tool_frame(page: Any) -> Any:
    frame = page.frame(name="tool_content")
    assert frame is not None, "the course page has no tool frame"
    return frame


def session_base(frame: Any) -> str:
    """``/s/<handle>`` of the launch shown in the frame (from its sign-out form)."""
    html: str = frame.content()
    found = re.search(r'action="(/s/[A-Za-z0-9_-]+)/sign-out"', html)
    assert found, html[:500]
    return found.group(1)


def open_in_frame(page: Any, url: str) -> Any:
    """Navigate the tool's frame (the session cookie is the frame's own, as after a click)."""
    frame = tool_frame(page)
    frame.goto(url)
    frame.locator("h1").first.wait_for(state="visible")
    return frame


def open_student_target(page: Any, stack: SandboxStack, course_id: int, oid: str) -> Any:
    """Course tab (the student lands on "My learning targets") -> the target, by clicking."""
    frame = open_tool_tab(page, stack, course_id)
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    card = frame.locator(f'article:has(a[href$="/me/targets/{oid}"])')
    card.locator(f'h3 a[href$="/me/targets/{oid}"]').click()
    frame.get_by_role("heading", name="Show what I know").wait_for()
    return frame


def check_page(page: Any, name: str, *, show: Any = None) -> None:
    """axe-core on the tool's frame (no serious or critical violation), then screenshots of the
    Canvas page with the tool at 1280 and 375 px; at 375 and 320 px the tool's page must not
    scroll sideways. ``show``: a locator in the frame to scroll into view for the pictures."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    frame = tool_frame(page)
    assert blocking_violations(frame) == [], name
    if show is not None:
        show.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{name}-1280.png"))
    page.set_viewport_size(NARROW)
    try:
        # the frame has taken the narrow size before anything is measured
        wait_in_frame(frame, "w => window.innerWidth <= w", NARROW["width"])
        dims = horizontal_overflow(frame)
        assert dims["scroll"] <= dims["client"], (name, dims)
        if show is not None:
            show.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{name}-375.png"))
        page.set_viewport_size(SMALLEST)
        wait_in_frame(frame, "w => window.innerWidth <= w", SMALLEST["width"])
        dims = horizontal_overflow(frame)
        assert dims["scroll"] <= dims["client"], (name, "320 px", dims)
    finally:
        page.set_viewport_size(WIDE)
