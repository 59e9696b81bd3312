"""Mastery settings (admin: edit, preview on a synced course, save) and the teacher's export.

The synced course is written straight into the sync tables (the sync itself is tested in
tests/sync/); results are Canvas rubric results on a 0-4 criterion.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.scales import load_preset
from lti_app.models.canvas import CanvasCourse
from lti_app.models.tenancy import Platform
from lti_app.policies.store import effective_policy
from tests.conftest import LtiBrowser
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, SYSTEM_USER, TOOL_BASE, FakePlatform
from tests.synced_course import Result, Student, Target, platform_id_of, write_course

MARZANO = load_preset("marzano_0_4_half")
T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
COURSE = "101"  # the FakePlatform launch's $Canvas.course.id


def seed_course(app: Flask, platform: FakePlatform, course_id: str = COURSE) -> None:
    """Ava: 2 then 3 of 4 on RL.7.2; Ben: 4 of 4 on RL.7.2. A carrier result and a hidden
    result on W.7.1 must not count."""
    write_course(
        app,
        platform_id_of(app, platform),
        course_id,
        synced_at=T0 + timedelta(days=30),
        sections={"45": "Period 2"},
        students=[Student("812", "Ava Jones", ["45"]), Student("813", "Ben Ortiz", ["45"])],
        targets=[Target("97", "RL.7.2 Central idea"), Target("98", "W.7.1 Argument")],
        results=[
            Result("1", "812", "97", 2.0, T0),
            Result("2", "812", "97", 3.0, T0 + timedelta(weeks=1)),
            Result("3", "813", "97", 4.0, T0),
            Result("4", "812", "98", 4.0, T0, from_carrier=True),
            Result("5", "813", "98", 1.0, T0, hidden=True),
        ],
    )


def launch(browser: LtiBrowser, roles: list[str]) -> tuple[str, str]:
    response = browser.launch(roles=roles)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf


def form_data(csrf: str, **changes: str) -> dict[str, str]:
    """The built-in default (Marzano 0-4 half points, linear percent, decaying average 65)."""
    data = {
        CSRF_FIELD: csrf,
        "scope": "district",
        "scale_name": MARZANO.name,
        "threshold": "3",
        "points_possible": "4",
        "method": "decaying_average",
        "parameter": "65",
        "minimum_evidence": "1",
        "override_rule": "resume_after_newer_evidence",
        "preview_course": COURSE,
    }
    for i, level in enumerate(MARZANO.levels):
        data |= {
            f"level-{i}-value": str(level.value),
            f"level-{i}-label": level.label,
            f"level-{i}-short_label": level.short_label,
            f"level-{i}-color": level.color,
            f"level-{i}-description": level.description,
            f"level-{i}-min_percent": str(level.value / 4 * 100),
        }
    return data | changes


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_course(app, platform)
    return app


def post(browser: LtiBrowser, handle: str, data: dict[str, str]) -> Any:
    return browser.client.post(f"/s/{handle}/admin/mastery", data=data, base_url=TOOL_BASE)


def test_admin_sees_policy_in_force_and_synced_courses(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [ADMIN, SYSTEM_USER])
    page = browser.client.get(f"/s/{handle}/admin/mastery", base_url=TOOL_BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The built-in default" in html
    assert f'<option value="{COURSE}"' in html
    assert 'name="level-8-min_percent" value="100"' in html


def test_preview_counts_what_would_change_and_saves_nothing(
    seeded: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    # As Canvas computes it (the default): the decaying average gives Ava 0.65 x 3 + 0.35 x 2
    # = 2.65 of 4 points, which is level 2.5 (not mastered); latest gives 3 of 4: level 3.0
    page = post(browser, handle, form_data(csrf, method="latest", parameter="", action="preview"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "1 of 4 student levels would change" in html
    assert "Mastered: 1 now, 2 after" in html
    assert "(1 newly, 0 no longer)" in html
    assert "2.5 – Developing, partial on target content" in html
    assert "3.0 – Proficient" in html
    with seeded.app_context(), session_scope(seeded) as db:
        pid = db.scalars(select(Platform.id)).first()
        assert pid is not None
        assert effective_policy(db, pid, COURSE).source == "default"


def test_save_then_course_export_uses_it(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    page = post(browser, handle, form_data(csrf, method="latest", parameter="", action="save"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "Saved as the district default" in html
    teacher, _ = launch(browser, [INSTRUCTOR])
    export = browser.client.get(f"/s/{teacher}/export.json", base_url=TOOL_BASE)
    assert export.status_code == 200
    assert (
        export.headers["Content-Disposition"]
        == f'attachment; filename="mastery-course-{COURSE}.json"'
    )
    report = json.loads(export.get_data(as_text=True))
    ava = report["students"][0]
    assert ava["canvas_user_id"] == "812"
    assert ava["targets"][0]["level"] == 3.0  # latest, as saved
    assert ava["targets"][0]["label"] == "Proficient"
    assert ava["targets"][1]["level"] is None  # only a carrier result
    assert report["students"][1]["targets"][1]["evidence_count"] == 0  # hidden result skipped


def test_invalid_scale_is_refused_naming_the_level_and_keeping_input(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    data = form_data(csrf, action="save")
    data["level-3-value"] = "0.5"  # duplicates level 2's value
    data["level-5-label"] = "Typed but not saved"
    page = post(browser, handle, data)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Nothing was saved" in html
    assert "level 4" in html.lower()
    assert 'value="Typed but not saved"' in html
    bad_colour = post(browser, handle, form_data(csrf, action="save") | {"level-0-color": "#zz"})
    assert bad_colour.status_code == 400
    assert "level 1" in bad_colour.get_data(as_text=True).lower()


def test_bad_mapping_and_method_value_messages(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    page = post(browser, handle, form_data(csrf, parameter="120", action="save"))
    assert page.status_code == 400
    assert "between 1 and 99" in page.get_data(as_text=True)
    page = post(browser, handle, form_data(csrf, **{"level-4-min_percent": "", "action": "save"}))
    assert page.status_code == 400
    assert "Level 5 (Developing): give the percent" in page.get_data(as_text=True)


def test_only_admins_and_only_with_csrf(seeded: Flask, browser: LtiBrowser) -> None:
    teacher, _ = launch(browser, [INSTRUCTOR])
    assert browser.client.get(f"/s/{teacher}/admin/mastery", base_url=TOOL_BASE).status_code == 403
    admin, _ = launch(browser, [ADMIN, SYSTEM_USER])
    forged = form_data("not-the-token", action="save")
    assert post(browser, admin, forged).status_code == 403


def test_a_course_of_another_platform_cannot_be_previewed(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    page = post(browser, handle, form_data(csrf, scope="999", action="preview"))
    assert page.status_code == 404


def test_export_csv_for_teachers_only(seeded: Flask, browser: LtiBrowser) -> None:
    teacher, _ = launch(browser, [INSTRUCTOR])
    export = browser.client.get(f"/s/{teacher}/export.csv", base_url=TOOL_BASE)
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 4
    assert rows[0]["name"] == "Ava Jones"
    # The built-in decaying average as Canvas computes it: 2.65 of 4 points is level 2.5.
    assert (rows[0]["level"], rows[0]["canvas_score"]) == ("2.5", "2.65")
    student, _ = launch(browser, [LEARNER])
    assert browser.client.get(f"/s/{student}/export.csv", base_url=TOOL_BASE).status_code == 403


def test_export_csv_keeps_the_grids_section_filter(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    """The grid shows Section A: its "Download CSV" holds Section A's students only."""
    write_course(
        app,
        platform_id_of(app, platform),
        COURSE,
        synced_at=T0,
        sections={"45": "Section A", "46": "Section B"},
        students=[
            Student("812", "Ava Jones", ["45"]),
            Student("813", "Ben Ortiz", ["46"]),
            Student("814", "Cy Lee", ["45", "46"]),
        ],
        targets=[Target("97", "RL.7.2 Central idea")],
        results=[Result("1", "812", "97", 3.0, T0), Result("2", "813", "97", 2.0, T0)],
    )
    teacher, _ = launch(browser, [INSTRUCTOR])
    grid = browser.client.get(f"/s/{teacher}/grid?section=45", base_url=TOOL_BASE)
    link = re.search(r'href="([^"]*export\.csv[^"]*)"', grid.get_data(as_text=True))
    assert link is not None and link.group(1).endswith("export.csv?section=45")
    export = browser.client.get(link.group(1), base_url=TOOL_BASE)
    assert export.status_code == 200
    assert 'filename="mastery-course-101-section-45.csv"' in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["name"] for r in rows) == ["Ava Jones", "Cy Lee"]
    whole = browser.client.get(f"/s/{teacher}/export.csv", base_url=TOOL_BASE)
    assert len(list(csv.DictReader(io.StringIO(whole.get_data(as_text=True))))) == 3
    other = browser.client.get(f"/s/{teacher}/export.csv?section=999", base_url=TOOL_BASE)
    assert other.status_code == 404
    assert "no such section" in other.get_data(as_text=True)


