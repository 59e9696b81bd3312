"""The student's pages with real signed launches (SQLite and PostgreSQL): levels and next steps,
choosing, proposing, submitting, feedback, reassessment, bad input that keeps what was typed,
and that a student can never read or act on a classmate's records by guessing ids."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.models.pathways import Demonstration, PathwayMenuItem
from lti_app.pathways import service as svc
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, LEARNER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import (
    AVA,
    BEN,
    COURSE,
    OTHER_COURSE,
    RL,
    W,
    platform_id_of,
    seed_course,
)

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    return pid


def as_user(user_id: str | None = None, course_id: str | None = None) -> Callable[[Any], None]:
    def mutate(claims: dict[str, Any]) -> None:
        if user_id is not None:
            claims[CUSTOM]["canvas_user_id"] = user_id
        if course_id is not None:
            claims[CUSTOM]["canvas_course_id"] = course_id
            claims[CONTEXT]["id"] = "ctx-" + course_id

    return mutate


def launch(browser: LtiBrowser, roles: list[str], **who: str) -> tuple[str, str, str]:
    """A real signed launch: (handle, CSRF token, the home page)."""
    response = browser.launch(roles=roles, mutate=as_user(**who))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf, html


def get(browser: LtiBrowser, handle: str, path: str) -> tuple[int, str]:
    r = browser.client.get(f"/s/{handle}/me{path}", base_url=TOOL_BASE)
    return r.status_code, r.get_data(as_text=True)


def post(browser: LtiBrowser, handle: str, path: str, data: dict[str, Any]) -> tuple[int, str]:
    r = browser.client.post(f"/s/{handle}/me{path}", data=data, base_url=TOOL_BASE)
    return r.status_code, r.headers.get("Location") or r.get_data(as_text=True)


def demo_of(app: Flask, user: str, oid: str) -> Demonstration:
    with app.app_context(), session_scope(app) as db:
        rows = [
            d
            for d in db.query(Demonstration).order_by(Demonstration.id)
            if d.canvas_user_id == user and d.canvas_outcome_id == oid
        ]
        assert rows, (user, oid)
        db.expunge(rows[-1])
        return rows[-1]


def test_before_the_first_sync_the_student_landing_page_says_so(
    app: Flask, browser: LtiBrowser
) -> None:
    _, _, home = launch(browser, [LEARNER])
    assert "Your learning targets are not ready yet" in home
    assert "<h1>My learning targets</h1>" not in home


def teacher(pid: int) -> svc.CourseContext:
    return svc.CourseContext(pid, COURSE, "900", Role.TEACHER)


def test_student_lands_on_the_targets_page_grouped_with_levels_and_next_steps(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, _, home = launch(browser, [LEARNER])
    # the launch opens the targets directly (no landing card and button in between)
    assert "<h1>My learning targets</h1>" in home and "not ready yet" not in home
    overview = browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE).get_data(as_text=True)
    assert "<h1>My learning targets</h1>" in overview
    status, html = get(browser, handle, "/")
    assert status == 200, html
    assert "<h1>My learning targets</h1>" in html
    assert '<h2 id="grp-1">Reading</h2>' in html
    assert html.index("RL.7.2 Central idea") < html.index("W.7.1 Argument")
    assert html.count("No level yet") == 2
    assert "proficiency on <strong>0 of 2</strong>" in html
    # without a level, the goal is proficiency, said in words
    assert html.count("<strong>Goal: 3 Proficient.</strong>") == 2
    assert "You have not chosen a pathway yet." in html
    # colours come from the level stylesheet, never inline styles
    assert "/levels/" in html and "style=" not in html


def test_choose_submit_with_bad_input_keeps_it_then_a_score_shows_the_new_level(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, csrf, _ = launch(browser, [LEARNER])
    status, html = get(browser, handle, f"/targets/{RL}")
    assert status == 200, html
    assert html.count('type="radio" name="kind"') == 7  # the district default menu

    status, html = post(browser, handle, f"/targets/{RL}/choose", {CSRF_FIELD: csrf})
    assert status == 400 and "Pick one of the pathways first." in html
    status, where = post(
        browser, handle, f"/targets/{RL}/choose", {CSRF_FIELD: csrf, "kind": "project"}
    )
    assert status == 303 and where.endswith(f"/me/targets/{RL}/done/chosen"), where
    demo = demo_of(app, AVA, RL)
    assert demo.state == "chosen"
    status, html = get(browser, handle, f"/targets/{RL}/done/chosen")
    assert "You chose a pathway." in html and "Hand in my work" in html
    # a second choice while one is under way is refused with a message
    status, html = post(
        browser, handle, f"/targets/{RL}/choose", {CSRF_FIELD: csrf, "kind": "test"}
    )
    assert status == 409 and "finish or withdraw it first" in html

    submit = f"/targets/{RL}/demonstrations/{demo.id}/submit"
    typed = "My poster shows the central idea <b>and</b> three details."
    bad = {CSRF_FIELD: csrf, "evidence": typed, "links": "javascript:alert(1)"}
    status, html = post(browser, handle, submit, bad)
    assert status == 400
    assert "Nothing you typed was lost." in html
    assert "is not a web address; it must start with https:// or http://." in html
    assert "three details.</textarea>" in html and "&lt;b&gt;and&lt;/b&gt;" in html
    assert "javascript:alert(1)</textarea>" in html
    assert 'id="f-links" name="links" rows="3" aria-invalid="true"' in html
    status, html = post(browser, handle, submit, {CSRF_FIELD: csrf, "evidence": " ", "links": ""})
    assert status == 400 and "Write about your evidence or give at least one link" in html
    status, html = post(browser, handle, submit, {CSRF_FIELD: csrf, "evidence": "x" * 10001})
    assert status == 400 and "10001 characters long; the limit is 10000" in html
    # the whole text comes back (a maxlength would have cut the paste in the browser)
    assert "x" * 10001 + "</textarea>" in html and "maxlength" not in html
    assert 'data-limit="10000"' in html and "Up to 10,000 characters." in html
    assert demo_of(app, AVA, RL).state == "chosen"  # nothing was stored

    good = {CSRF_FIELD: csrf, "evidence": typed, "links": "https://ava.example/poster\n"}
    status, where = post(browser, handle, submit, good)
    assert status == 303 and where.endswith("/done/submitted")
    assert demo_of(app, AVA, RL).state == "submitted"
    status, html = get(browser, handle, f"/targets/{RL}")
    assert "Your teacher will score it." in html
    assert 'href="https://ava.example/poster" rel="noopener noreferrer"' in html

    with app.app_context(), session_scope(app) as db:
        svc.score(db, teacher(pid), demo.id, "3.0", "Clear central idea, well supported.")
    status, html = get(browser, handle, "/")
    assert "proficiency on <strong>1 of 2</strong>" in html
    assert re.search(r'<span class="level-badge lv\d+">3 \S+ – ', html)
    assert "<strong>Proficient</strong>" in html
    assert '<svg class="chart"' in html  # the growth chart appears with the first score
    status, html = get(browser, handle, f"/targets/{RL}")
    assert "Clear central idea, well supported." in html
    assert "You reached proficiency" in html
    assert "How my level was worked out:</strong> You have one score so far" in html
    # 0.65 x s + 0.35 x 3 reaches 3.5 only with s = 4, the top of the scale (no "or higher")
    assert "To reach 3.5 (Proficient, partial on advanced content), your next score would " in html
    assert "need to be 4 (Advanced).</strong>" in html

    reassess = f"/targets/{RL}/demonstrations/{demo.id}/reassess"
    status, html = post(browser, handle, reassess, {CSRF_FIELD: csrf, "links": "ftp://x.example"})
    assert status == 400
    assert "Say what you have learned or practised" in html and "ftp://x.example</textarea>" in html
    status, where = post(browser, handle, reassess, {CSRF_FIELD: csrf, "reflection": "I practised"})
    assert status == 303 and where.endswith("/done/reassess")
    assert demo_of(app, AVA, RL).state == "reassessment_requested"


def test_a_proposal_is_sent_then_withdrawn_and_another_pathway_chosen(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, csrf, _ = launch(browser, [LEARNER])
    choose = f"/targets/{W}/choose"
    assert post(browser, handle, choose, {CSRF_FIELD: csrf, "kind": "proposal"})[0] == 303
    demo = demo_of(app, AVA, W)
    status, html = get(browser, handle, f"/targets/{W}")
    assert "Send my idea to my teacher" in html and "Hand in my work" not in html
    propose = f"/targets/{W}/demonstrations/{demo.id}/propose"
    status, html = post(browser, handle, propose, {CSRF_FIELD: csrf, "proposal": "   "})
    assert status == 400 and "Describe how you would like to show this target." in html
    status, _ = post(browser, handle, propose, {CSRF_FIELD: csrf, "proposal": "A debate"})
    assert status == 303 and demo_of(app, AVA, W).state == "proposed"
    with app.app_context(), session_scope(app) as db:
        svc.return_proposal(db, teacher(pid), demo.id, "Who will argue the other side?")
    status, html = get(browser, handle, f"/targets/{W}")
    assert "Who will argue the other side?" in html and "A debate</textarea>" in html
    assert "<p>Idea sent back</p>" in html  # the tries, named in plain words
    withdraw = f"/targets/{W}/demonstrations/{demo.id}/withdraw"
    assert post(browser, handle, withdraw, {CSRF_FIELD: csrf})[0] == 303
    assert demo_of(app, AVA, W).state == "withdrawn"
    assert post(browser, handle, choose, {CSRF_FIELD: csrf, "kind": "test"})[0] == 303
    assert demo_of(app, AVA, W).kind == "test"


def test_a_student_never_reads_or_changes_a_classmates_records(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    with app.app_context(), session_scope(app) as db:
        ben = svc.CourseContext(pid, COURSE, BEN, Role.STUDENT)
        theirs = svc.choose(db, ben, RL, "project")
        svc.submit(db, ben, theirs.id, "Ben's secret essay", "https://ben.example/essay")
        ben_id = theirs.id
    handle, csrf, _ = launch(browser, [LEARNER])  # Ava
    for path in ("/", f"/targets/{RL}", f"/targets/{RL}/done/submitted"):
        status, html = get(browser, handle, path)
        assert status == 200
        assert "Ben's secret essay" not in html and "ben.example" not in html
        assert "Ben Ortiz" not in html
    for action in ("submit", "withdraw", "propose", "reassess"):
        status, html = post(
            browser,
            handle,
            f"/targets/{RL}/demonstrations/{ben_id}/{action}",
            {CSRF_FIELD: csrf, "evidence": "overwritten", "reflection": "x", "proposal": "x"},
        )
        assert status == 404, (action, html)
        assert "Ben's secret essay" not in html
    # her own demonstration under another target's URL is not found either
    assert (
        post(browser, handle, f"/targets/{RL}/choose", {CSRF_FIELD: csrf, "kind": "test"})[0] == 303
    )
    mine = demo_of(app, AVA, RL).id
    assert (
        post(browser, handle, f"/targets/{W}/demonstrations/{mine}/withdraw", {CSRF_FIELD: csrf})[0]
        == 404
    )
    assert get(browser, handle, "/targets/99999")[0] == 404
    assert get(browser, handle, "/targets/" + "9" * 80)[0] == 404
    # no CSRF token: refused before anything happens
    assert post(browser, handle, f"/targets/{RL}/demonstrations/{mine}/withdraw", {})[0] == 403
    assert demo_of(app, BEN, RL).evidence_text == "Ben's secret essay"
    assert demo_of(app, BEN, RL).state == "submitted"
    assert demo_of(app, AVA, RL).state == "chosen"


def test_teachers_other_courses_and_unknown_sessions_are_refused(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, csrf, _ = launch(browser, [INSTRUCTOR], user_id="900")
    status, html = get(browser, handle, "/")
    assert status == 403 and "These pages are for students." in html
    assert (
        post(browser, handle, f"/targets/{RL}/choose", {CSRF_FIELD: csrf, "kind": "test"})[0] == 403
    )
    # a student who joined after the last sync: the targets, no level, and no one else's data
    handle, _, _ = launch(browser, [LEARNER], user_id="999")
    status, html = get(browser, handle, "/")
    assert status == 200 and html.count("No level yet") == 2
    # a course that was never synced: a friendly "not ready yet"
    handle, _, _ = launch(browser, [LEARNER], course_id=OTHER_COURSE)
    status, html = get(browser, handle, "/")
    assert status == 409 and "not ready yet" in html
    assert get(browser, "not-a-session", "/")[0] == 401


def test_below_proficiency_the_next_level_and_the_distance_are_said_in_words(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, COURSE, AVA, Role.STUDENT)
        d = svc.choose(db, ava, W, "test")
        svc.submit(db, ava, d.id, "My argument", "")
        svc.score(db, teacher(pid), d.id, "2.0", "")
        past = svc.MenuRow("project", True, "Build a model", "Show the plot", "", "")
        svc.save_menu(db, teacher(pid), RL, [past])
        item = db.query(PathwayMenuItem).one()
        item.due_at = datetime(2026, 1, 9, 23, 59, tzinfo=UTC)  # saved before, now past
    handle, _, _ = launch(browser, [LEARNER])
    status, html = get(browser, handle, "/")
    assert status == 200
    assert "<strong>Next step: 2.5 Developing, partial on target content.</strong>" in html
    assert re.search(r'<span class="level-badge lv\d+">2 D – Developing</span>', html)
    status, html = get(browser, handle, f"/targets/{W}")
    assert "You are 1 below it." in html
    assert "Ask my teacher to reassess me" in html
    status, html = get(browser, handle, f"/targets/{RL}")
    assert html.count('type="radio" name="kind"') == 1  # the teacher's menu only
    assert "Due January 9, 2026. That date has passed" in html


def test_a_teacher_override_shows_its_reason_and_another_tenant_sees_nothing(
    app: Flask,
    pid: int,
    browser: LtiBrowser,
    jwks: responses.RequestsMock,
) -> None:
    with app.app_context(), session_scope(app) as db:
        svc.set_override(db, teacher(pid), AVA, RL, "3.5", "You explained it to the class.")
        ava = svc.CourseContext(pid, COURSE, AVA, Role.STUDENT)
        d = svc.choose(db, ava, W, "project")
        svc.submit(db, ava, d.id, "Tenant A evidence", "")
        demo_id = d.id
    handle, _, _ = launch(browser, [LEARNER])
    status, html = get(browser, handle, "/")
    assert "Your teacher set this level.</strong> Why: “You explained it to the class.”" in html
    assert re.search(r'<span class="level-badge lv\d+">3.5 \S+ – ', html)

    # another district (tenant) with the same Canvas course and user ids
    tenant_b = FakePlatform(
        issuer="https://canvas.other.example",
        client_id="20000000000099",
        deployment_id="9:other",
        canvas_url="https://other.canvas.example",
        auth_url="https://sso.other.example/api/lti/authorize_redirect",
        token_url="https://sso.other.example/login/oauth2/token",
        jwks_url="https://sso.other.example/api/lti/security/jwks",
        key_name="platform-b",
    )
    assert app.test_cli_runner().invoke(args=tenant_b.cli_args()).exit_code == 0
    seed_course(app, platform_id_of(app, tenant_b), COURSE)
    jwks.get(tenant_b.jwks_url, json=tenant_b.jwks())
    browser_b = LtiBrowser(app.test_client(), tenant_b)
    handle_b, csrf_b, _ = launch(browser_b, [LEARNER])  # "Ava" of tenant B
    for path in ("/", f"/targets/{W}", f"/targets/{RL}"):
        status, html = get(browser_b, handle_b, path)
        assert status == 200
        assert "Tenant A evidence" not in html and "You explained it" not in html
        assert "No level yet" in html
    status, _ = post(
        browser_b,
        handle_b,
        f"/targets/{W}/demonstrations/{demo_id}/withdraw",
        {CSRF_FIELD: csrf_b},
    )
    assert status == 404
    assert demo_of(app, AVA, W).state == "submitted"
