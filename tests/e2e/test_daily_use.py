"""Daily use in real Chromium against the demo stack (the real tool and canvas_sandbox), as a new
teacher finds it: the landing page says what to do next, *Connect to Canvas* opens Canvas's
permission window (which closes itself), *Sync now* ends on the sync page's finished state (not
on an error page), and the grid's CSV download keeps the section filter. axe-core and the 1280 /
375 / 320 px checks run on every page (``check_page``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.core_loop_flows import (
    check_page,
    open_in_frame,
    session_base,
    sync_course,
    tool_frame,
    wait_in_frame,
)
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack
from tests.e2e.test_core_loop import page  # noqa: F401  (the fixture: Chromium's default policy)
from tests.e2e.test_sandbox_launch import open_account_tool, open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    """The demo stack as `make demo` leaves it: the API developer key set, nothing synced."""
    stack, stop = start_sandbox_stack(tmp_path_factory.mktemp("daily-use"))
    try:
        ids = stack.ids
        result = stack.tool_app.test_cli_runner().invoke(
            args=[
                "platform",
                "set-api-key",
                "--issuer",
                stack.sandbox_base,
                "--client-id",
                stack.installed.key.client_id,
                "--api-client-id",
                str(ids.api_client_id),
            ],
            env={"CANVAS_API_CLIENT_SECRET": ids.api_client_secret},
        )
        assert result.exit_code == 0, result.output
        yield stack
    finally:
        stop()


def next_step(frame: Any) -> str:
    text: str = frame.locator("#next-step").inner_text()
    return text


def test_new_teacher_connects_syncs_with_sync_now_and_sees_the_finished_state(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,
) -> None:
    stack = fresh_stack
    ids = stack.ids
    pick_user(page, stack, ids.teacher)
    frame = open_tool_tab(page, stack, ids.ela_course)
    assert "Connect Mastery Pathways to your Canvas account" in next_step(frame)
    check_page(page, "teacher-home-new")

    # --- connect: Canvas's permission page in a new window, which closes itself -------------
    frame.locator("#next-step").get_by_role("link", name="Connect to Canvas").click()
    frame.get_by_role("heading", level=1, name="Canvas data for").wait_for()
    check_page(page, "teacher-sync-not-connected")
    frame.get_by_role("button", name="Connect to Canvas").click()
    frame.get_by_role("heading", level=1, name="Connect to Canvas").wait_for()
    assert "send the levels you score" in frame.locator("main").inner_text()
    check_page(page, "teacher-connect")
    with page.context.expect_page() as opened:
        frame.get_by_role("link", name="Open Canvas to connect").click()
    window = opened.value
    window.get_by_role("button", name="Authorize").click()
    window.get_by_role("heading", name="Connected to Canvas").wait_for()
    assert "send the levels you score to Canvas" in window.locator("main").inner_text()
    window.wait_for_event("close")  # closes itself (item 10)

    # --- the frame noticed the connection by itself: Sync now ------------------------------
    sync_now = frame.get_by_role("button", name="Sync now")
    sync_now.wait_for()
    sync_now.click()
    # the finished state, on the sync page itself (GET), never "could not open ... 405"
    frame.locator("#last-synced", has_text="Last complete sync").wait_for(timeout=30_000)
    text = frame.locator("main").inner_text()
    assert "could not open" not in text and "method_not_allowed" not in text
    assert frame.get_by_role("button", name="Sync again").is_visible()
    assert tool_frame(page).url.endswith("/canvas")
    check_page(page, "teacher-sync-done")

    # --- the landing page now counts what there is to do -------------------------------------
    frame.get_by_role("link", name="Back to the course overview").click()
    frame.locator("#next-step").wait_for()
    assert "Nothing is waiting for you" in next_step(frame)
    links = frame.locator("main").inner_text()
    assert "(0 waiting)" in links and "Sent to Canvas (none failed)" in links
    assert "(connected, last synced" in links
    check_page(page, "teacher-home-synced")
    assert page.csp_errors == []


def test_csv_download_keeps_the_section_filter(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,
) -> None:
    """The grid shows Section A; the file downloaded from it holds Section A's students only."""
    stack = fresh_stack
    ids = stack.ids
    sync_course(stack, ids.ela_course)  # as the CLI does (the test above syncs in the browser)
    pick_user(page, stack, ids.teacher)
    open_tool_tab(page, stack, ids.ela_course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/grid")
    everyone = frame.locator("tbody tr").count()
    name = stack.state.sections[ids.ela_sections[0]].name
    frame.get_by_label("Section").select_option(label=name)
    frame.get_by_role("button", name="Show").click()
    frame.get_by_text(f"in {name}").first.wait_for()
    shown = frame.locator("tbody tr").count()
    assert 0 < shown < everyone
    check_page(page, "teacher-grid-section")
    with page.expect_download() as got:
        frame.get_by_role("link", name=f"Download CSV ({name})").click()
    with open(got.value.path(), encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert len({r["canvas_user_id"] for r in rows}) == shown
    assert page.csp_errors == []


def test_student_lands_on_targets_reads_how_the_level_counted_and_sees_the_text_limit(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,
) -> None:
    """Items 13, 15, 16: no landing card in between; the level explained in a student's words
    with what the next score would need to be; a paste over the limit is kept whole, counted
    live, and refused by the server with a message."""
    stack = fresh_stack
    ids = stack.ids
    sync_course(stack, ids.ela_course)
    student = ids.students[2]  # three Canvas results on RL.7.2
    oid = str(ids.ela_outcomes["RL.7.2"])
    pick_user(page, stack, student)
    frame = open_tool_tab(page, stack, ids.ela_course)
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    assert frame.get_by_role("link", name="My learning targets").count() == 0

    frame.locator(f'h3 a[href$="/me/targets/{oid}"]').click()
    frame.get_by_role("heading", name="Show what I know").wait_for()
    counted = frame.locator("#how-counted").inner_text()
    assert "Your latest score" in counted and "earlier scores" in counted, counted
    assert "Together they make" in counted
    step = frame.locator("#next-score").inner_text()
    assert step.startswith("To reach ") and "your next score would need to be" in step, step
    check_page(page, "student-target-explained", show=frame.locator("#how-counted"))

    frame.get_by_label("Project").check()
    frame.get_by_role("button", name="Choose this pathway").click()
    frame.get_by_text("You chose a pathway.").wait_for()
    area = frame.get_by_label("About my work")
    count = frame.locator("#f-evidence-count")
    assert count.inner_text() == "0 of 10,000 characters"
    pasted = "My model of the setting. " * 402  # 10,050 characters
    area.fill(pasted)
    assert len(area.input_value()) == len(pasted)  # nothing cut by the browser
    assert "over the limit of 10,000" in count.inner_text()
    assert "over" in (count.get_attribute("class") or "")
    assert "Too long" in frame.locator("#f-evidence-over").inner_text()  # announced once
    check_page(page, "student-target-over-limit", show=count)
    frame.get_by_role("button", name="Hand in my work").click()
    frame.get_by_role("alert").wait_for()
    assert "the limit is 10000" in frame.get_by_role("alert").inner_text()
    assert frame.get_by_label("About my work").input_value() == pasted  # kept whole
    assert "over the limit" in frame.locator("#f-evidence-count").inner_text()
    area = frame.get_by_label("About my work")
    area.fill("A model of how the setting shapes the plot.")
    assert frame.locator("#f-evidence-count").inner_text() == "43 of 10,000 characters"
    assert "within the limit" in frame.locator("#f-evidence-over").inner_text()
    frame.get_by_role("button", name="Hand in my work").click()
    frame.get_by_text("Your work was handed in.").wait_for()
    assert page.csp_errors == []


def test_admin_preview_is_shown_at_the_top_focused_and_announced(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,
) -> None:
    """Item 18: the answer to *Preview changes* is where the admin is looking (the top of the
    page), and has the focus, so a screen reader reads it out and Tab continues from it."""
    stack = fresh_stack
    sync_course(stack, stack.ids.ela_course)
    frame = open_account_tool(page, stack)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/admin/mastery")
    frame.get_by_label("Method", exact=True).select_option("latest")
    frame.get_by_label("Method's value", exact=False).fill("")
    frame.get_by_role("button", name="Preview changes").click()
    preview = frame.locator("#preview")
    preview.get_by_role("heading", name="What would change").wait_for()
    tool = tool_frame(page)
    wait_in_frame(tool, "() => document.activeElement && document.activeElement.id === 'preview'")
    top = tool.evaluate("document.getElementById('preview').getBoundingClientRect().top")
    assert top < 400, top  # near the top of the page, not ~2,000 px down
    assert "student levels would change" in preview.inner_text()
    # the next Tab goes on from the result (its first link), not from the top of the page
    page.keyboard.press("Tab")
    assert tool.evaluate("document.activeElement.textContent") == "Go to Save"
    check_page(page, "admin-mastery-preview-top", show=preview)
    assert page.csp_errors == []


def test_grid_keeps_names_and_headers_in_view_and_the_compact_view_fits_12_targets(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,
) -> None:
    """Item 22: scrolling the grid sideways keeps the student column and the header row in
    place; the compact view shows the demo course's 12 targets at 1280 px without scrolling."""
    stack = fresh_stack
    ids = stack.ids
    sync_course(stack, ids.ela_course)
    pick_user(page, stack, ids.teacher)
    open_tool_tab(page, stack, ids.ela_course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/grid")
    tool = tool_frame(page)
    assert frame.locator("thead tr.th th[title]").count() == len(ids.ela_outcomes) == 12
    wide = tool.evaluate(
        "() => { const w = document.querySelector('.grid-wrap');"
        " return {scroll: w.scrollWidth, client: w.clientWidth}; }"
    )
    assert wide["scroll"] > wide["client"]  # the comfortable view scrolls inside its box
    probe = (
        "() => { const w = document.querySelector('.grid-wrap');"
        " const gh = document.querySelector('thead tr.gh th').getBoundingClientRect();"
        " return {wrap: w.getBoundingClientRect().top,"
        " name: document.querySelector('tbody th').getBoundingClientRect().left,"
        " group: gh.top, groupBottom: gh.bottom,"
        " target: document.querySelector('thead tr.th th[title]').getBoundingClientRect().top};"
        " }"
    )
    before = tool.evaluate(probe)
    tool.evaluate(
        "() => { const w = document.querySelector('.grid-wrap');"
        " w.scrollLeft = 400; w.scrollTop = 300; }"
    )
    after = tool.evaluate(probe)
    assert after["name"] == before["name"], (before, after)  # the names stay at the left
    # both header rows stick to the top of the grid's box, the target row right below the
    # group row (not sliding under it)
    assert abs(after["group"] - after["wrap"]) <= 1.5, after
    assert abs(after["target"] - after["groupBottom"]) <= 1.5, after

    frame.get_by_label("View").select_option("compact")
    frame.get_by_role("button", name="Show").click()
    frame.locator("table.grid.compact").wait_for()
    fit = tool.evaluate(
        "() => { const w = document.querySelector('.grid-wrap');"
        " return {scroll: w.scrollWidth, client: w.clientWidth, inner: window.innerWidth}; }"
    )
    assert fit["scroll"] <= fit["client"], fit
    check_page(page, "teacher-grid-compact")
    assert page.csp_errors == []