def test_export_before_any_sync_says_so(app: Flask, browser: LtiBrowser) -> None:
    teacher, _ = launch(browser, [INSTRUCTOR])
    page = browser.client.get(f"/s/{teacher}/export.json", base_url=TOOL_BASE)
    assert page.status_code == 409
    assert "not been synced" in page.get_data(as_text=True)


# --- flask --app lti_app mastery export --------------------------------------------------------


def test_cli_export_json_and_csv(seeded: Flask, tmp_path: Any) -> None:
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["mastery", "export", "--course-id", COURSE, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["course_id"] == COURSE
    assert [s["canvas_user_id"] for s in report["students"]] == ["812", "813"]
    ava, ben = report["students"]
    # Level on the district scale beside canvas_score, what Canvas's gradebook shows: on W.7.1
    # Ava has only a result on the tool's carrier (Canvas counts it, the tool's level does
    # not: that evidence is the tool's own), Ben only a hidden one (Canvas shows nothing).
    assert [(t["level"], t["canvas_score"]) for t in ava["targets"]] == [(2.5, 2.65), (None, 4.0)]
    assert [(t["level"], t["canvas_score"]) for t in ben["targets"]] == [(4.0, 4.0), (None, None)]
    out = tmp_path / "course.csv"
    result = runner.invoke(
        args=["mastery", "export", "--course-id", COURSE, "--format", "csv", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["canvas_user_id"], r["canvas_outcome_id"]) for r in rows] == [
        ("812", "97"),
        ("812", "98"),
        ("813", "97"),
        ("813", "98"),
    ]
    assert [r["canvas_score"] for r in rows] == ["2.65", "4.0", "4.0", ""]


def test_cli_export_unknown_course_and_bad_format(seeded: Flask) -> None:
    runner = seeded.test_cli_runner()
    result = runner.invoke(args=["mastery", "export", "--course-id", "404"])
    assert result.exit_code != 0
    assert "has not been synced" in result.output
    result = runner.invoke(args=["mastery", "export", "--course-id", COURSE, "--format", "xml"])
    assert result.exit_code == 2


def test_admin_page_names_courses_and_presets(seeded: Flask, browser: LtiBrowser) -> None:
    with seeded.app_context(), session_scope(seeded) as db:
        course = db.scalars(select(CanvasCourse)).one()
        course.name = "ELA 7 – Period 2"
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    html = browser.client.get(f"/s/{handle}/admin/mastery", base_url=TOOL_BASE).get_data(
        as_text=True
    )
    assert f'<option value="{COURSE}" >ELA 7 – Period 2 (course {COURSE}) only</option>' in html
    assert f"preset: {MARZANO.name}</option>" in html and "preset: marzano_0_4_half" not in html
    page = post(browser, handle, form_data(csrf, method="latest", parameter="", action="preview"))
    assert f"What would change in ELA 7 – Period 2 (course {COURSE})" in page.get_data(as_text=True)


def test_student_words_for_a_level_are_saved_and_shown_to_students(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    form = browser.client.get(f"/s/{handle}/admin/mastery", base_url=TOOL_BASE).get_data(
        as_text=True
    )
    # the preset's student words are filled in beside the teacher's
    assert "What students read (“I can …”)" in form
    assert "I can do the whole target on my own without big mistakes.</textarea>" in form
    data = form_data(csrf, action="save")
    data["level-6-student_description"] = "I can explain the theme on my own."
    page = post(browser, handle, data)
    assert page.status_code == 200, page.get_data(as_text=True)
    student, _ = launch(browser, [LEARNER])
    html = browser.client.get(f"/s/{student}/me/", base_url=TOOL_BASE).get_data(as_text=True)
    assert "3 Proficient</strong> (proficient): I can explain the theme on my own." in html
    assert MARZANO.levels[6].description not in html  # the teacher's words stay with teachers


def test_a_colour_name_is_refused_in_the_words_typed(seeded: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    data = form_data(csrf, action="save")
    data["level-2-color"] = "orange"
    html = post(browser, handle, data).get_data(as_text=True)
    assert "Level 3: the colour “orange” is not a hex colour" in html
    assert "#orange" not in html.split("Nothing was saved")[1].split("</ul>")[0]


def test_admin_pages_share_one_navigation_and_say_what_the_percentage_is(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [ADMIN, SYSTEM_USER])
    navs = []
    for path in ("/admin", "/admin/mastery", "/pathways/library"):
        html = browser.client.get(f"/s/{handle}{path}", base_url=TOOL_BASE).get_data(as_text=True)
        nav = html.split('<nav aria-label="Administration pages"', 1)[1].split("</nav>", 1)[0]
        assert nav.count('aria-current="page"') == 1, path
        navs.append(re.findall(r">([^<]+)</a>", nav))
    assert (
        navs[0]
        == navs[1]
        == navs[2]
        == [
            "Administration overview",
            "Installation",
            "Proficiency scale and calculation",
            "District pathway library",
        ]
    )
    html = browser.client.get(f"/s/{handle}/admin/mastery", base_url=TOOL_BASE).get_data(
        as_text=True
    )
    assert ": % on" not in html and "the latest score counts the percentage set below" in html
    assert "(value: 65%)" in html
