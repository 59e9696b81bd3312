"""Teacher overrides from the drill-down, and demonstrations as evidence in grid and export.

Overrides are stored by the pathways service (mastery_override); they are evidence with a
required reason that the student sees, and clearing one brings the calculated level back.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.pathways import Demonstration, MasteryOverride
from tests.conftest import LtiBrowser
from tests.grading.seed import T0, get, launch, platform_id, seed_course
from tests.lti_platform import INSTRUCTOR, LEARNER, TOOL_BASE, FakePlatform

DRILL = "/s/{h}/grid/812/97"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_course(app, platform)
    return app


def post(browser: LtiBrowser, path: str, data: dict[str, str]) -> tuple[int, str, str]:
    response = browser.client.post(path, data=data, base_url=TOOL_BASE)
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def cell(html: str, uid: str, oid: str) -> str:
    found = re.search(rf'<td class="(lv\w+)"><a href="grid/{uid}/{oid}">([^<]*)', html)
    assert found is not None, html
    return f"{found[1]} {found[2]}"


def test_override_set_shown_everywhere_then_cleared(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    path = DRILL.format(h=handle) + "/override"
    status, location, _ = post(
        browser,
        path,
        {CSRF_FIELD: csrf, "action": "set", "level": "3.5", "reason": "Strong conference, 11/20."},
    )
    assert status == 303
    assert location.endswith(f"/s/{handle}/grid/812/97/done/set")
    status, html = get(browser, location)
    assert status == 200, html
    assert "Override saved. The student sees the level and your reason." in html
    assert '<span class="level-badge lv7">3.5 P+ – ' in html
    assert "Set by a teacher override: 3.5." in html
    # the reason once on the page, punctuated as typed ("11/20." not "11/20..", no '."."')
    assert html.count("Strong conference, 11/20") == 1
    assert "Reason shown to the student: “Strong conference, 11/20.”</p>" in html
    assert "No (the teacher's override sets the level)" in html
    assert "An override is in force: 3.5 (its reason is above)." in html
    # recorded with who set it
    with seeded.app_context(), session_scope(seeded) as db:
        row = db.query(MasteryOverride).one()
        assert (row.canvas_user_id, row.canvas_outcome_id, row.level) == ("812", "97", 3.5)
        assert row.teacher_canvas_user_id == "812"  # the FakePlatform launch's $Canvas.user.id
        assert row.cleared_at is None
    # the grid marks the cell and the export agrees
    status, grid = get(browser, f"/s/{handle}/grid")
    assert cell(grid, "812", "97") == "lv7 3.5 P+"
    assert (
        '3.5 P+<span aria-hidden="true">*</span><span class="visually-hidden"> (teacher override)'
        in grid
    )
    report = json.loads(get(browser, f"/s/{handle}/export.json")[1])
    assert report["students"][0]["targets"][0]["level"] == 3.5

    status, location, _ = post(browser, path, {CSRF_FIELD: csrf, "action": "clear"})
    assert status == 303 and location.endswith("/done/cleared")
    status, html = get(browser, location)
    assert "Override cleared: the level is calculated from the evidence again." in html
    assert "An override is in force" not in html
    assert cell(get(browser, f"/s/{handle}/grid")[1], "812", "97") == "lv5 2.65 D+"
    with seeded.app_context(), session_scope(seeded) as db:
        row = db.query(MasteryOverride).one()  # kept for the record
        assert row.cleared_at is not None and row.cleared_by == "812"
    # clearing again says there was nothing to clear
    assert post(browser, path, {CSRF_FIELD: csrf, "action": "clear"})[1].endswith("/done/none")


def test_override_needs_a_reason_and_a_level_and_keeps_input(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    path = DRILL.format(h=handle) + "/override"
    status, _, html = post(
        browser, path, {CSRF_FIELD: csrf, "action": "set", "level": "3.0", "reason": "   "}
    )
    assert status == 400
    assert "The override was not saved. Please fix:" in html
    assert '<a href="#ov-reason">Give a reason; the student sees it.</a>' in html
    assert '<option value="3.0" selected>' in html  # the chosen level is kept
    status, _, html = post(
        browser, path, {CSRF_FIELD: csrf, "action": "set", "level": "2.7", "reason": "Because"}
    )
    assert status == 400
    assert '<a href="#ov-level">Choose a level of the scale.</a>' in html
    assert ">Because</textarea>" in html
    with seeded.app_context(), session_scope(seeded) as db:
        assert db.query(MasteryOverride).count() == 0


def test_override_refused_without_csrf_for_students_and_outside_the_course(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    good = {"action": "set", "level": "3.0", "reason": "Seen in class"}
    assert post(browser, DRILL.format(h=handle) + "/override", good)[0] == 403  # no CSRF
    # not a student / not a target of this course
    assert post(browser, f"/s/{handle}/grid/999/97/override", {CSRF_FIELD: csrf, **good})[0] == 404
    assert post(browser, f"/s/{handle}/grid/812/555/override", {CSRF_FIELD: csrf, **good})[0] == 404
    student, student_csrf = launch(browser, [LEARNER])
    path = DRILL.format(h=student) + "/override"
    assert post(browser, path, {CSRF_FIELD: student_csrf, **good})[0] == 403
    with seeded.app_context(), session_scope(seeded) as db:
        assert db.query(MasteryOverride).count() == 0


def test_scored_demonstrations_are_evidence(
    seeded: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    pid = platform_id(seeded, platform)
    with seeded.app_context(), session_scope(seeded) as db:
        for uid, weeks in (("812", 3), ("814", 2)):
            db.add(
                Demonstration(
                    platform_id=pid,
                    canvas_course_id="101",
                    canvas_user_id=uid,
                    canvas_outcome_id="97",
                    kind="project",
                    title="Poster",
                    state="scored",
                    open_slot=None,
                    score=4.0,
                    scored_by="1",
                    submitted_at=T0 + timedelta(weeks=weeks, days=-1),
                    scored_at=T0 + timedelta(weeks=weeks),
                )
            )
    handle, _ = launch(browser, [INSTRUCTOR])
    grid = get(browser, f"/s/{handle}/grid")[1]
    assert cell(grid, "812", "97") == "lv6 3.48 P"  # 0.65 x 4 + 0.35 x mean(2, 3) = 3.475
    assert cell(grid, "814", "97") == "lv8 4 A"  # only the demonstration
    status, html = get(browser, DRILL.format(h=handle))
    assert status == 200
    assert re.search(r'<a href="/s/[^/]+/pathways/demonstrations/\d+">Demonstration scored', html)
    report = json.loads(get(browser, f"/s/{handle}/export.json")[1])
    ava = report["students"][0]
    assert ava["targets"][0]["level"] == 3.48
    assert ava["targets"][0]["evidence_count"] == 3
