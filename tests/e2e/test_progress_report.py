"""A teacher prints a class set of progress reports in real Chromium against the demo stack (the
real tool and canvas_sandbox, whose demo course has two grading periods): the report page, a
section, the print view (one student per page, no navigation) and the PDF download, which
arrives through session_nav.js's Blob path when the frame has no cookie. axe-core and the
1280 / 375 px screenshots (report-*.png) on every page (``check_page``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from tests.e2e.core_loop_flows import (
    check_page,
    open_in_frame,
    session_base,
    sync_course,
    tool_frame,
)
from tests.e2e.sandbox_harness import SandboxStack, start_sandbox_stack
from tests.e2e.test_core_loop import page  # noqa: F401  (the fixture: Chromium's default policy)
from tests.e2e.test_sandbox_launch import open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def synced_stack(
    tmp_path_factory: pytest.TempPathFactory, stack_database_url: str | None
) -> Iterator[SandboxStack]:
    """On SQLite, then on PostgreSQL (issue 18: both databases end to end)."""
    stack, stop = start_sandbox_stack(
        tmp_path_factory.mktemp("progress-report"), stack_database_url
    )
    try:
        sync_course(stack, stack.ids.ela_course)  # grading periods arrive with the sync
        yield stack
    finally:
        stop()


def test_teacher_prints_a_class_set_and_downloads_its_pdf(
    page: Any,  # noqa: F811
    synced_stack: SandboxStack,
) -> None:
    stack = synced_stack
    ids = stack.ids
    pick_user(page, stack, ids.teacher)
    open_tool_tab(page, stack, ids.ela_course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/report")
    frame.get_by_role("heading", level=1, name="Progress report").wait_for()
    assert frame.locator("#r-period option").all_inner_texts() == ["Quarter 1", "Quarter 2"]
    frame.get_by_label("Grading period").select_option(label="Quarter 1")
    section = stack.state.sections[ids.ela_sections[0]].name
    frame.get_by_label("Section").select_option(label=section)
    frame.get_by_role("button", name="Show", exact=True).click()
    # the page answering the filter (the server marks the chosen section)
    frame.locator("#r-section option[selected]", has_text=section).wait_for(state="attached")
    students = frame.locator("section.report-student").count()
    assert 0 < students < len(ids.students)
    check_page(page, "report-class")

    frame.get_by_role("link", name="Print view (one student per page)").click()
    frame.locator("article.report-page").first.wait_for()
    assert frame.locator("article.report-page").count() == students
    assert frame.locator("nav").count() == 0  # print-ready: no navigation
    levels = frame.locator("td.col-level").all_inner_texts()
    assert levels and all(text.strip() for text in levels)  # every level in words
    check_page(page, "report-print")

    with page.expect_download() as got:
        frame.get_by_role("link", name="Download PDF").click()
    download = got.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as f:
        body = f.read()
    assert body.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(body)).pages) == students  # one page per student
    assert page.csp_errors == []


def test_student_opens_and_prints_their_own_report(
    page: Any,  # noqa: F811
    synced_stack: SandboxStack,
) -> None:
    stack = synced_stack
    ids = stack.ids
    pick_user(page, stack, ids.students[1])
    open_tool_tab(page, stack, ids.ela_course)
    frame = tool_frame(page)
    frame.get_by_role("link", name="My progress report").click()
    frame.get_by_role("heading", level=1, name="Progress report:").wait_for()
    assert frame.locator("textarea").count() == 0
    check_page(page, "report-student")
    frame.get_by_role("link", name="Print view").click()
    frame.locator("article.report-page").first.wait_for()
    assert frame.locator("article.report-page").count() == 1
    assert page.csp_errors == []
