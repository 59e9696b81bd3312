"""Issue 19 (parts 2 and 3) in real Chromium against the demo stack: the district admin opens
the tool from the account navigation and drills district -> school -> course -> class grid; a
student opens "All my courses" from the course tab. axe-core on every page, screenshots at 1280 and
375 px (district-*.png in test-artifacts/screenshots/), on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.core_loop_flows import check_page, sync_course, tool_frame
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack
from tests.e2e.test_core_loop import page as page  # the Chromium page fixture
from tests.e2e.test_sandbox_launch import open_account_tool, open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def district_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    """The demo stack with the ELA course synced (the after-sync hook builds the aggregates)."""
    stack, stop = start_sandbox_stack(tmp_path_factory.mktemp("district"))
    try:
        sync_course(stack, stack.ids.ela_course)
        yield stack
    finally:
        stop()


def test_admin_drills_from_the_district_to_the_class_grid(
    page: Any, district_stack: SandboxStack
) -> None:
    stack = district_stack
    course = stack.state.courses[stack.ids.ela_course]
    frame = open_account_tool(page, stack)
    frame.get_by_role("link", name="Open the district mastery dashboard").click()
    frame.get_by_role("heading", level=1, name="The district").wait_for()
    main = tool_frame(page).locator("main").inner_text()
    assert "RL.7.2" in main  # the district's (account) outcomes, linked in the course
    check_page(page, "district-home")

    frame.get_by_role("region", name="By school").get_by_role("link").first.click()
    frame.get_by_role("heading", name="By course").wait_for()
    check_page(page, "district-school")

    frame.get_by_role("link", name=course.name).click()
    frame.get_by_role("heading", name="By section").wait_for()
    check_page(page, "district-course")

    frame.get_by_role("link", name="Open the class grid").click()
    frame.get_by_role("heading", level=1, name=f"Class grid: {course.name}").wait_for()
    rows = tool_frame(page).locator("table.district-grid tbody tr")
    assert rows.count() == len(stack.state.students_of(course.id))
    check_page(page, "district-class-grid")
    assert page.csp_errors == []


def test_a_student_opens_all_my_courses(page: Any, district_stack: SandboxStack) -> None:
    stack = district_stack
    student = stack.ids.students[1]
    pick_user(page, stack, student)
    frame = open_tool_tab(page, stack, stack.ids.ela_course)
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    frame.get_by_role("link", name="All my courses").click()
    frame.get_by_role("heading", level=1, name="All my courses").wait_for()
    text = tool_frame(page).locator("main").inner_text()
    assert stack.state.courses[stack.ids.ela_course].name in text
    check_page(page, "district-record")
    assert page.csp_errors == []
