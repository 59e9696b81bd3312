"""Record evidence in the browser's place (the Flask client, real RS256 launches): the form for
one target, the CSV upload, and who may do either.

Seed (tests/grading/seed.py): Ava (812, section 45 "Period 2"), Ben (813, 46), Cal (814, 45);
targets 97 RL.7.2, 99 RL.7.3, 98 W.7.1; Ava's RL.7.2 from Canvas: 2 then 3 (2.65).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.evidence import views as evidence_views
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.observation import Observation
from lti_app.models.writeback import WritebackItem
from tests.conftest import LtiBrowser
from tests.grading.seed import get, launch, platform_id
from tests.lti_platform import INSTRUCTOR, LEARNER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import add_platform
from tests.synced_course import Student, Target, write_course


def post(browser: LtiBrowser, path: str, data: Mapping[str, object]) -> tuple[int, str, str]:
    response = browser.client.post(path, data=data, base_url=TOOL_BASE)
    text = response.get_data(as_text=True)
    return response.status_code, response.headers.get("Location", ""), text


def stored(app: Flask) -> tuple[int, int]:
    with app.app_context(), session_scope(app) as db:
        return db.query(Observation).count(), db.query(WritebackItem).count()


def cell(html: str, uid: str, oid: str) -> str:
    found = re.search(rf'<td class="(lv\w+)"><a href="grid/{uid}/{oid}">([^<]*)', html)
    assert found is not None, html
    return f"{found[1]} {found[2]}"


def field_of(html: str, name: str) -> str:
    """The level select of a student by name (``lv-<n>``)."""
    found = re.search(rf'<label for="(lv-[0-9]+)">{name}</label>', html)
    assert found is not None, html
    return found[1]


@pytest.fixture
def kicks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Deliveries started after a save (recorded, not run: no Canvas here)."""
    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(
        evidence_views, "kick_after_response", lambda pid, course: seen.append((pid, course))
    )
    return seen


