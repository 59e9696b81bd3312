"""A parent in real Chromium against the demo stack (the real tool and canvas_sandbox, the ELA
course synced, its observer enrollments with it): the sandbox's parent of two students opens
the course tab, lands on the first child's learning targets, switches to the second, opens a
target, all read-only (no form but sign-out and the language switch), then reads the page in
Spanish. axe-core and the 1280 / 375 / 320 px checks on every page (``check_page``; pictures
test-artifacts/screenshots/observer-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.core_loop_flows import check_page, sync_course
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack
from tests.e2e.test_core_loop import page  # noqa: F401  (the fixture: Chromium's default policy)
from tests.e2e.test_sandbox_launch import open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def family_stack(
    tmp_path_factory: pytest.TempPathFactory, stack_database_url: str | None
) -> Iterator[SandboxStack]:
    """On SQLite, then on PostgreSQL (issue 18: both databases end to end)."""
    tmp = tmp_path_factory.mktemp("family")
    stack, stop = start_sandbox_stack(tmp, stack_database_url)
    try:
        sync_course(stack, stack.ids.ela_course)
        yield stack
    finally:
        stop()


def action_forms(frame: Any) -> list[str]:
    actions: list[str] = frame.locator("form").evaluate_all(
        "forms => forms.map(f => f.getAttribute('action'))"
    )
    return [a for a in actions if not a.endswith(("/sign-out", "/language"))]


def test_parent_switches_between_two_children_read_only_in_english_and_spanish(
    page: Any,  # noqa: F811
    family_stack: SandboxStack,
) -> None:
    stack = family_stack
    ids, state = stack.ids, stack.state
    first, second = sorted(
        (state.users[c] for c in ids.parent_children), key=lambda u: (u.sortable_name, u.id)
    )
    pick_user(page, stack, ids.parent)
    frame = open_tool_tab(page, stack, ids.ela_course)
    frame.get_by_role("heading", level=1, name=first.name).wait_for()
    switcher = frame.get_by_role("navigation", name="Students you follow")
    assert switcher.get_by_role("link", name=second.name).count() == 1
    assert action_forms(frame) == []
    assert frame.locator(".level-badge").count() > 0  # levels in words and colour
    check_page(page, "observer-targets")

    switcher.get_by_role("link", name=second.name).click()
    frame.get_by_role("heading", level=1, name=second.name).wait_for()
    assert first.name not in frame.locator("h1").inner_text()
    assert action_forms(frame) == []
    check_page(page, "observer-targets-second")

    frame.locator("article h3 a").first.click()
    frame.get_by_role("heading", level=2, name="Feedback and tries").wait_for()
    assert action_forms(frame) == [] and frame.locator("textarea").count() == 0
    check_page(page, "observer-target")

    # The same page in Spanish: the switch on the page, remembered by the session.
    frame.get_by_role("button", name="Español").click()
    frame.locator("html[lang=es]").wait_for(state="attached")
    frame.locator("#fb-h").wait_for()
    assert action_forms(frame) == []
    check_page(page, "observer-target-es")
