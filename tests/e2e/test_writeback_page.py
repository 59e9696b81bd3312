"""The teacher's Sent to Canvas page in real Chromium against the demo stack: axe-core at
1280, 375 and 320 px; the progress bar and counts refresh themselves while results are pending
and the page reloads when none is; Retry sends a failure to a real worker, whose new reason the
page shows without a manual reload. Run with Chromium's default cookie policy and with no
cookie at all for the tool (the launch token then rides on every fetch and form)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from lti_app.models.writeback import DELIVERED, FAILED, PENDING, WritebackItem
from tests.e2e.browser_pages import COOKIE_MODES, cookie_mode_page, synced_sandbox
from tests.e2e.core_loop_flows import (
    SMALLEST,
    WIDE,
    check_page,
    tool_frame,
    wait_in_frame,
)
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_accessibility import blocking_violations
from tests.e2e.test_sandbox_launch import open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(90)

REASON = "Canvas refused to let the tool grade in this course."


@pytest.fixture(scope="module")
def wb_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    yield from synced_sandbox(tmp_path_factory, "writeback-page")


@pytest.fixture(params=COOKIE_MODES)
def wb_page(
    request: pytest.FixtureRequest,
    playwright_driver: Any,
    tmp_path_factory: pytest.TempPathFactory,
    wb_stack: SandboxStack,
) -> Iterator[Any]:
    yield from cookie_mode_page(request.param, playwright_driver, tmp_path_factory, wb_stack)


def seed_items(stack: SandboxStack) -> dict[str, list[int]]:
    """A fresh outbox for the ELA course: two results in Canvas, one failed, three pending."""
    app, ids = stack.tool_app, stack.ids
    outcomes = [str(o) for o in ids.ela_outcomes.values()]
    now = datetime.now(UTC)
    plan = [(DELIVERED, None)] * 2 + [(FAILED, REASON)] + [(PENDING, None)] * 3
    made: dict[str, list[int]] = {DELIVERED: [], FAILED: [], PENDING: []}
    with app.app_context(), session_scope(app) as db:
        db.execute(delete(WritebackItem))
        platform_id = db.scalars(select(Platform.id)).one()
        for n, (status, error) in enumerate(plan):
            created = now - timedelta(minutes=len(plan) - n)
            row = WritebackItem(
                platform_id=platform_id,
                canvas_course_id=str(ids.ela_course),
                canvas_user_id=str(ids.students[n % len(ids.students)]),
                canvas_outcome_id=outcomes[n % len(outcomes)],
                kind="demonstration",
                round=1 + n // len(ids.students),
                idempotency_key=f"demo:e2e-{n}",
                level=3.0,
                label="Proficient",
                points=3.0,
                teacher_canvas_user_id=str(ids.teacher),
                status=status,
                next_attempt_at=now + timedelta(hours=1),  # no sweep sends these
                last_error=error,
                delivered_at=created if status == DELIVERED else None,
                created_at=created,
                # settled when created: before the batch in flight began
                updated_at=created,
            )
            db.add(row)
            db.flush()
            made[status].append(row.id)
    return made


def settle(stack: SandboxStack, item_ids: list[int]) -> None:
    """What a worker does when Canvas confirms the results."""
    with stack.tool_app.app_context(), session_scope(stack.tool_app) as db:
        db.execute(
            update(WritebackItem)
            .where(WritebackItem.id.in_(item_ids))
            .values(status=DELIVERED, delivered_at=datetime.now(UTC))
        )


def axe_at_320(page: Any) -> None:
    """axe-core once more on the stacked narrow layout (check_page runs it at 1280 px)."""
    page.set_viewport_size(SMALLEST)
    try:
        frame = tool_frame(page)
        wait_in_frame(frame, "w => window.innerWidth <= w", SMALLEST["width"])
        assert blocking_violations(frame) == []
    finally:
        page.set_viewport_size(WIDE)


def test_sent_to_canvas_updates_itself_retries_and_passes_axe(
    wb_page: Any, wb_stack: SandboxStack
) -> None:
    page, stack = wb_page, wb_stack
    made = seed_items(stack)
    stack.recorder.clear()
    pick_user(page, stack, stack.ids.teacher)
    frame = open_tool_tab(page, stack, stack.ids.ela_course)
    frame.get_by_role("link", name="Choice analytics").click()
    frame.get_by_role("link", name="Sent to Canvas").click()
    frame.get_by_role("heading", level=2, name="Sent to Canvas").wait_for()
    tool = tool_frame(page)
    bar = frame.locator("progress#wb-progress")
    assert bar.get_attribute("value") == "0" and bar.get_attribute("max") == "3"
    assert frame.get_by_label("Sending to Canvas: 0 of 3 sent").count() == 1
    failed_row = frame.locator(f"#wb-{made[FAILED][0]}")
    assert "Failed" in failed_row.inner_text() and REASON in failed_row.inner_text()
    check_page(page, "teacher-sent-to-canvas", show=failed_row)
    axe_at_320(page)

    # a worker settles the newest result, then the rest: the numbers move, then the page reloads
    settle(stack, made[PENDING][-1:])
    frame.locator("#wb-progress-text").get_by_text("1 of 3 sent").wait_for()
    assert bar.get_attribute("value") == "1"
    assert frame.locator("#wb-pending").inner_text() == "2"
    settle(stack, made[PENDING][:-1])
    frame.locator("#wb-progress").wait_for(state="detached")
    assert frame.locator("#wb-delivered").inner_text() == "5"
    assert tool.locator("tbody").inner_text().count("In Canvas") == 5

    # Retry: the row goes back to pending and a real worker takes it; with no teacher
    # connected to Canvas it fails again at once, and the page shows the new reason by itself
    failed_row.get_by_role("button", name="Retry").click()
    frame.get_by_text("Sending that result to Canvas again.").wait_for()
    frame.locator(f"#wb-{made[FAILED][0]}").get_by_text("connected to Canvas").wait_for()
    assert REASON not in frame.locator(f"#wb-{made[FAILED][0]}").inner_text()
    check_page(page, "teacher-sent-to-canvas-retried")
    axe_at_320(page)

    polls = [r for r in stack.recorder.all() if r.path.endswith("/canvas-results/status.json")]
    assert polls and all(r.status == 200 for r in polls)
    if page.no_cookies:  # the launch token carried every request, the polls too
        assert all(r.cookies == {} for r in stack.recorder.all())
    assert page.csp_errors == []