def test_record_for_a_section_counts_once_everywhere_and_is_owed_to_canvas(
    seeded: Flask, platform: FakePlatform, browser: LtiBrowser, kicks: list[tuple[int, str]]
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    grid = get(browser, f"/s/{handle}/grid")[1]
    assert f'href="/s/{handle}/evidence?target=97"' in grid  # the column's own link
    assert 'Record<span class="visually-hidden"> evidence on RL.7.2 Central idea' in grid
    status, page = get(browser, f"/s/{handle}/evidence?target=97&section=45")
    assert status == 200, page
    assert "Levels observed on RL.7.2 Central idea" in page
    assert "Ava Jones" in page and "Cal Lee" in page and "Ben Ortiz" not in page  # Period 2
    today = datetime.now(UTC).date().isoformat()
    assert f'name="observed_on" value="{today}"' in page  # default today
    ava, cal = field_of(page, "Ava Jones"), field_of(page, "Cal Lee")
    day = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    form = {
        CSRF_FIELD: csrf,
        "target": "97",
        "section": "45",
        ava: "3.5",
        cal: "",  # nothing for Cal
        "note": "Explained the central idea in conference",
        "observed_on": day,
    }
    status, location, _ = post(browser, f"/s/{handle}/evidence", form)
    assert status == 303
    assert location.startswith(f"/s/{handle}/evidence/done/1?")
    assert kicks == [(platform_id(seeded, platform), "101")]
    assert ava == "lv-812"
    status, done = get(browser, location)
    assert "Recorded 1 observation. It counts in the levels now" in done
    with seeded.app_context(), session_scope(seeded) as db:
        obs = db.query(Observation).one()
        assert (obs.canvas_user_id, obs.canvas_outcome_id, obs.level) == ("812", "97", 3.5)
        assert obs.observed_on.isoformat() == day and obs.via == "form"
        item = db.query(WritebackItem).one()  # committed with it
        assert item.idempotency_key == f"obs:{obs.id}" and item.status == "pending"
        assert (item.canvas_user_id, item.canvas_outcome_id, item.level) == ("812", "97", 3.5)
        assert item.round == 1 and item.teacher_canvas_user_id == "812"
        assert "Explained" not in (item.comment or "")  # the note stays in the tool
    sent = get(browser, f"/s/{handle}/pathways/canvas-results")[1]
    assert '<td role="cell" data-label="Round">observation, round 1</td>' in sent
    # counted once: 0.65 x 3.5 + 0.35 x mean(2, 3) = 3.15 (the observation is the latest)
    assert cell(get(browser, f"/s/{handle}/grid")[1], "812", "97") == "lv6 3.15 P"
    report = json.loads(get(browser, f"/s/{handle}/export.json")[1])
    ava_report = report["students"][0]["targets"][0]
    assert (ava_report["level"], ava_report["evidence_count"]) == (3.15, 3)
    drill = get(browser, f"/s/{handle}/grid/812/97")[1]
    on = obs.observed_on  # the day in the reader's words: "December 3, 2026"
    said = f"Observed by the teacher on {on:%B} {on.day}, {on.year}"
    assert f"{said}: “Explained the central idea in conference”" in drill
    # the student sees it, with the note and the day observed
    student, _ = launch(browser, [LEARNER])
    mine = get(browser, f"/s/{student}/me/targets/97")[1]
    assert "What my teacher observed" in mine
    assert "Explained the central idea in conference" in mine
    assert f'<time datetime="{day}">' in mine


def test_a_refused_save_lists_every_problem_keeps_everything_and_stores_nothing(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    page = get(browser, f"/s/{handle}/evidence?target=97")[1]
    ava, ben = field_of(page, "Ava Jones"), field_of(page, "Ben Ortiz")
    future = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    form = {
        CSRF_FIELD: csrf,
        "target": "97",
        ava: "2.7",  # not a level of the scale
        ben: "3",
        "note": "Kept note",
        "observed_on": future,
    }
    status, _, html = post(browser, f"/s/{handle}/evidence", form)
    assert status == 400
    assert "Nothing was recorded. Nothing you typed was lost." in html
    assert f'<a href="#observed_on">The date observed {future} is in the future.</a>' in html
    assert ">Kept note</textarea>" in html
    assert '<option value="3.0" selected>' in html  # Ben's level kept
    assert stored(seeded) == (0, 0)
    form["observed_on"] = ""
    status, _, html = post(browser, f"/s/{handle}/evidence", form)
    assert status == 400
    assert f'<a href="#{ava}">Ava Jones: the level “2.7” is not on the scale' in html
    assert stored(seeded) == (0, 0)
    # no level at all, and no target
    status, _, html = post(browser, f"/s/{handle}/evidence", {CSRF_FIELD: csrf, "target": "97"})
    assert status == 400 and "Choose a level for at least one student." in html
    status, _, html = post(browser, f"/s/{handle}/evidence", {CSRF_FIELD: csrf, ben: "3"})
    assert status == 400 and "Choose a learning target of this course." in html
    assert stored(seeded) == (0, 0)


def test_csrf_students_and_other_courses_and_tenants_are_refused(
    seeded: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    # Another course of the same Canvas, and the same course id on another tenant, each with
    # a student the teacher's course does not have.
    pid = platform_id(seeded, platform)
    synced = datetime(2026, 10, 1, tzinfo=UTC)
    write_course(
        seeded,
        pid,
        "202",
        synced_at=synced,
        students=[Student("999", "Zed Other")],
        targets=[Target("77", "X")],
    )
    other = add_platform(seeded)
    write_course(
        seeded,
        other,
        "101",
        synced_at=synced,
        students=[Student("888", "Yan Else")],
        targets=[Target("97", "Y")],
    )
    handle, csrf = launch(browser, [INSTRUCTOR])
    page = get(browser, f"/s/{handle}/evidence?target=97")[1]
    assert "Zed Other" not in page and "Yan Else" not in page
    ava = field_of(page, "Ava Jones")
    form = {"target": "97", ava: "3"}
    assert post(browser, f"/s/{handle}/evidence", form)[0] == 403  # no CSRF token
    # a field naming another course's student
    path = f"/s/{handle}/evidence"
    status, _, html = post(browser, path, {CSRF_FIELD: csrf, "target": "97", "lv-999": "3"})
    assert status == 400 and "A level was given for a student not in this course." in html
    # another course's target
    status, _, html = post(browser, path, {CSRF_FIELD: csrf, "target": "77", ava: "3"})
    assert status == 400 and "Choose a learning target of this course." in html
    # the CSV names them by Canvas id: refused by line
    csv = b"canvas_user_id,canvas_outcome_id,level\n999,97,3\n888,97,3\n812,77,3\n"
    status, _, html = upload(browser, handle, csrf, csv)
    assert status == 400
    assert "Line 2: no student 999 in this course" in html
    assert "Line 3: no student 888 in this course" in html
    assert "Line 4: no learning target 77 in this course" in html
    student, student_csrf = launch(browser, [LEARNER])
    assert get(browser, f"/s/{student}/evidence?target=97")[0] == 403
    form = {CSRF_FIELD: student_csrf, "target": "97", "lv-812": "3"}
    assert post(browser, f"/s/{student}/evidence", form)[0] == 403
    one = b"canvas_user_id,canvas_outcome_id,level\n812,97,4\n"
    assert upload(browser, student, student_csrf, one)[0] == 403
    assert stored(seeded) == (0, 0)


def upload(browser: LtiBrowser, handle: str, csrf: str, data: bytes) -> tuple[int, str, str]:
    return post(
        browser,
        f"/s/{handle}/evidence/upload",
        {CSRF_FIELD: csrf, "file": (BytesIO(data), "scores.csv")},
    )


def test_upload_records_a_spreadsheet_file_all_or_nothing(
    seeded: Flask, browser: LtiBrowser, kicks: list[tuple[int, str]]
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    # Excel's UTF-8 CSV: a byte order mark, CRLF line ends, a quoted note over two lines
    good = (
        "\ufeffcanvas_user_id,canvas_outcome_id,level,note,observed_on\r\n"
        '812,97,P,"Lab, part 1\r\nand part 2",2026-11-20\r\n'
        "813,99,2.5,,\r\n"
        "\r\n"
    ).encode()
    status, location, _ = upload(browser, handle, csrf, good)
    assert status == 303 and "/evidence/done/2" in location
    with seeded.app_context(), session_scope(seeded) as db:
        rows = {(o.canvas_user_id, o.level, o.note, o.via) for o in db.query(Observation)}
        assert rows == {
            ("812", 3.0, "Lab, part 1\nand part 2", "upload"),
            ("813", 2.5, None, "upload"),
        }
    # the same file again: every row is already recorded, so nothing is
    status, _, html = upload(browser, handle, csrf, good)
    assert status == 400
    assert "scores.csv was not imported; nothing was stored." in html
    assert "Line 2: already recorded" in html and "Line 4: already recorded" in html
    bad = (
        b"canvas_user_id,canvas_outcome_id,level,note,observed_on\n"
        b"814,98,3,,\n"  # fine on its own
        b"814,98,Z,,\n"  # level not on the scale
        b"814,99,3,,2026-13-01\n"  # bad date
        b"814,98,3,,\n"  # duplicate of line 2
        b"814,99,3\n"  # too few cells
    )
    status, _, html = upload(browser, handle, csrf, bad)
    assert status == 400
    assert "Line 3: the level “Z” is not on the scale" in html
    assert "Line 4: the date observed “2026-13-01” is not a date" in html
    assert "Line 5: the same student, target and date as line 2" in html
    assert "Line 6: 3 cells where the header has 5" in html
    assert "Line 2:" not in html
    assert stored(seeded) == (2, 2)


def test_hostile_uploads_are_refused_with_a_reason(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    header = b"canvas_user_id,canvas_outcome_id,level,note\n"
    status, _, html = upload(browser, handle, csrf, header + b"812,97,3,bell\x07\n")
    assert status == 400 and "Line 2: contains control characters" in html
    status, _, html = upload(browser, handle, csrf, header + b"812,97,3,caf\xe9\n")
    assert status == 400 and "Line 2: the file is not UTF-8 text" in html
    status, _, html = upload(browser, handle, csrf, b"name,score\nAva,3\n")
    assert status == 400 and "missing column canvas_user_id, canvas_outcome_id, level" in html
    status, _, html = upload(browser, handle, csrf, header + b"812,97,3,\xe2\x80\xaeevil\n")
    assert status == 400 and "Line 2: the note contains control characters" in html
    # larger than MAX_CONTENT_LENGTH (256 KB): a clear 413, nothing stored
    huge = header + b"812,97,3,x\n" * 30_000
    status, _, html = upload(browser, handle, csrf, huge)
    assert status == 413
    assert "The file is too large: at most 256 KB can be uploaded." in html
    assert upload(browser, handle, csrf, b"")[0] == 400
    assert stored(seeded) == (0, 0)
