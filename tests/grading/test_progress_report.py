"""The standards-based progress report: levels as of a period's end (later evidence ignored),
the change over the period, the evidence in it, the teacher's comments, who may read which
report, and the print view and PDF (one student per page)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse, CourseGradingPeriod
from lti_app.models.report import ReportComment
from tests.conftest import LtiBrowser
from tests.grading.seed import T0, get, launch, read_in_spanish, seed_course
from tests.lti_platform import INSTRUCTOR, LEARNER, TOOL_BASE, FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    """The grid tests' course (Ava's RL.7.2: level 2 in week 0, 3 in week 1 -> 2.65), with two
    grading periods as a sync stores them: one ending before Ava's second result, one after."""
    seed_course(app, platform)
    with session_scope(app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        db.add_all(
            [
                CourseGradingPeriod(
                    course_pk=course.id,
                    canvas_grading_period_id="31",
                    title="Quarter 1",
                    start_date=T0 - timedelta(days=1),
                    end_date=T0 + timedelta(days=3),
                    is_closed=True,
                ),
                CourseGradingPeriod(
                    course_pk=course.id,
                    canvas_grading_period_id="32",
                    title="Quarter 2",
                    start_date=T0 + timedelta(days=3, seconds=1),
                    end_date=T0 + timedelta(weeks=20),
                ),
            ]
        )
    return app


def line(html: str, target: str) -> list[str]:
    """The cells of one target's row (its level, change, evidence count, comment)."""
    row = re.search(
        rf'<th scope="row" class="col-target">{re.escape(target)}</th>(.*?)</tr>', html, re.S
    )
    assert row is not None, target
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def student_section(html: str, name: str) -> str:
    part = html.split(f">{name}</h2>", 1)[1]
    return part.split("<h2", 1)[0]


def test_levels_are_as_of_the_period_end_with_the_change_over_it(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, q1 = get(browser, f"/s/{handle}/report?period=gp:31")
    assert status == 200, q1
    ava = student_section(q1, "Ava Jones")
    # Quarter 1 ends before Ava's week-1 result: level 2 (Developing), not today's 2.65
    level, change, count, comment = line(ava, "RL.7.2 Central idea")
    assert level == "Developing (2)"
    assert change == "no earlier level"  # nothing before the period
    assert count == "1" and comment == ""

    status, q2 = get(browser, f"/s/{handle}/report?period=gp:32")
    assert status == 200
    ava = student_section(q2, "Ava Jones")
    level, change, count, _ = line(ava, "RL.7.2 Central idea")
    assert level == "Developing, partial on target content (2.65)"  # decaying average of both
    assert change == "up 0.65"  # from 2 at the start of the period
    assert count == "1"  # the week-1 result is the only one in Quarter 2
    # groups as in Canvas, and the scale's levels as the legend
    groups = re.findall(r'<th scope="rowgroup" colspan="5">([^<]+)</th>', ava)
    assert groups == ["Reading", "Writing / Argument"]
    assert "What the levels mean" in q2 and "<strong>Proficient (3)</strong>" in q2


def test_a_date_range_and_a_section(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    day = T0.date()
    status, html = get(
        browser, f"/s/{handle}/report?from={day}&to={day + timedelta(days=30)}&section=46"
    )
    assert status == 200, html
    assert ">Ben Ortiz</h2>" in html and ">Ava Jones</h2>" not in html
    level, change, count, _ = line(student_section(html, "Ben Ortiz"), "RL.7.3 Interactions")
    assert (level, count) == ("Developing, partial on target content (2.63)", "2")
    assert change == "no earlier level"
    status, _ = get(browser, f"/s/{handle}/report?period=gp:999")
    assert status == 404
    status, _ = get(browser, f"/s/{handle}/report?from=2026-10-01&to=2026-09-01")
    assert status == 404


def test_the_teachers_comment_is_saved_and_shown(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    status, page = get(browser, f"/s/{handle}/report/students/813?period=gp:32")
    assert status == 200 and 'name="comment-97"' in page
    response = browser.client.post(
        f"/s/{handle}/report/students/813/comments",
        data={"csrf_token": csrf, "period": "gp:32", "comment-97": "  Cites two details now. "},
        base_url=TOOL_BASE,
        headers={"Origin": TOOL_BASE},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    status, html = get(browser, response.headers["Location"])
    assert status == 200 and "Comments saved." in html
    assert ">Cites two details now.</textarea>" in html
    # shown on the class report and the print view of that period only
    _, class_html = get(browser, f"/s/{handle}/report?period=gp:32")
    assert line(student_section(class_html, "Ben Ortiz"), "RL.7.2 Central idea")[3] == (
        "Cites two details now."
    )
    _, other = get(browser, f"/s/{handle}/report?period=gp:31")
    assert "Cites two details now." not in other
    # an empty box removes it
    browser.client.post(
        f"/s/{handle}/report/students/813/comments",
        data={"csrf_token": csrf, "period": "gp:32", "comment-97": ""},
        base_url=TOOL_BASE,
        headers={"Origin": TOOL_BASE},
    )
    with session_scope(seeded) as db:
        assert db.scalars(select(ReportComment)).all() == []


def test_students_read_only_their_own_report(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [LEARNER])  # Ava (812)
    status, own = get(browser, f"/s/{handle}/report?period=gp:32")
    assert status == 200 and "Progress report: Ava Jones" in own
    assert "<textarea" not in own and "Ben Ortiz" not in own
    for path in (
        "/report/students/813",
        "/report/print?student=813",
        "/report/report.pdf?student=813",
        "/report/students/999",
    ):
        status, html = get(browser, f"/s/{handle}{path}")
        assert status == 404, path
        assert "Ben Ortiz" not in html
    # their own print view and PDF, without naming themselves in the address
    status, printed = get(browser, f"/s/{handle}/report/print")
    assert status == 200 and printed.count('class="report-page"') == 1
    response = browser.client.post(
        f"/s/{handle}/report/students/812/comments",
        data={"csrf_token": csrf, "period": "gp:32", "comment-97": "I did great"},
        base_url=TOOL_BASE,
        headers={"Origin": TOOL_BASE},
    )
    assert response.status_code == 403
    with session_scope(seeded) as db:
        assert db.scalars(select(ReportComment)).all() == []


def test_class_set_prints_one_student_per_page(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, printed = get(browser, f"/s/{handle}/report/print?period=gp:32")
    assert status == 200
    assert printed.count('class="report-page"') == 3
    assert "<nav" not in printed  # print-ready: no navigation
    response = browser.client.get(f"/s/{handle}/report/report.pdf?period=gp:32", base_url=TOOL_BASE)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == 3
    text = reader.pages[0].extract_text()
    assert "Ava Jones" in text and "(2.65)" in text and "up 0.65" in text
    # a section: its students only
    response = browser.client.get(
        f"/s/{handle}/report/report.pdf?period=gp:32&section=45", base_url=TOOL_BASE
    )
    assert len(PdfReader(io.BytesIO(response.get_data())).pages) == 2


def test_the_report_in_spanish(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    read_in_spanish(browser, handle, csrf)
    status, html = get(browser, f"/s/{handle}/report/print?period=gp:32")
    assert status == 200 and '<html lang="es">' in html
    assert "Informe de progreso" in html and "sube 0,65" in html  # numbers per locale
