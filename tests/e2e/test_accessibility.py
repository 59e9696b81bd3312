"""axe-core on the tool's pages as Chromium renders them, and the 320 px layout."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.flows import STORAGE_FAILED_TEXT, assert_landed_as_teacher, open_course
from tests.e2e.harness import Stack

# Every Playwright wait is bounded (10 s); this bounds what is not (frame.evaluate).
pytestmark = pytest.mark.timeout(60)

BLOCKING_IMPACTS = {"serious", "critical"}


def blocking_violations(target: Any) -> list[str]:
    """Run axe-core in a page or frame; the serious and critical violations, readable."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(target).response
    assert results["testEngine"]["name"] == "axe-core"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + ", ".join(str(n["target"]) for n in v["nodes"])
        for v in results["violations"]
        if v.get("impact") in BLOCKING_IMPACTS
    ]


def horizontal_overflow(frame: Any) -> dict[str, int]:
    dims: dict[str, int] = frame.evaluate(
        "({inner: window.innerWidth,"
        " scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    return dims


def test_axe_would_catch_a_serious_violation(chromium_profiles: Any) -> None:
    """Guard: the axe run below can fail (an image without alt text is critical)."""
    page = chromium_profiles("cookies_allowed").new_page()
    try:
        page.set_content('<!doctype html><html lang="en"><title>t</title><img src="x.png">')
        assert any(v.startswith("image-alt") for v in blocking_violations(page))
    finally:
        page.close()


def test_landing_page_has_no_serious_axe_violations(chromium_profiles: Any, stack: Stack) -> None:
    visit = open_course(chromium_profiles("cookies_allowed"), stack)
    try:
        assert_landed_as_teacher(visit)
        assert blocking_violations(visit.tool_frame) == []
    finally:
        visit.close()


def test_launch_error_page_has_no_serious_axe_violations(
    chromium_profiles: Any, stack: Stack
) -> None:
    page = chromium_profiles("cookies_allowed").new_page()
    try:
        response = page.goto(stack.tool_base + "/lti/launch")  # GET: refused with a page
        assert response is not None and response.status == 405
        assert "could not open" in page.locator("h1").inner_text()
        assert blocking_violations(page) == []
    finally:
        page.close()


def test_storage_failure_page_has_no_serious_axe_violations(
    chromium_profiles: Any, stack: Stack
) -> None:
    visit = open_course(chromium_profiles("tool_cookies_blocked"), stack, storage="silent")
    try:
        assert visit.wait_for_outcome() == "storage_failed"
        assert STORAGE_FAILED_TEXT in visit.frame_text()
        assert blocking_violations(visit.tool_frame) == []
    finally:
        visit.close()


@pytest.mark.parametrize("page_kind", ["landing", "error"])
def test_pages_fit_a_320px_wide_frame(chromium_profiles: Any, stack: Stack, page_kind: str) -> None:
    context = chromium_profiles("cookies_allowed")
    if page_kind == "landing":
        visit = open_course(context, stack, width=320)
        try:
            assert_landed_as_teacher(visit)
            dims = horizontal_overflow(visit.tool_frame)
        finally:
            visit.close()
    else:
        page = context.new_page()
        try:
            page.set_viewport_size({"width": 320, "height": 720})
            page.goto(stack.tool_base + "/lti/launch")
            dims = horizontal_overflow(page)
        finally:
            page.close()
    assert dims["inner"] == 320, dims  # the tool really got a 320 px wide viewport
    assert dims["scroll"] <= dims["client"], f"horizontal scroll at 320 px: {dims}"
