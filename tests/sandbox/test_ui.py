"""The sandbox's Canvas-like pages: the user switcher, who sees which course and tab, the
tool's tab page, the admin pages. Flask test client on a tiny district."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from canvas_sandbox.platform.install import key_values_from_config
from canvas_sandbox.platform.store import add_developer_key, deploy
from canvas_sandbox.state import SandboxState
from lti_app.lti.tool_configuration import developer_key_json
from tests.sandbox.test_platform import (
    ADMIN,
    COURSE,
    OTHER_STUDENT,
    STUDENT,
    TA_USER,
    TEACHER,
    TOOL,
    client_as,
    install_tool,
    make_app,
    tiny_district,
)


@pytest.fixture
def state() -> SandboxState:
    return tiny_district()


@pytest.fixture
def app(state: SandboxState) -> Flask:
    return make_app(state)


def nav_labels(html: str) -> list[str]:
    match = re.search(r'<nav class="context-nav" aria-label="[^"]+">(.*?)</nav>', html, re.S)
    assert match, "no context navigation"
    return re.findall(r"<a [^>]*>([^<]+)</a>", match.group(1))


def test_dashboard_offers_every_user_grouped_by_role_without_passwords(app: Flask) -> None:
    page = client_as(app, None).get("/").text
    assert "Pick a user" in page
    for label in ("Admin", "Teacher", "TA", "Student"):
        assert f">{label}" in page
    assert 'data-user-id="2"' in page
    assert "password" not in page.lower()


def test_switching_user_sets_a_signed_cookie_and_stays_on_this_site(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/users/switch", data={"user_id": str(TEACHER), "next": "/courses/101"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/courses/101"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=None" in cookie
    assert "Secure" in cookie
    assert not re.search(r"canvas_sandbox_user=2;", cookie)  # signed, not a bare id
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post("/users/switch", data={"user_id": "2", "next": evil})
        assert response.headers["Location"] == "/"
    assert client.post("/users/switch", data={"user_id": "999"}).status_code == 400
    # a forged cookie is nobody
    client.set_cookie("canvas_sandbox_user", "2", domain="localhost")
    assert "Pick a user" in client.get("/").text


def test_teacher_sees_course_navigation_with_the_tool_tab(app: Flask, state: SandboxState) -> None:
    key = install_tool(state)
    client = client_as(app, TEACHER)
    assert "ELA 7 – Period 2" in client.get("/").text
    page = client.get(f"/courses/{COURSE}").text
    assert nav_labels(page) == [
        "Home",
        "Outcomes",
        "Learning Mastery Gradebook",
        "Mastery Pathways",
    ]
    assert f'href="/courses/{COURSE}/external_tools/{key.id}"' in page
    assert 'aria-current="page"' in page
    assert "Rosa Rivera" in page and "Sam Student" in page  # roster


def test_student_sees_only_their_own_mastery(app: Flask, state: SandboxState) -> None:
    install_tool(state)
    client = client_as(app, STUDENT)
    page = client.get(f"/courses/{COURSE}").text
    assert nav_labels(page) == ["Home", "Outcomes", "Learning Mastery", "Mastery Pathways"]
    own = client.get(f"/courses/{COURSE}/gradebook/learning_mastery")
    assert own.status_code == 200
    assert own.text.count('<th scope="row">') <= 1  # their own row at most
    ta = client_as(app, TA_USER).get(f"/courses/{COURSE}/gradebook/learning_mastery")
    assert ta.status_code == 200


def test_placement_visibility_and_default(app: Flask, state: SandboxState) -> None:
    doc = developer_key_json(TOOL)
    course_nav = doc["extensions"][0]["settings"]["placements"][0]
    course_nav["visibility"] = "admins"
    course_nav["text"] = "Teachers Only"
    key = add_developer_key(state, **key_values_from_config(doc))
    deploy(state, key, 1)
    assert "Teachers Only" in nav_labels(client_as(app, TEACHER).get(f"/courses/{COURSE}").text)
    assert "Teachers Only" not in nav_labels(client_as(app, STUDENT).get(f"/courses/{COURSE}").text)
    assert (
        client_as(app, STUDENT).get(f"/courses/{COURSE}/external_tools/{key.id}").status_code == 404
    )
    course_nav["default"] = "disabled"
    hidden = add_developer_key(state, **key_values_from_config(doc))
    deploy(state, hidden, 1)
    labels = nav_labels(client_as(app, TEACHER).get(f"/courses/{COURSE}").text)
    assert labels.count("Teachers Only") == 1


def test_turning_a_key_off_removes_its_tab(app: Flask, state: SandboxState) -> None:
    key = install_tool(state)
    admin = client_as(app, ADMIN)
    token = re.search(
        r'name="authenticity_token" value="([^"]+)"', admin.get("/accounts/1/developer_keys").text
    )
    assert token
    response = admin.post(
        f"/accounts/1/developer_keys/{key.id}/toggle", data={"authenticity_token": token.group(1)}
    )
    assert response.status_code == 303
    assert key.enabled is False
    assert "Mastery Pathways" not in nav_labels(
        client_as(app, TEACHER).get(f"/courses/{COURSE}").text
    )


def test_admin_pages(app: Flask, state: SandboxState) -> None:
    key = install_tool(state)
    admin = client_as(app, ADMIN)
    home = admin.get("/accounts/1")
    assert home.status_code == 200
    assert nav_labels(home.text) == ["Courses", "Developer Keys", "Mastery Pathways Admin"]
    keys_page = admin.get("/accounts/1/developer_keys").text
    assert key.client_id in keys_page
    assert "Rotate signing key" in keys_page
    assert "Install from URL" in keys_page and "Start registration" in keys_page
    # admins may open any course of their account, with the gradebook
    assert admin.get(f"/courses/{COURSE}/gradebook/learning_mastery").status_code == 200
    for user in (TEACHER, STUDENT, OTHER_STUDENT):
        assert client_as(app, user).get("/accounts/1/developer_keys").status_code == 401
        assert client_as(app, user).get("/accounts/1").status_code == 401


def test_logout_needs_the_form_token(app: Flask) -> None:
    client = client_as(app, TEACHER)
    assert client.post("/logout").status_code == 403
    assert "Rosa Rivera" in client.get("/").text
    token = re.search(r'name="authenticity_token" value="([^"]+)"', client.get("/").text)
    assert token is not None
    response = client.post("/logout", data={"authenticity_token": token.group(1)})
    assert response.status_code == 303
    assert "Pick a user" in client.get("/").text


def test_pages_have_the_accessibility_basics(app: Flask, state: SandboxState) -> None:
    key = install_tool(state)
    client = client_as(app, TEACHER)
    for path in ("/", f"/courses/{COURSE}", f"/courses/{COURSE}/external_tools/{key.id}"):
        page = client.get(path).text
        assert '<html lang="en">' in page
        assert 'class="skip-link" href="#content"' in page
        assert '<main id="content"' in page
        assert '<label for="switch-user">' in page
        assert 'name="viewport"' in page
    tool_page = client.get(f"/courses/{COURSE}/external_tools/{key.id}").text
    assert 'title="Mastery Pathways"' in tool_page  # the iframe is named for screen readers
