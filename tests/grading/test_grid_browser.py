"""The grid and drill-down in real Chromium: keyboard navigation, 320 px, axe-core, CSP.

The tool runs on a loopback port (werkzeug, as in tests/e2e); the page is opened top-level
with the teacher session's secret in the X-Launch-Token header (the session itself comes
from launch_session.create, the launch is tested elsewhere). Skipped, with the reason, when
Chromium or Playwright is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.lti import launch_session
from lti_app.models.canvas import CanvasCourse, CourseRollup
from lti_app.models.tenancy import Deployment
from tests.conftest import make_app
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.e2e.harness import ServerThread
from tests.e2e.test_accessibility import blocking_violations
from tests.grading.seed import seed_course
from tests.lti_platform import INSTRUCTOR, FakePlatform

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def chromium(playwright_driver: Any) -> Iterator[Any]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """(tool base URL, session handle, secret) of a teacher of the seeded course."""
    tmp: Path = tmp_path_factory.mktemp("grid-browser")
    server = ServerThread("127.0.0.1")
    base = f"http://127.0.0.1:{server.port}"
    app: Flask = make_app(f"sqlite:///{tmp / 'grid.sqlite3'}", tmp, public_base_url=base)
    platform = FakePlatform()
    result = app.test_cli_runner().invoke(args=platform.cli_args())
    assert result.exit_code == 0, result.output
    seed_course(app, platform)
    with app.app_context(), session_scope(app) as db:
        # Canvas's own score for Ava on RL.7.2 differs from the tool's 2.65: "Canvas shows 3".
        course = db.scalars(select(CanvasCourse)).one()
        db.add(
            CourseRollup(
                course_pk=course.id,
                rollup_key="812:97",
                canvas_user_id="812",
                canvas_outcome_id="97",
                score=3.0,
                count=2,
            )
        )
    with app.app_context(), session_scope(app) as db:
        deployment = db.scalars(select(Deployment)).one()
        new = launch_session.create(
            db, deployment, platform.claims("n-0", roles=[INSTRUCTOR]), ttl=3600
        )
        handle, secret = new.session.id, new.secret
    server.start(app)
    try:
        yield base, handle, secret
    finally:
        server.stop()
        app.extensions["db_engine"].dispose()


@pytest.fixture
def page(chromium: Any, served: tuple[str, str, str]) -> Iterator[Any]:
    _, _, secret = served
    context = chromium.new_context(extra_http_headers={"X-Launch-Token": secret})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []  # CSP refusals and script errors (not the missing favicon)
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and ("Refused" in m.text or "Content Security Policy" in m.text)
            else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    try:
        yield page
    finally:
        context.close()


def active_href(page: Any) -> str:
    href: str = page.evaluate("document.activeElement.getAttribute('href') || ''")
    return href


def test_arrow_keys_move_between_cells_and_enter_opens_the_drilldown(
    page: Any, served: tuple[str, str, str]
) -> None:
    base, handle, _ = served
    page.goto(f"{base}/s/{handle}/grid")
    # one tab stop for the whole table
    assert page.locator("#grid td > a[tabindex='0']").count() == 1
    page.locator("#grid tbody td > a").first.focus()
    assert active_href(page) == "grid/812/97"
    page.keyboard.press("ArrowRight")
    assert active_href(page) == "grid/812/99"
    page.keyboard.press("ArrowDown")
    assert active_href(page) == "grid/814/99"  # Cal Lee is the second row
    page.keyboard.press("End")
    assert active_href(page) == "grid/814/98"
    page.keyboard.press("ArrowRight")  # stays at the edge
    assert active_href(page) == "grid/814/98"
    page.keyboard.press("Control+Home")
    assert active_href(page) == "grid/812/97"
    assert page.locator("#grid td > a[tabindex='0']").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/s/{handle}/grid/812/97")
    assert page.locator("h1").inner_text() == "Ava Jones: RL.7.2 Central idea"
    assert page.console_errors == []  # nothing refused by the CSP


@pytest.mark.parametrize("path", ["grid", "grid/812/97"])
def test_320px_no_page_overflow_and_no_serious_axe_violations(
    page: Any, served: tuple[str, str, str], path: str
) -> None:
    base, handle, _ = served
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{base}/s/{handle}/{path}")
    dims = page.evaluate(
        "({inner: window.innerWidth, scroll: document.documentElement.scrollWidth})"
    )
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1 && !e.closest('.grid-wrap')).map(e => e.tagName + '.' +"
        " e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)"
    )
    assert dims["scroll"] <= dims["inner"], (dims, wide)  # the grid scrolls in its own box
    assert page.get_by_text("Canvas shows 3").first.is_visible()
    assert blocking_violations(page) == []
    if path == "grid":
        # the level colours arrive (stylesheet, not inline styles) and text stays readable
        colour = page.evaluate("getComputedStyle(document.querySelector('td.lv8')).backgroundColor")
        assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        # sticky headers: scrolled down and right (a short box, as with a long roster), the
        # header rows stay at the top and the student names at the left
        page.evaluate(
            "(() => { const w = document.querySelector('.grid-wrap');"
            " w.style.maxHeight = '150px'; w.scrollTop = 400; w.scrollLeft = 400; })()"
        )
        assert page.evaluate("document.querySelector('.grid-wrap').scrollTop") > 0
        box = page.locator(".grid-wrap").bounding_box()
        head = page.locator("#grid thead tr.gh > *").first.bounding_box()
        name = page.locator("#grid tbody th").last.bounding_box()
        assert abs(head["y"] - box["y"]) < 3 and abs(head["x"] - box["x"]) < 3
        assert abs(name["x"] - box["x"]) < 3
    assert page.console_errors == []


def test_override_from_the_drilldown_page(page: Any, served: tuple[str, str, str]) -> None:
    base, handle, _ = served
    page.goto(f"{base}/s/{handle}/grid/813/99")
    page.get_by_role("button", name="Save the override").click()  # nothing chosen yet
    page.wait_for_selector("#ov-errors")
    assert "Give a reason; the student sees it." in page.locator("#ov-errors").inner_text()
    page.get_by_label("Level", exact=True).select_option("3.0")
    page.get_by_label("Reason (the student sees it)").fill("Explained it well in conference")
    page.get_by_role("button", name="Save the override").click()
    page.wait_for_url(f"**/s/{handle}/grid/813/99/done/set")
    assert "Override saved." in page.locator("[role=status]").inner_text()
    assert "3 P – Proficient" in page.locator(".level-badge").inner_text()
    page.get_by_role("button", name="Clear the override").click()
    page.wait_for_url(f"**/s/{handle}/grid/813/99/done/cleared")
    assert "2.63 D+" in page.locator(".level-badge").inner_text()
    assert page.console_errors == []
