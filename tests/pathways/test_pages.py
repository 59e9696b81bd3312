"""Teacher pathway pages with real signed launches: menus, review queue, analytics, and who
may reach what (other students, other courses, other tenants, no CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.models.pathways import Demonstration, DemonstrationEvent, PathwayMenuItem
from lti_app.pathways import service as svc
from lti_app.policies.store import builtin_default
from tests.conftest import LtiBrowser
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, SYSTEM_USER, TOOL_BASE, FakePlatform
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


def as_user(user_id: str | None = None, course_id: str | None = None) -> Callable[[Any], None]:
    def mutate(claims: dict[str, Any]) -> None:
        if user_id is not None:
            claims[CUSTOM]["canvas_user_id"] = user_id
        if course_id is not None:
            claims[CUSTOM]["canvas_course_id"] = course_id
            claims[CONTEXT]["id"] = "ctx-" + course_id

    return mutate


def launch(browser: LtiBrowser, roles: list[str], **who: str) -> tuple[str, str]:
    response = browser.launch(roles=roles, mutate=as_user(**who))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    return pid


def get(browser: LtiBrowser, handle: str, path: str) -> Any:
    return browser.client.get(f"/s/{handle}/pathways{path}", base_url=TOOL_BASE)


def post(browser: LtiBrowser, handle: str, path: str, data: dict[str, Any]) -> Any:
    return browser.client.post(f"/s/{handle}/pathways{path}", data=data, base_url=TOOL_BASE)


def demos(app: Flask, pid: int) -> dict[str, int]:
    """Ava proposes on RL, Ben submits a project on RL, Ben asks to be reassessed on W."""
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, COURSE, AVA, Role.STUDENT)
        ben = svc.CourseContext(pid, COURSE, BEN, Role.STUDENT)
        t = svc.CourseContext(pid, COURSE, "900", Role.TEACHER)
        p = svc.choose(db, ava, RL, "proposal")
        svc.propose(db, ava, p.id, "A <b>comic</b> strip about the theme")
        s = svc.choose(db, ben, RL, "project")
        svc.submit(db, ben, s.id, "My model of the plot", "https://ben.example/model")
        r = svc.choose(db, ben, W, "test")
        svc.submit(db, ben, r.id, "Done", "")
        svc.score(db, t, r.id, "2")
        svc.request_reassessment(db, ben, r.id, "I practised with the feedback")
        return {"proposal": p.id, "submission": s.id, "reassessment": r.id}


def state_of(app: Flask, demo_id: int) -> str:
    with app.app_context(), session_scope(app) as db:
        row = db.get(Demonstration, demo_id)
        assert row is not None
        return row.state


def test_menu_editor_refuses_bad_input_keeping_it_then_saves_and_copies(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    index = get(browser, handle, "/")
    html = index.get_data(as_text=True)
    assert index.status_code == 200, html
    assert "RL.7.2 Central idea" in html and "District default (7 kinds)" in html
    assert 'id="review-tab"' in html

    page = get(browser, handle, f"/targets/{RL}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('name="offer"') == 7
    assert "This target offers the district default menu" in html

    future = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%d")
    bad = {
        CSRF_FIELD: csrf,
        "offer": ["test", "project"],
        "test-title": "",
        "test-instructions": "Quiz on Friday, typed with care",
        "test-due": "2020-02-02",
        "project-title": "Build a model",
        "project-instructions": "Show the plot",
        "project-due": future,
        "project-attempt_limit": "25",
    }
    page = post(browser, handle, f"/targets/{RL}", bad)
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "The menu was not saved" in html
    assert "Give the pathway a title." in html
    assert "The due date is in the past" in html
    assert "from 1 to 10" in html
    assert "Quiz on Friday, typed with care</textarea>" in html
    assert 'value="2020-02-02"' in html and 'value="25"' in html
    assert 'href="#f-test-title"' in html and 'id="f-test-title"' in html
    with app.app_context(), session_scope(app) as db:
        assert db.scalars(select(PathwayMenuItem)).all() == []

    good = bad | {"test-title": "Unit quiz", "test-due": "", "project-attempt_limit": "2"}
    page = post(browser, handle, f"/targets/{RL}", good)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "Saved: 2 pathways" in html
    assert f'value="{future}"' in html

    page = post(browser, handle, f"/targets/{RL}/copy", {CSRF_FIELD: csrf})
    assert page.status_code == 400
    assert "Choose at least one other target." in page.get_data(as_text=True)
    page = post(browser, handle, f"/targets/{RL}/copy", {CSRF_FIELD: csrf, "to": [W]})
    assert page.status_code == 200
    assert "Copied this menu to 1 other target." in page.get_data(as_text=True)
    index = get(browser, handle, "/").get_data(as_text=True)
    assert index.count("Unit quiz, Build a model") == 2

    assert get(browser, handle, "/targets/99999").status_code == 404
    assert post(browser, handle, f"/targets/{RL}", good | {CSRF_FIELD: "forged"}).status_code == 403


def test_review_queue_scores_returns_and_bulk_approves(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    ids = demos(app, pid)
    handle, csrf = launch(browser, [INSTRUCTOR])
    page = get(browser, handle, "/review")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "waiting: </span>3)" in html
    assert "Ava Jones · RL.7.2 Central idea" in html
    assert "A &lt;b&gt;comic&lt;/b&gt; strip" in html  # escaped, never rendered as markup
    assert 'href="https://ben.example/model" rel="noopener noreferrer nofollow ugc"' in html
    # every level is a labelled radio button (value and label, not colour alone)
    assert re.search(r'type="radio" id="lv-\d+-1" name="level" value="4.0"', html)
    assert "<strong>4.0</strong> – Advanced" in html

    # returning without feedback is refused and keeps the chosen level and typed comment
    sub = ids["submission"]
    page = post(
        browser,
        handle,
        f"/review/{sub}",
        {CSRF_FIELD: csrf, "action": "return_submission", "level": "3.0"},
    )
    assert page.status_code == 400
    assert "Write feedback so the student knows what to change." in page.get_data(as_text=True)
    page = post(
        browser,
        handle,
        f"/review/{sub}",
        {CSRF_FIELD: csrf, "action": "score", "note": "Half-typed comment"},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Choose a level of the scale." in html and "Half-typed comment</textarea>" in html
    assert state_of(app, sub) == "submitted"

    page = post(
        browser,
        handle,
        f"/review/{sub}",
        {CSRF_FIELD: csrf, "action": "score", "level": "3.0", "note": "Solid"},
    )
    assert page.status_code == 200
    assert "Score saved" in page.get_data(as_text=True)
    assert state_of(app, sub) == "scored"
    again = post(
        browser, handle, f"/review/{sub}", {CSRF_FIELD: csrf, "action": "score", "level": "4.0"}
    )
    assert again.status_code == 409  # already scored: nothing changes
    assert state_of(app, sub) == "scored"

    page = post(
        browser,
        handle,
        "/review/bulk",
        {CSRF_FIELD: csrf, "ids": [str(ids["proposal"]), str(ids["reassessment"])]},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "Approved 2." in html and "waiting: </span>0)" in html
    assert state_of(app, ids["proposal"]) == "approved"
    assert state_of(app, ids["reassessment"]) == "reassessed"
    with app.app_context(), session_scope(app) as db:
        actors = {
            e.actor_canvas_user_id
            for e in db.scalars(
                select(DemonstrationEvent).where(DemonstrationEvent.actor_role == "teacher")
            )
        }
    assert "812" in actors  # the launching teacher's $Canvas.user.id is the actor recorded

    detail = get(browser, handle, f"/demonstrations/{sub}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200
    assert html.count("<tr><td>") == 3  # chosen, submitted, scored
    assert "Ben Ortiz</td>" in html and "Teacher (Canvas user 812)" in html
    assert "Solid (score 3.0 – Proficient)" in html

    page = get(browser, handle, "/analytics")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Project" in html and "Proficient: 1" in html  # in words, and as a bar:
    colour = builtin_default().scale.level(3.0).color
    assert f'width="120.0" height="14" fill="{colour}"' in html


def test_students_other_courses_and_other_tenants_are_refused(
    app: Flask, pid: int, browser: LtiBrowser, platform: FakePlatform, jwks: responses.RequestsMock
) -> None:
    ids = demos(app, pid)
    seed_course(app, pid, OTHER_COURSE)
    sub = ids["submission"]
    score = {"action": "score", "level": "4.0"}

    student, csrf = launch(browser, [LEARNER], user_id=BEN)
    for path in ("/", "/review", "/analytics", f"/targets/{RL}", f"/demonstrations/{sub}"):
        assert get(browser, student, path).status_code == 403, path
    assert post(browser, student, f"/review/{sub}", score | {CSRF_FIELD: csrf}).status_code == 403

    other, csrf = launch(browser, [INSTRUCTOR], course_id=OTHER_COURSE)
    assert post(browser, other, f"/review/{sub}", score | {CSRF_FIELD: csrf}).status_code == 404
    assert get(browser, other, f"/demonstrations/{sub}").status_code == 404
    bulk = post(browser, other, "/review/bulk", {CSRF_FIELD: csrf, "ids": [str(ids["proposal"])]})
    assert bulk.status_code == 404
    assert "Ben Ortiz" not in get(browser, other, "/review").get_data(as_text=True)

    unsynced, _ = launch(browser, [INSTRUCTOR], course_id="303")
    assert get(browser, unsynced, "/review").status_code == 409

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
    teacher_b, csrf = launch(browser_b, [INSTRUCTOR])  # same course and user ids, other tenant
    page = get(browser_b, teacher_b, "/review")
    assert page.status_code == 200 and "waiting: </span>0)" in page.get_data(as_text=True)
    assert (
        post(browser_b, teacher_b, f"/review/{sub}", score | {CSRF_FIELD: csrf}).status_code == 404
    )
    assert state_of(app, sub) == "submitted"


def test_district_admin_edits_the_library_that_default_menus_offer(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    teacher, _ = launch(browser, [INSTRUCTOR])
    assert get(browser, teacher, "/library").status_code == 403  # teachers do not edit it
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    page = get(browser, admin, "/library")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('name="enabled"') == 7
    form: dict[str, Any] = {CSRF_FIELD: csrf, "enabled": ["test", "project"]}
    for kind in (
        "test",
        "project",
        "presentation",
        "portfolio",
        "performance_task",
        "conference",
        "proposal",
    ):
        form[f"{kind}-title"] = kind.title()
        form[f"{kind}-instructions"] = f"District instructions for {kind}"
    bad = post(
        browser,
        admin,
        "/library",
        form | {"project-instructions": " ", "test-title": "Typed test title"},
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Write instructions so students know what to do." in html
    assert 'value="Typed test title"' in html
    assert post(browser, admin, "/library", form | {"enabled": []}).status_code == 400
    page = post(browser, admin, "/library", form)
    assert page.status_code == 200, page.get_data(as_text=True)

    with app.app_context(), session_scope(app) as db:
        t = svc.CourseContext(pid, COURSE, "900", Role.TEACHER)
        entries, is_default = svc.effective_menu(db, t, RL)
        assert is_default and [(e.kind.value, e.instructions) for e in entries] == [
            ("test", "District instructions for test"),
            ("project", "District instructions for project"),
        ]
        with pytest.raises(svc.Invalid):  # a disabled kind cannot be added to a menu
            svc.save_menu(db, t, RL, [svc.MenuRow("conference", True, "Talk", "Book one", "", "")])
    teacher, _ = launch(browser, [INSTRUCTOR])
    assert get(browser, teacher, f"/targets/{RL}").get_data(as_text=True).count('name="offer"') == 2


NASTY = ["\x00", "x" * 6000, "'; drop table demonstration; --", "\u202e\ufeff🙂", "%00", " "]


def test_nasty_input_gets_a_message_never_a_server_error(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    ids = demos(app, pid)
    handle, csrf = launch(browser, [INSTRUCTOR])
    for value in NASTY:
        menu = {CSRF_FIELD: csrf, "offer": ["test", value]}
        menu |= {f"test-{f}": value for f in ("title", "instructions", "due", "attempt_limit")}
        assert post(browser, handle, f"/targets/{RL}", menu).status_code == 400, repr(value)
        copy = post(browser, handle, f"/targets/{RL}/copy", {CSRF_FIELD: csrf, "to": [value]})
        assert copy.status_code in (400, 404), repr(value)
        for action in ("score", "return_submission", value):
            data = {CSRF_FIELD: csrf, "action": action, "level": value, "note": value}
            page = post(browser, handle, f"/review/{ids['submission']}", data)
            assert page.status_code < 500, (repr(value), action)
            if value == "\x00":  # refused for every field by lti_app.web.input_guard
                assert page.status_code == 400
                assert "control character U+0000" in page.get_data(as_text=True)
        assert get(browser, handle, "/targets/" + value.replace("%", "%25")).status_code in (
            (400,) if value == "\x00" else (404, 405)
        )
    # the one well-formed note (the SQL-looking text) returned the submission, as plain text
    assert state_of(app, ids["submission"]) == "returned"
