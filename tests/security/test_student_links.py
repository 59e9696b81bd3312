"""A student's link cannot read as another host to the teacher: direction controls in links
are refused on the form, and any already stored are shown as visible [U+202E] marks."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import update

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.models.pathways import Demonstration
from lti_app.pathways import service as svc
from tests.lti_platform import TOOL_BASE
from tests.pathways.conftest import AVA, COURSE, W
from tests.security.conftest import Roles
from tests.security.course import Course
from tests.security.snapshot import database_dump

# Shows as "https://school.example/exe.moc.elgoog" reversed: the host is evil.example.
SPOOF = "https://evil.example/\u202egoogle.com/exe"


def test_a_link_with_a_direction_control_is_refused_keeping_what_was_typed(
    app: Flask, course: Course, roles: Roles
) -> None:
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(course.platform_id, COURSE, AVA, Role.STUDENT)
        demo_id = svc.choose(db, ava, W, "project").id
    browser, student = roles["student"]
    before = database_dump(app)
    response = browser.client.post(
        f"/s/{student.handle}/me/targets/{W}/demonstrations/{demo_id}/submit",
        data={CSRF_FIELD: student.csrf, "evidence": "My essay", "links": SPOOF},
        base_url=TOOL_BASE,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert "invisible character (U+202E) that changes the direction" in html
    assert f">{SPOOF}</textarea>" in html  # kept for the student to fix
    assert database_dump(app) == before


def test_a_stored_link_with_a_direction_control_is_shown_marked(
    app: Flask, course: Course, roles: Roles
) -> None:
    submitted = course.demos["submitted"]
    with app.app_context(), session_scope(app) as db:
        db.execute(update(Demonstration).where(Demonstration.id == submitted).values(links=[SPOOF]))
    browser, teacher = roles["teacher"]
    for path in ("/pathways/review", f"/pathways/demonstrations/{submitted}"):
        response = browser.client.get(f"/s/{teacher.handle}{path}", base_url=TOOL_BASE)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, html
        assert ">https://evil.example/[U+202E]google.com/exe<" in html
        assert "\u202e" not in html.replace(f'href="{SPOOF}"', "")
