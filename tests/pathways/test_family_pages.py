"""An observer's (parent's, guardian's) read-only pages with real signed launches (SQLite and
PostgreSQL): each student Canvas links them to, a switcher, no form and no action; a guessed
student id in every URL answers 404; no teacher or student page opens; the access ends with
the link; the launch's role_scope_mentor claim is checked against the students' LTI ids."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import delete

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.models.canvas import CourseObserver
from lti_app.pathways import service as svc
from tests.conftest import LtiBrowser
from tests.lti_platform import LEARNER, LIS, SYSTEM_USER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import (
    AVA,
    BEN,
    CARA,
    OTHER_PARENT,
    PARENT,
    RL,
    TEACHER,
    W,
    platform_id_of,
    seed_course,
)
from tests.security.test_route_walker import walk_plan

MENTOR = LIS + "membership#Mentor"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
MENTOR_SCOPE = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
LINKS = ((PARENT, AVA), (PARENT, BEN), (OTHER_PARENT, CARA))


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid, students=(AVA, BEN, CARA), observers=LINKS)
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, "101", AVA, Role.STUDENT)
        teacher = svc.CourseContext(pid, "101", TEACHER, Role.TEACHER)
        demo = svc.choose(db, ava, W, "test")
        svc.submit(db, ava, demo.id, "My argument essay", "")
        svc.score(db, teacher, demo.id, "3", "Strong claim; cite one more source.")
        svc.choose(db, ava, RL, "project")
    return pid


def claims_as(
    user: str, sub: str | None = None, scope: list[str] | None = None
) -> Callable[[dict[str, Any]], None]:
    def mutate(claims: dict[str, Any]) -> None:
        claims[CUSTOM]["canvas_user_id"] = user
        if sub is not None:
            claims["sub"] = sub
        if scope is not None:
            claims[MENTOR_SCOPE] = scope

    return mutate


def launch(
    browser: LtiBrowser,
    user: str = PARENT,
    roles: list[str] | None = None,
    sub: str | None = None,
    scope: list[str] | None = None,
) -> tuple[str, str, str]:
    response = browser.launch(
        roles=roles or [MENTOR, SYSTEM_USER], mutate=claims_as(user, sub, scope)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf, html


def get(browser: LtiBrowser, path: str) -> tuple[int, str]:
    r = browser.client.get(path, base_url=TOOL_BASE)
    return r.status_code, r.get_data(as_text=True)


def action_forms(html: str) -> list[str]:
    """Every form but sign-out and the language switch (an observer's pages have no other)."""
    return [
        a
        for a in re.findall(r'<form[^>]*action="([^"]+)"', html)
        if not a.endswith(("/sign-out", "/language"))
    ]


def test_the_parent_lands_on_the_first_child_with_a_switcher_and_no_form(
    pid: int, browser: LtiBrowser
) -> None:
    handle, _csrf, html = launch(browser)
    # Ava Jones before Ben Ortiz (Canvas's sortable names): the landing page is Ava's.
    assert "Ava Jones" in html and "Ben Ortiz" in html and "Cara Diaz" not in html
    assert f'href="/s/{handle}/family/{BEN}/"' in html
    assert f'href="/s/{handle}/family/{AVA}/targets/{W}"' in html
    assert action_forms(html) == []
    status, ben = get(browser, f"/s/{handle}/family/{BEN}/")
    assert status == 200 and "Ben Ortiz" in ben and action_forms(ben) == []
    assert f'href="/s/{handle}/family/{BEN}/targets/{RL}"' in ben


def test_a_target_page_shows_level_pathway_and_feedback_read_only(
    pid: int, browser: LtiBrowser
) -> None:
    handle, _csrf, _ = launch(browser)
    status, html = get(browser, f"/s/{handle}/family/{AVA}/targets/{W}")
    assert status == 200, html
    assert "Strong claim; cite one more source." in html  # the teacher's feedback
    assert "Handed in:" in html and "My argument essay" in html  # what the student handed in
    assert action_forms(html) == [] and "<textarea" not in html
    status, html = get(browser, f"/s/{handle}/family/{AVA}/targets/{RL}")
    assert status == 200 and "A pathway is chosen" in html and action_forms(html) == []


@pytest.mark.parametrize("guess", [CARA, TEACHER, PARENT, OTHER_PARENT, "99999", "x", "812 "])
def test_a_guessed_student_id_answers_404_in_every_url(
    pid: int, browser: LtiBrowser, guess: str
) -> None:
    handle, _csrf, _ = launch(browser)
    for path in (f"/{guess}/", f"/{guess}/targets/{RL}", f"/{guess}/targets/{W}"):
        status, html = get(browser, f"/s/{handle}/family{path}")
        assert status == 404, (path, html)
        assert "Cara Diaz" not in html and "Strong claim" not in html


def path_of(rule: str, handle: str) -> str:
    """The rule with real values: the session, Ava's id wherever a student goes."""
    values = {"handle": handle, "oid": RL, "uid": AVA, "demo_id": "1"}
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


def test_no_student_page_or_teacher_page_opens_and_no_action_is_taken(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, csrf, _ = launch(browser)
    opened = []
    for endpoint, rule, method in walk_plan(app):
        if method != "GET" or not rule.startswith("/s/<handle>/"):
            continue
        if endpoint.startswith("family.") or endpoint in ("session.home", "grid.levels_css"):
            continue
        if endpoint == "district.my_record":  # the reader's own record (their own id): empty
            assert "Ava Jones" not in get(browser, path_of(rule, handle))[1]
            continue
        if endpoint in ("report.student_report", "district.record"):
            # The observed child's progress report and record across courses: theirs only
            # (Cara is another parent's child).
            assert get(browser, path_of(rule, handle))[0] == 200, endpoint
            assert get(browser, path_of(rule, handle).replace(AVA, CARA))[0] == 404, endpoint
            continue
        status, _ = get(browser, path_of(rule, handle))
        if status < 400:
            opened.append((endpoint, status))
    assert opened == []
    # The student pages' forms refuse the observer: nothing is chosen or handed in for Ava.
    with app.app_context(), session_scope(app) as db:
        before = len(svc.student_view(db, svc.CourseContext(pid, "101", AVA, Role.STUDENT)))
    for path, data in (
        (f"/s/{handle}/me/targets/{W}/choose", {"kind": "project"}),
        (f"/s/{handle}/me/targets/{RL}/demonstrations/2/submit", {"evidence": "x"}),
    ):
        r = browser.client.post(path, data={CSRF_FIELD: csrf, **data}, base_url=TOOL_BASE)
        assert r.status_code in (403, 404), path
    with app.app_context(), session_scope(app) as db:
        rows = svc.student_view(db, svc.CourseContext(pid, "101", AVA, Role.STUDENT))
        assert len(rows) == before
        assert [d.kind for t in rows for d in t.history] == ["project", "test"]


def test_access_ends_when_the_link_is_gone_at_the_next_sync(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, _csrf, _ = launch(browser)
    assert get(browser, f"/s/{handle}/family/{BEN}/")[0] == 200
    with app.app_context(), session_scope(app) as db:  # what the next sync does (tests/sync)
        db.execute(delete(CourseObserver).where(CourseObserver.student_user_id == BEN))
    assert get(browser, f"/s/{handle}/family/{BEN}/")[0] == 404
    assert get(browser, f"/s/{handle}/family/{BEN}/targets/{RL}")[0] == 404
    status, html = get(browser, f"/s/{handle}/family/")
    assert status == 200 and "Ava Jones" in html and "Ben Ortiz" not in html
    with app.app_context(), session_scope(app) as db:
        db.execute(delete(CourseObserver))
    status, html = get(browser, f"/s/{handle}/family/")
    assert status == 200 and "No student to show yet" in html and "Ava Jones" not in html


def test_an_observer_of_nobody_here_gets_a_kind_page(pid: int, browser: LtiBrowser) -> None:
    _handle, _csrf, html = launch(browser, user="777")
    assert "No student to show yet" in html
    assert "Ava Jones" not in html and "Ben Ortiz" not in html


def test_the_mentor_claim_hides_a_linked_student_it_does_not_name(
    pid: int, app: Flask, platform: FakePlatform, jwks: responses.RequestsMock
) -> None:
    # Ben opened the tool once: his LTI id is known. Ava never did: hers is not.
    ben_browser = LtiBrowser(app.test_client(), platform)
    launch(ben_browser, user=BEN, roles=[LEARNER], sub="lti-ben")
    parent = LtiBrowser(app.test_client(), platform)
    # Canvas's claim names someone else (the link to Ben ended after the last sync).
    handle, _csrf, html = launch(parent, scope=["lti-someone-else"])
    assert "Ava Jones" in html and "Ben Ortiz" not in html
    assert get(parent, f"/s/{handle}/family/{BEN}/")[0] == 404
    assert get(parent, f"/s/{handle}/family/{AVA}/")[0] == 200
    # The claim names Ben: both are shown.
    again = LtiBrowser(app.test_client(), platform)
    handle, _csrf, html = launch(again, scope=["lti-ben"])
    assert get(again, f"/s/{handle}/family/{BEN}/")[0] == 200
    # A claim never adds a student the sync does not link (Cara is another parent's).
    cara = LtiBrowser(app.test_client(), platform)
    launch(cara, user=CARA, roles=[LEARNER], sub="lti-cara")
    other = LtiBrowser(app.test_client(), platform)
    handle, _csrf, _ = launch(other, scope=["lti-ben", "lti-cara"])
    assert get(other, f"/s/{handle}/family/{CARA}/")[0] == 404


def test_before_the_first_sync_the_parent_lands_on_a_not_ready_page(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    platform_id_of(app, platform)  # the tool knows the platform; no course is synced
    handle, _csrf, html = launch(browser)
    assert "The learning targets are not ready yet." in html
    status, html = get(browser, f"/s/{handle}/family/")
    assert status == 409 and "not ready yet" in html


def test_the_family_pages_speak_spanish_when_canvas_says_so(pid: int, browser: LtiBrowser) -> None:
    def spanish(claims: dict[str, Any]) -> None:
        claims_as(PARENT)(claims)
        claims["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"] = {
            "document_target": "iframe",
            "locale": "es-MX",
        }

    response = browser.launch(roles=[MENTOR, SYSTEM_USER], mutate=spanish)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and '<html lang="es">' in html
    assert "Ava Jones: metas de aprendizaje" in html and "Estudiantes que usted sigue" in html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    status, page = get(browser, f"/s/{handle}/family/{AVA}/targets/{W}")
    assert status == 200 and "Comentarios e intentos" in page and "El maestro escribió:" in page
    status, page = get(browser, f"/s/{handle}/family/{CARA}/")
    assert status == 404 and "Ese estudiante no está entre los estudiantes que usted sigue." in page


def test_a_parent_prints_their_childs_report_and_no_one_elses(
    pid: int, browser: LtiBrowser
) -> None:
    handle, _csrf, _ = launch(browser)
    status, html = get(browser, f"/s/{handle}/report/print?student={AVA}")
    assert status == 200 and "Ava Jones" in html
    assert get(browser, f"/s/{handle}/report/print?student={CARA}")[0] == 404
    assert get(browser, f"/s/{handle}/report/print")[0] == 404  # no report of the parent's own
    pdf = browser.client.get(f"/s/{handle}/report/report.pdf?student={BEN}", base_url=TOOL_BASE)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
