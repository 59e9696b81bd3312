"""The whole loop in real Chromium against the demo stack (the real tool and canvas_sandbox):
the course is synced, a student chooses a pathway of their own and proposes it, the teacher
approves it, the student hands in work, the teacher scores it in the review queue, and the
student sees the new level and the feedback. axe-core checks every page on the way
(student pages, teacher grid, drill-down, review queue, menu editor); screenshots at 1280 and
375 px are written to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_pages import chromium_page, synced_sandbox
from tests.e2e.conftest import (
    BLOCK_THIRD_PARTY,
    block_all_cookies_for,
)
from tests.e2e.core_loop_flows import (
    SCREENSHOTS,
    check_page,
    open_in_frame,
    open_student_target,
    session_base,
    tool_frame,
)
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_sandbox_launch import open_account_tool, open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def loop_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    """The demo stack with the ELA course synced into the tool (as the teacher's sync does)."""
    yield from synced_sandbox(tmp_path_factory, "core-loop")


@pytest.fixture
def page(playwright_driver: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium's default cookie policy (third-party blocked, partitioned cookies kept)."""
    yield from chromium_page(playwright_driver, tmp_path_factory, BLOCK_THIRD_PARTY)


@pytest.fixture
def cookieless_page(
    playwright_driver: Any, tmp_path_factory: pytest.TempPathFactory, loop_stack: SandboxStack
) -> Iterator[Any]:
    """No cookie at all for the tool (as Safari in Canvas's frame): Platform Storage launch,
    then the session's secret carried by session_nav.js."""
    prefs = block_all_cookies_for(loop_stack.tool_base)
    yield from chromium_page(playwright_driver, tmp_path_factory, prefs)


def test_student_chooses_and_submits_teacher_scores_student_sees_the_new_level(
    page: Any, loop_stack: SandboxStack
) -> None:
    stack = loop_stack
    ids = stack.ids
    course = ids.ela_course
    student = ids.no_results_student  # no Canvas results: the only evidence is this loop's
    oid = str(ids.ela_outcomes["RL.7.2"])
    idea = "I will draw a six-panel comic strip that retells the story and shows its theme."
    evidence = "My comic retells the story; the theme is marked in panels 2, 4 and 6."

    # --- the student chooses a pathway of their own and proposes it -----------------------
    pick_user(page, stack, student)
    frame = open_tool_tab(page, stack, course)  # the student lands on the targets directly
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    tool = tool_frame(page)
    assert "proficiency on 0 of" in tool.locator("main").inner_text()
    card = frame.locator(f'article:has(a[href$="/me/targets/{oid}"])')
    assert "No level yet" in card.inner_text()
    check_page(page, "student-targets")
    check_page(page, "student-targets-card", show=card)

    card.get_by_role("link", name="Choose a pathway").click()
    frame.get_by_role("heading", name="Show what I know").wait_for()
    check_page(page, "student-target-choose")
    frame.get_by_label("A proposal of your own").check()
    frame.get_by_role("button", name="Choose this pathway").click()
    frame.get_by_text("You chose a pathway.").wait_for()
    frame.get_by_label("My idea: how I will show this target").fill(idea)
    frame.get_by_role("button", name="Send my idea to my teacher").click()
    frame.get_by_text("Your idea was sent to your teacher.").wait_for()
    check_page(page, "student-target-proposed")

    # --- the teacher approves the idea ----------------------------------------------------
    pick_user(page, stack, ids.teacher)
    open_tool_tab(page, stack, course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/pathways/review")
    item = frame.locator("article", has_text=idea)
    item.get_by_label("Feedback (required to return; optional when approving)").fill(
        "Yes, and mark the theme in each panel."
    )
    item.get_by_role("button", name="Approve", exact=True).click()
    frame.get_by_text("Proposal approved.").wait_for()

    # --- the student hands in work --------------------------------------------------------
    pick_user(page, stack, student)
    frame = open_student_target(page, stack, course, oid)
    frame.get_by_text("Yes, and mark the theme in each panel.").wait_for()
    # a link that is not a web address: a clear message, and the typed text is still there
    frame.get_by_label("About my work").fill(evidence)
    frame.get_by_label("Links to my work (optional)").fill("javascript:alert(1)")
    frame.get_by_role("button", name="Hand in my work").click()
    frame.get_by_role("alert").wait_for()
    assert "is not a web address" in frame.get_by_role("alert").inner_text()
    assert frame.get_by_label("About my work").input_value() == evidence
    check_page(page, "student-target-error", show=frame.get_by_role("alert"))
    frame.get_by_label("Links to my work (optional)").fill("https://docs.example/comic")
    frame.get_by_role("button", name="Hand in my work").click()
    frame.get_by_text("Your work was handed in.").wait_for()
    check_page(page, "student-target-submitted")

    # --- the teacher scores it ------------------------------------------------------------
    pick_user(page, stack, ids.teacher)
    open_tool_tab(page, stack, course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/pathways/review")
    item = frame.locator("article", has_text=evidence)
    item.wait_for()
    check_page(page, "teacher-review-queue", show=item)
    item.get_by_label("3.0 – ", exact=False).check()
    item.get_by_label("Comment (optional with a score; required to return)").fill(
        "Clear summary and a well-chosen theme."
    )
    item.get_by_role("button", name="Save score").click()
    frame.get_by_text(
        "Score saved; it counts as evidence now and is on its way to Canvas."
    ).wait_for()
    for name, path in (
        ("teacher-home", "/"),
        ("teacher-grid", "/grid"),
        ("teacher-drilldown", f"/grid/{student}/{oid}"),
        ("teacher-pathway-menus", "/pathways/"),
        ("teacher-menu-editor", f"/pathways/targets/{oid}"),
        ("teacher-analytics", "/pathways/analytics"),
        ("teacher-sync", "/canvas"),
    ):
        open_in_frame(page, base + path)
        check_page(page, name)

    # --- the student sees the new level and the feedback ----------------------------------
    pick_user(page, stack, student)
    frame = open_tool_tab(page, stack, course)  # the student lands on the targets directly
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    card = frame.locator(f'article:has(a[href$="/me/targets/{oid}"])')
    text = card.inner_text()
    assert "No level yet" not in text and "Proficient" in text, text
    badge = card.locator(".level-badge")
    assert badge.inner_text().startswith("3 "), badge.inner_text()
    colour = badge.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")  # the level's colour
    assert card.locator("svg.chart circle").count() == 1  # the growth chart's one score
    check_page(page, "student-targets-scored", show=card)
    card.get_by_role("link", name="Open").click()
    frame.get_by_text("Clear summary and a well-chosen theme.").wait_for()
    assert frame.get_by_text("Yes, and mark the theme in each panel.").is_visible()
    check_page(page, "student-target-feedback", show=frame.locator("#fb-h"))

    assert page.csp_errors == []
    assert len(list(SCREENSHOTS.glob("*-375.png"))) >= 10


def test_without_cookies_a_student_with_canvas_evidence_chooses_submits_and_withdraws(
    cookieless_page: Any, loop_stack: SandboxStack
) -> None:
    """The student forms work when the browser gives the tool no cookie at all; a student with
    Canvas results sees levels, growth charts and next steps from that evidence."""
    page, stack = cookieless_page, loop_stack
    ids = stack.ids
    student = ids.students[1]
    oid = str(ids.ela_outcomes["RL.7.3"])
    stack.recorder.clear()  # what the tool received from this test's browser only
    pick_user(page, stack, student)
    frame = open_student_target(page, stack, ids.ela_course, oid)
    assert stack.recorder.all() and all(r.cookies == {} for r in stack.recorder.all())
    frame.get_by_label("Test or quiz").check()
    frame.get_by_role("button", name="Choose this pathway").click()
    frame.get_by_text("You chose a pathway.").wait_for()
    frame.get_by_role("button", name="Hand in my work").click()  # nothing typed
    frame.get_by_role("alert").wait_for()
    assert (
        "Write about your evidence or give at least one link"
        in frame.get_by_role("alert").inner_text()
    )
    frame.get_by_role("button", name="Stop this pathway").click()
    frame.get_by_text("You stopped that pathway.").wait_for()
    frame.get_by_label("Project").check()
    frame.get_by_role("button", name="Choose this pathway").click()
    frame.get_by_text("You chose a pathway.").wait_for()
    frame.get_by_label("About my work").fill("A model of how the setting shapes the plot.")
    frame.get_by_role("button", name="Hand in my work").click()
    frame.get_by_text("Your work was handed in.").wait_for()

    frame.get_by_role("link", name="Back to My learning targets").click()
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    badges = frame.locator(".target-card .level-badge:not(.lvn)")
    assert badges.count() > 0  # levels from the synced Canvas results
    assert frame.locator(".target-card svg.chart").count() > 0
    assert frame.get_by_text("Next step:").count() > 0 or frame.get_by_text("Proficient").count()
    card = frame.locator(f'article:has(a[href$="/me/targets/{oid}"])')
    assert "Your teacher will score it." in card.inner_text()
    check_page(page, "student-targets-canvas-evidence", show=card)
    assert all(r.cookies == {} for r in stack.recorder.all())
    assert page.csp_errors == []


def test_admin_pages_pass_axe_and_fit_narrow_screens(page: Any, loop_stack: SandboxStack) -> None:
    """The district admin's pages, reached from the account navigation: installation,
    proficiency scale and calculation (with a preview on the synced course), pathway library."""
    stack = loop_stack
    frame = open_account_tool(page, stack)
    frame.get_by_role("heading", name="District administration").wait_for()
    check_page(page, "admin-home")
    base = stack.tool_base + session_base(tool_frame(page))
    for name, path in (
        ("admin-installation", "/admin"),
        ("admin-mastery-settings", "/admin/mastery"),
        ("admin-pathway-library", "/pathways/library"),
    ):
        open_in_frame(page, base + path)
        check_page(page, name)
    frame = open_in_frame(page, base + "/admin/mastery")
    frame.get_by_role("button", name="Preview changes").click()
    frame.get_by_role("heading", name=re.compile("What would change")).wait_for()
    check_page(page, "admin-mastery-preview", show=frame.locator("#preview"))
    assert page.csp_errors == []
