"""The teacher's class mastery grid: levels, legend, filter, sort, groups, links; who may see it."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse, CourseAlignment
from tests.conftest import LtiBrowser
from tests.grading.seed import get, launch, read_in_spanish, seed_course
from tests.lti_platform import INSTRUCTOR, LEARNER, TA, TOOL_BASE, FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_course(app, platform)
    return app


def body_rows(html: str) -> list[str]:
    tbody = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", tbody, re.S)


def test_grid_shows_levels_as_text_and_colour(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid")
    assert status == 200, html
    rows = body_rows(html)
    names = [re.findall(r'<th scope="row">([^<]+)</th>', r) for r in rows]
    assert names == [["Ava Jones"], ["Cal Lee"], ["Ben Ortiz"]]  # Canvas's sortable name
    ava, cal, ben = rows
    # Reading: RL.7.2, RL.7.3; then Writing / Argument: W.7.1 (outline order by group path)
    assert '<td class="lv5"><a href="grid/812/97">2.65 D+</a></td>' in ava
    assert '<td class="lv8"><a href="grid/813/97">4 A</a></td>' in ben
    assert '<td class="lv5"><a href="grid/813/99">2.63 D+</a></td>' in ben
    # the carrier result and the hidden result never count
    assert '<a href="grid/812/98"><span aria-hidden="true">&#8211;</span>' in ava
    assert '<a href="grid/813/98"><span aria-hidden="true">&#8211;</span>' in ben
    assert '<td class="lv1"><a href="grid/814/98">0.5 NY+</a></td>' in cal
    assert '<td class="mc">1</td>' in ben  # mastered RL.7.2
    # the legend names every level in words, with the mastery levels marked
    assert "<strong>3 P</strong> Proficient <em>(mastery)</em>" in html
    assert "<strong>2.5 D+</strong>" in html
    css = re.search(r'href="(/levels/[0-9a-f-]+\.css)"', html)
    assert css is not None
    sheet = browser.client.get(css[1])
    assert sheet.status_code == 200 and sheet.mimetype == "text/css"
    assert ".lv0{background:#b3261e;color:#ffffff}" in sheet.get_data(as_text=True)
    # real table semantics: caption, column groups, column and row headers
    assert "<caption" in html and 'scope="colgroup"' in html and 'scope="col"' in html
    assert (
        '<th scope="colgroup" id="g1" colspan="1"><span class="gname" title="Writing / Argument">'
        "Writing / Argument" in html
    )
    # the sync status and the connect step are one click away
    assert f'href="/s/{handle}/canvas"' in html


def test_section_filter_and_sorts(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])

    def names(query: str) -> list[str]:
        status, html = get(browser, f"/s/{handle}/grid?{query}")
        assert status == 200, html
        return re.findall(r'<th scope="row">([^<]+)</th>', html)

    assert names("section=45") == ["Ava Jones", "Cal Lee"]
    html = get(browser, f"/s/{handle}/grid?section=45&sort=level_asc")[1]
    assert "2 students in Period 2, sorted by level, lowest first</caption>" in html
    assert '<option value="45" selected>Period 2</option>' in html
    assert names("section=46") == ["Ben Ortiz"]
    assert names("section=999") == ["Ava Jones", "Cal Lee", "Ben Ortiz"]  # not ours: all
    # mean levels: Ava 2.65, Ben (4 + 2.63) / 2 = 3.31, Cal 0.5
    assert names("sort=level_desc") == ["Ben Ortiz", "Ava Jones", "Cal Lee"]
    assert names("sort=level_asc") == ["Cal Lee", "Ava Jones", "Ben Ortiz"]
    # growth since the first evidence: Ava +0.65, Ben (0 + 1.63) / 2, Cal 0
    assert names("sort=growth_desc") == ["Ben Ortiz", "Ava Jones", "Cal Lee"]
    assert names("sort=growth_asc&section=45") == ["Cal Lee", "Ava Jones"]
    assert names("sort=nonsense") == ["Ava Jones", "Cal Lee", "Ben Ortiz"]


def test_collapsed_group_shows_mastered_count(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid?closed=0&sort=level_desc")
    assert status == 200
    rows = body_rows(html)
    assert 'href="grid/813/97"' not in html  # the Reading cells are folded away
    assert '<td class="gsum">1 of 2</td>' in rows[0]  # Ben first (sorted by level)
    assert "2 targets: mastered" in html
    # the toggle link expands it again and keeps the sort
    assert f'href="/s/{handle}/grid?sort=level_desc#g0">Expand' in html
    assert f'href="/s/{handle}/grid?closed=0&amp;closed=1&amp;sort=level_desc#g1">Collapse' in html


def test_teaching_assistant_sees_the_grid(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [TA])
    status, _ = get(browser, f"/s/{handle}/grid")
    assert status == 200


def test_students_are_refused(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [LEARNER])
    status, html = get(browser, f"/s/{handle}/grid")
    assert status == 403
    assert "Ava Jones" not in html
    status, _ = get(browser, f"/s/{handle}/grid/812/97")
    assert status == 403


def test_unsynced_course_points_to_the_sync_page(app: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid")
    assert status == 409
    assert "has not been synced from Canvas yet" in html
    assert f'href="/s/{handle}/canvas"' in html


def test_no_session_no_grid(seeded: Flask, browser: LtiBrowser) -> None:
    status, _ = get(browser, "/s/not-a-session/grid")
    assert status == 401


def test_levels_stylesheet_accepts_only_colours(seeded: Flask, browser: LtiBrowser) -> None:
    assert browser.client.get("/levels/zzzzzz-000000.css").status_code == 404
    assert browser.client.get("/levels/ffffff.css").status_code == 404  # one level is no scale
    ok = browser.client.get("/levels/ffffff-000000.css")
    assert ok.get_data(as_text=True) == (
        ".lv0{background:#ffffff;color:#000000}\n.lv1{background:#000000;color:#ffffff}\n"
    )


def test_drilldown_explains_the_calculation(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid/812/97")
    assert status == 200, html
    assert "<h1>Ava Jones: RL.7.2 Central idea</h1>" in html
    assert "2.65 D+ – Developing, partial on target content" in html
    assert (
        "Decaying average, 65% on the latest score: 0.65 × 3.0 + 0.35 × 2.0 = 2.65, where 3.0 "
        "is the latest score and the earlier score, 2.0." in html
    )
    # every piece of evidence in time order with its source
    rows = re.findall(
        r'<tr>\s*<td><time[^>]*>([^<]+)</time></td>\s*<td><a href="([^"]+)" target="_blank" '
        r'rel="noopener noreferrer">([^<]+)<span',
        html,
    )
    # each links to the assignment on the course's own Canvas (a new tab: the tool stays open)
    link = "https://school.canvas.test.example/courses/101/assignments/53"
    assert rows == [
        ("Sep 7, 2026, 3:00 PM UTC", link, "Canvas assignment 53: 2 of 4 points"),
        ("Sep 14, 2026, 3:00 PM UTC", link, "Canvas assignment 53: 3 of 4 points"),
    ]
    # growth in words and as a chart with a text alternative
    assert "Not on track yet" not in html and "On track" in html
    assert "<dt>Change</dt><dd>+0.65</dd>" in html
    assert 'role="img" aria-labelledby="chart-t chart-d"' in html
    assert "2 scores from 2 on 2026-09-07 to 3 on 2026-09-14; mastery at 3" in html
    assert html.count("<circle ") == 2


def test_drilldown_says_where_evidence_came_from_in_the_readers_language(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    read_in_spanish(browser, handle, csrf)
    saved = browser.client.post(
        f"/s/{handle}/grid/812/97/override",
        data={"csrf_token": csrf, "action": "set", "level": "3.5", "reason": "Conferencia"},
        base_url=TOOL_BASE,
        headers={"Origin": TOOL_BASE},
    )
    assert saved.status_code == 303
    status, html = get(browser, f"/s/{handle}/grid/812/97")
    assert status == 200 and '<html lang="es">' in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Tarea de Canvas 53: 2 de 4 puntos" in text
    assert "Tarea de Canvas 53: 3 de 4 puntos" in text
    assert "Ajuste del docente" in text
    assert "Canvas assignment" not in text and "Teacher override" not in text


def test_drilldown_hands_the_session_on_without_cookies(seeded: Flask, browser: LtiBrowser) -> None:
    """A browser that refuses the tool's cookie keeps its session on the drill-down too (the
    page hands the secret to session_nav.js; a template variable named g once hid it)."""
    response = browser.launch(roles=[INSTRUCTOR])
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', response.get_data(as_text=True))[
        0
    ]
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if handle in c)
    secret = cookie.split("=", 1)[1].split(";", 1)[0]
    cookieless = browser.client.application.test_client()
    page = cookieless.get(
        f"/s/{handle}/grid/812/97", base_url=TOOL_BASE, headers={"X-Launch-Token": secret}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert f'<meta name="mp-launch" content="{secret}"' in html
    assert "<dt>Change</dt><dd>+0.65</dd>" in html  # the growth still reads as before


def test_drilldown_names_the_assignment_read_in_sync(seeded: Flask, browser: LtiBrowser) -> None:
    with seeded.app_context(), session_scope(seeded) as db:
        course = db.scalars(select(CanvasCourse)).one()
        db.add(CourseAlignment(course_pk=course.id, alignment="assignment_53", name="Unit 2 essay"))
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid/812/97")
    assert status == 200
    assert html.count(">Unit 2 essay (Canvas): 2 of 4 points<span") == 1
    assert "Canvas assignment 53" not in html


def test_drilldown_of_carrier_and_hidden_only_has_no_evidence(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/grid/812/98")
    assert status == 200
    assert "No level yet" in html and "No evidence yet" in html
    assert '<svg class="chart"' not in html


def test_drilldown_only_for_this_course(seeded: Flask, browser: LtiBrowser) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    assert get(browser, f"/s/{handle}/grid/999/97")[0] == 404  # not a student of the course
    assert get(browser, f"/s/{handle}/grid/812/12345")[0] == 404  # not a target of the course


OTHER = FakePlatform(
    issuer="https://canvas.other-district.example",
    client_id="20000000000777",
    deployment_id="55:other-district-deployment",
    canvas_url="https://other-district.instructure.example",
    auth_url="https://sso.other-district.example/api/lti/authorize_redirect",
    token_url="https://sso.other-district.example/login/oauth2/token",
    jwks_url="https://sso.other-district.example/api/lti/security/jwks",
    key_name="platform-other",
)


def add_student(app: Flask, platform: FakePlatform, course_id: str, uid: str, name: str) -> None:
    from lti_app.db import session_scope
    from lti_app.models.canvas import CanvasCourse, CourseStudent
    from tests.grading.seed import platform_id

    pid = platform_id(app, platform)
    with app.app_context(), session_scope(app) as db:
        course = db.query(CanvasCourse).filter_by(platform_id=pid, canvas_course_id=course_id).one()
        db.add(
            CourseStudent(
                course_pk=course.id,
                canvas_user_id=uid,
                name=name,
                sortable_name=name,
                login_id=None,
                section_ids=[],
            )
        )


def test_another_course_and_another_tenant_stay_out(
    seeded: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    # Course 202 on the same Canvas, and course 101 of another district's Canvas.
    seed_course(seeded, platform, course_id="202")
    add_student(seeded, platform, "202", "900", "Dee Elsewhere")
    result = seeded.test_cli_runner().invoke(args=OTHER.cli_args())
    assert result.exit_code == 0, result.output
    seed_course(seeded, OTHER, course_id="101")
    add_student(seeded, OTHER, "101", "901", "Zed Otherdistrict")

    handle, _ = launch(browser, [INSTRUCTOR])  # a teacher of course 101 on the first Canvas
    status, html = get(browser, f"/s/{handle}/grid")
    assert status == 200
    assert "Dee Elsewhere" not in html and "Zed Otherdistrict" not in html
    assert len(body_rows(html)) == 3
    # no URL reaches them: the course comes from the launch, the tenant from its platform
    assert get(browser, f"/s/{handle}/grid/900/97")[0] == 404
    assert get(browser, f"/s/{handle}/grid/901/97")[0] == 404
    assert get(browser, f"/s/{handle}/grid?course=202")[1].count('<th scope="row">') == 3


def test_grid_follows_a_new_sync_and_a_policy_change(
    seeded: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    """The computed grid is kept between requests; a sync or a policy change replaces it."""
    from datetime import timedelta

    from sqlalchemy import select

    from lti_app.db import session_scope
    from lti_app.mastery.calculation import Method, Policy
    from lti_app.mastery.scales import load_preset
    from lti_app.models.canvas import CanvasCourse, CourseOutcomeResult
    from lti_app.policies.store import default_mapping, save_scale, set_policy
    from tests.grading.seed import platform_id

    handle, _ = launch(browser, [INSTRUCTOR])
    assert '<a href="grid/812/97">2.65 D+</a>' in get(browser, f"/s/{handle}/grid")[1]
    pid = platform_id(seeded, platform)
    with seeded.app_context(), session_scope(seeded) as db:  # what a completed sync does
        course = db.scalars(select(CanvasCourse).where(CanvasCourse.platform_id == pid)).one()
        result = db.scalars(
            select(CourseOutcomeResult).where(CourseOutcomeResult.canvas_result_id == "2")
        ).one()
        result.score, result.percent = 4.0, 1.0
        assert course.last_synced_at is not None
        course.last_synced_at = course.last_synced_at + timedelta(days=1)
        course.last_sync_run_id = 2
    # 0.65 x 4 + 0.35 x 2 = 3.3
    assert '<a href="grid/812/97">3.3 P</a>' in get(browser, f"/s/{handle}/grid")[1]
    with seeded.app_context(), session_scope(seeded) as db:
        scale = load_preset("marzano_0_4_half")
        version = save_scale(db, pid, scale.name, scale, has_evidence=True)
        set_policy(db, pid, None, version.id, Policy(method=Method.LATEST), default_mapping(scale))
    assert '<a href="grid/812/97">4 A</a>' in get(browser, f"/s/{handle}/grid")[1]
