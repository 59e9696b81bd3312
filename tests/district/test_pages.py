"""The district dashboard and the learner's record through real launches: drill-down, CSV equal
to the tables, and who may see what (a guessed or foreign id is a 404)."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from typing import Any

import pytest
from flask import Flask

from tests.conftest import LtiBrowser
from tests.district.seed import seed_district
from tests.grading.seed import get
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, SYSTEM_USER, TOOL_BASE, FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_district(app, platform)
    return app


def as_user(uid: str, course: str | None = "101", account: tuple[str, bool] | None = None) -> Any:
    """``account``: ($Canvas.account.id, $Canvas.user.isRootAccountAdmin) as Canvas
    substitutes them (None: a registration that did not ask for them)."""

    def mutate(claims: dict[str, Any]) -> None:
        custom = claims["https://purl.imsglobal.org/spec/lti/claim/custom"]
        custom["canvas_user_id"] = uid
        if account is not None:
            custom["canvas_account_id"], custom["canvas_root_account_admin"] = account
        if course is None:  # account navigation: no course, no context
            del custom["canvas_course_id"]
            del claims["https://purl.imsglobal.org/spec/lti/claim/context"]

    return mutate


def session(
    browser: LtiBrowser,
    roles: list[str],
    uid: str,
    course: str | None = "101",
    account: tuple[str, bool] | None = None,
) -> str:
    response = browser.launch(roles=roles, mutate=as_user(uid, course, account))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    handle: str = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', page)[0]
    return handle


def tables(page: str) -> list[list[list[str]]]:
    """Every table's rows as text cells (header row first)."""
    out = []
    for table in re.findall(r"<table.*?</table>", page, re.S):
        rows = []
        for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
            rows.append([html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
        out.append(rows)
    return out


def csv_rows(browser: LtiBrowser, path: str) -> list[list[str]]:
    response = browser.client.get(path, base_url=TOOL_BASE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_an_admin_drills_from_district_to_school_to_course_to_class_grid(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [ADMIN, SYSTEM_USER], "1", course=None)
    status, page = get(browser, f"/s/{handle}/district")
    assert status == 200, page
    targets, schools = tables(page)
    # D.1: Ava (in both courses) once, Ben, Dee; 816 left and is not counted.
    d1 = next(r for r in targets if r[0] == "D.1: Main idea")
    assert d1[-3:] == ["3", "67%", "0%"]
    d2 = next(r for r in targets if r[0] == "D.2: Evidence")
    assert d2[-3:] == ["2", "0%", "50%"]  # Ben rising toward mastery: on track
    assert "RL.7.2" not in page  # a course's own outcome is no district target
    # Named as in Canvas; a school whose courses were synced before names were read, by id.
    assert [r[0] for r in schools[1:]] == ["Lincoln Middle School", "School (Canvas sub-account 2)"]
    assert '<svg class="bars"' in page and "<desc" in page
    # Every table's CSV has the table's rows.
    assert csv_rows(browser, f"/s/{handle}/district?csv=targets") == targets
    assert csv_rows(browser, f"/s/{handle}/district?csv=groups") == schools

    status, page = get(browser, f"/s/{handle}/district/school/3")
    assert status == 200, page
    assert "<h1>Lincoln Middle School</h1>" in page
    targets, courses = tables(page)
    assert [r[0] for r in targets[1:]] == ["D.1: Main idea"]
    assert targets[1][-3:] == ["2", "50%", "0%"]
    assert courses[1][:2] == ["Science 7", "2"]
    assert f'href="/s/{handle}/district/course/102' in page

    status, page = get(browser, f"/s/{handle}/district/course/101")
    assert status == 200, page
    targets, sections = tables(page)
    assert [r[0] for r in sections[1:]] == ["Period 2", "Period 5"]
    status, page = get(browser, f"/s/{handle}/district/course/101/grid")
    assert status == 200, page
    (grid,) = tables(page)
    assert grid[0] == ["Student", "D.1: Main idea", "D.2: Evidence"]
    assert grid[1][0] == "Ava Jones" and grid[1][1].startswith("3.3 ")
    assert csv_rows(browser, f"/s/{handle}/district/course/101/grid?csv=grid") == grid
    # The term filter keeps the same students (both courses are in it).
    status, termed = get(browser, f"/s/{handle}/district?term=1")
    assert (
        status == 200 and tables(termed)[0] == tables(get(browser, f"/s/{handle}/district")[1])[0]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/district/school/999",
        "/district/course/999",
        "/district/course/999/grid",
        "/district?term=999",
        "/district?csv=nothing",
        "/record/999",
        "/record/816",  # known to Canvas results only, never on a roster of this tenant
    ],
)
def test_guessed_ids_are_not_found(seeded: Flask, browser: LtiBrowser, path: str) -> None:
    handle = session(browser, [ADMIN, SYSTEM_USER], "1", course=None)
    status, _page = get(browser, f"/s/{handle}{path}")
    assert status == 404


def test_the_dashboard_is_for_administrators(seeded: Flask, browser: LtiBrowser) -> None:
    handle = session(browser, [INSTRUCTOR], "700")
    assert get(browser, f"/s/{handle}/district")[0] == 403
    assert get(browser, f"/s/{handle}/district/course/101/grid")[0] == 403


def test_a_student_sees_only_their_own_record_across_courses(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [LEARNER], "812")
    status, page = get(browser, f"/s/{handle}/record")
    assert status == 200, page
    assert "All my courses" in page
    # D.1's evidence from both courses, each named with its course and term.
    d1 = next(t for t in tables(page) if any("Science 7" in row[1] for row in t[1:]))
    assert [row[1:] for row in d1[1:]] == [
        ["ELA 7 (Fall 2026)", "2", "2"],
        ["Science 7 (Fall 2026)", "4", "3.3"],
    ]
    assert "RL.7.2" not in page
    assert get(browser, f"/s/{handle}/record/812")[0] == 200
    assert get(browser, f"/s/{handle}/record/813")[0] == 404


def test_a_teacher_sees_the_record_only_of_a_current_student(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [INSTRUCTOR], "700")
    assert get(browser, f"/s/{handle}/record/812")[0] == 200  # in course 101 now
    assert get(browser, f"/s/{handle}/record/815")[0] == 404  # only in another course
    assert get(browser, f"/s/{handle}/record/816")[0] == 404  # left course 101


def test_the_admin_home_and_the_student_page_link_to_the_new_views(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [ADMIN, SYSTEM_USER], "1", course=None)
    page = get(browser, f"/s/{handle}/")[1]
    assert f'href="/s/{handle}/district"' in page
    handle = session(browser, [LEARNER], "812")
    page = get(browser, f"/s/{handle}/")[1]
    assert f'href="/s/{handle}/record"' in page


def test_the_teacher_drill_down_links_to_the_student_record(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [INSTRUCTOR], "700")
    status, page = get(browser, f"/s/{handle}/grid/812/501")
    assert status == 200, page
    assert f'href="/s/{handle}/record/812"' in page
    assert "Ava Jones across all courses" in page


def test_a_school_admin_sees_only_their_school_and_its_learners(
    seeded: Flask, browser: LtiBrowser
) -> None:
    """A sub-account (school) admin's launch: their school is the top of the dashboard, and
    every other school, course, grid and learner is not found (issue 19)."""
    handle = session(browser, [ADMIN, SYSTEM_USER], "9", course=None, account=("3", False))
    status, page = get(browser, f"/s/{handle}/district")
    assert status == 200, page
    assert "<h1>Lincoln Middle School</h1>" in page
    targets, courses = tables(page)
    assert [r[0] for r in courses[1:]] == ["Science 7"]
    assert targets[1][-3:] == ["2", "50%", "0%"]  # Ava and Dee, not ELA 7's students
    assert "ELA 7" not in page and "sub-account 2" not in page
    assert get(browser, f"/s/{handle}/district/school/3")[0] == 200
    assert get(browser, f"/s/{handle}/district/course/102/grid")[0] == 200
    for elsewhere in ("/district/school/2", "/district/course/101", "/district/course/101/grid"):
        assert get(browser, f"/s/{handle}{elsewhere}")[0] == 404, elsewhere
    assert get(browser, f"/s/{handle}/record/815")[0] == 200  # in Science 7
    assert get(browser, f"/s/{handle}/record/812")[0] == 200  # in both schools
    assert get(browser, f"/s/{handle}/record/813")[0] == 404  # only in ELA 7


def test_a_region_admin_sees_the_schools_under_their_account(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle = session(browser, [ADMIN, SYSTEM_USER], "9", course=None, account=("1", False))
    status, page = get(browser, f"/s/{handle}/district")
    assert status == 200, page
    assert "<h1>Your schools</h1>" in page
    schools = tables(page)[1]
    assert [r[0] for r in schools[1:]] == ["Lincoln Middle School", "School (Canvas sub-account 2)"]
    # An admin of an account with no synced school under it sees no school at all.
    handle = session(browser, [ADMIN, SYSTEM_USER], "9", course=None, account=("77", False))
    status, page = get(browser, f"/s/{handle}/district")
    assert status == 200 and f"/s/{handle}/district/school/" not in page, page
    assert get(browser, f"/s/{handle}/district/school/3")[0] == 404
    assert get(browser, f"/s/{handle}/record/812")[0] == 404


def test_a_root_account_admin_sees_the_whole_district(seeded: Flask, browser: LtiBrowser) -> None:
    handle = session(browser, [ADMIN, SYSTEM_USER], "1", course=None, account=("3", True))
    status, page = get(browser, f"/s/{handle}/district")
    assert status == 200 and "<h1>The district</h1>" in page
    assert get(browser, f"/s/{handle}/district/course/101/grid")[0] == 200
