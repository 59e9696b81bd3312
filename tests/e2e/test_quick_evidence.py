"""Record evidence in real Chromium against the demo stack, as a teacher inside Canvas's
iframe: from a target's column of the grid, levels for a section's students with a note and a
date; a refused save keeps everything; a CSV upload (multipart, also without any cookie: the
launch token rides in the form); the student then sees the observation. axe-core at 1280 px,
no sideways scrolling at 375 and 320 px, screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from lti_app.db import session_scope
from lti_app.models.observation import Observation
from lti_app.models.writeback import WritebackItem
from tests.e2e.browser_pages import COOKIE_MODES, cookie_mode_page, synced_sandbox
from tests.e2e.core_loop_flows import (
    check_page,
    open_student_target,
)
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_sandbox_launch import open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    yield from synced_sandbox(tmp_path_factory, "quick-evidence")


@pytest.fixture(params=COOKIE_MODES)
def ev_page(
    request: pytest.FixtureRequest,
    playwright_driver: Any,
    tmp_path_factory: pytest.TempPathFactory,
    ev_stack: SandboxStack,
) -> Iterator[Any]:
    yield from cookie_mode_page(request.param, playwright_driver, tmp_path_factory, ev_stack)


def observations(stack: SandboxStack) -> list[tuple[str, str, float, str | None]]:
    with stack.tool_app.app_context(), session_scope(stack.tool_app) as db:
        return [
            (o.canvas_user_id, o.canvas_outcome_id, o.level, o.note)
            for o in db.scalars(select(Observation).order_by(Observation.id))
        ]


def test_a_teacher_records_evidence_and_the_student_sees_it(
    ev_page: Any, ev_stack: SandboxStack, tmp_path: Path
) -> None:
    page, stack, ids = ev_page, ev_stack, ev_stack.ids
    app = stack.tool_app
    with app.app_context(), session_scope(app) as db:
        db.execute(delete(WritebackItem))
        db.execute(delete(Observation))
    course = ids.ela_course
    oid = str(next(iter(ids.ela_outcomes.values())))
    title = stack.state.outcomes[int(oid)].title
    student = ids.students[0]
    name = stack.state.users[student].name

    stack.recorder.clear()
    pick_user(page, stack, ids.teacher)
    frame = open_tool_tab(page, stack, course)
    # clicks, not addresses: without cookies only the page's own links carry the launch token
    frame.get_by_role("link", name="Open the class mastery grid").click()
    frame.get_by_role("heading", level=1, name="Class mastery").wait_for()
    frame.get_by_role("link", name=f"Record evidence on {title}").click()
    frame.get_by_role("heading", level=2, name=f"Levels observed on {title}").wait_for()
    assert frame.get_by_label("Date observed").input_value() == datetime.now(UTC).date().isoformat()
    check_page(page, "teacher-record-evidence")

    # a refused save: a date in the future; everything typed stays
    frame.get_by_label(name, exact=True).select_option(label="3 P – Proficient")
    frame.get_by_label("Note (optional; the student sees it)").fill("Led the lab discussion")
    frame.get_by_label("Date observed").fill("2099-01-01")
    frame.get_by_role("button", name="Save evidence").click()
    alert = frame.get_by_role("alert")
    alert.wait_for()
    assert "The date observed 2099-01-01 is in the future." in alert.inner_text()
    assert frame.get_by_label("Note (optional; the student sees it)").input_value() == (
        "Led the lab discussion"
    )
    assert frame.get_by_label(name, exact=True).input_value() == "3.0"
    check_page(page, "teacher-record-evidence-error", show=alert)
    assert observations(stack) == []

    frame.get_by_label("Date observed").fill("2026-11-20")
    frame.get_by_role("button", name="Save evidence").click()
    frame.get_by_text("Recorded 1 observation.").wait_for()
    assert observations(stack) == [(str(student), oid, 3.0, "Led the lab discussion")]

    # the CSV upload on the same page (a file input in a multipart form)
    second = ids.students[1]
    path = tmp_path / "scores.csv"
    path.write_text(
        "\ufeffcanvas_user_id,canvas_outcome_id,level,note\r\n"
        f"{second},{oid},D,\r\n{second},999999,P,\r\n",
        encoding="utf-8",
    )
    frame.get_by_label("CSV file", exact=True).set_input_files(str(path))
    frame.get_by_role("button", name="Upload and record").click()
    frame.get_by_role("alert").wait_for()
    assert (
        "Line 3: no learning target 999999 in this course"
        in frame.get_by_role("alert").inner_text()
    )
    check_page(page, "teacher-record-evidence-upload-refused", show=frame.get_by_role("alert"))
    path.write_text(f"canvas_user_id,canvas_outcome_id,level\n{second},{oid},D\n")
    frame.get_by_label("CSV file", exact=True).set_input_files(str(path))
    frame.get_by_role("button", name="Upload and record").click()
    frame.get_by_text("Recorded 1 observation.").wait_for()
    assert len(observations(stack)) == 2

    # the drill-down names the source; the student sees it on their own page
    frame.get_by_role("link", name="Back to the class mastery grid").click()
    frame.locator(f'a[href="grid/{student}/{oid}"]').click()
    frame.get_by_role("heading", name="Evidence, oldest first").wait_for()
    assert "Observed by the teacher on November 20, 2026: “Led the lab discussion”" in (
        frame.locator("table").inner_text().replace("\t", " ")
    )
    pick_user(page, stack, student)
    frame = open_student_target(page, stack, course, oid)
    section = frame.get_by_role("region", name="What my teacher observed")
    section.wait_for()
    assert "Led the lab discussion" in section.inner_text()
    check_page(page, "student-target-observed", show=section)
    assert page.csp_errors == []
    if page.no_cookies:
        assert all(r.cookies == {} for r in stack.recorder.all())
