"""Observers as Canvas has them (docs/canvas.md §7.10): ObserverEnrollments with
``associated_user_id`` in the enrollments API, and launches with the Mentor course role and
``role_scope_mentor`` (the observed students' LTI ids; public tools only)."""

from __future__ import annotations

from flask.testing import FlaskClient

from canvas_sandbox import roster
from canvas_sandbox.platform.launch import CLAIM, LaunchContext, lti_roles, observee_lti_ids
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState, User
from lti_app.lti.tool_configuration import developer_key_json
from tests.sandbox.test_platform import (
    COURSE,
    LEARNER,
    STUDENT,
    SYSTEM_USER,
    TEACHER,
    TOOL,
    client_as,
    install_tool,
    launch_claims,
    make_app,
    tiny_district,
)

MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"
PARENT = 6


def with_parent() -> SandboxState:
    state = tiny_district()
    state.users[PARENT] = User(
        PARENT,
        "Pat Parent",
        "Parent, Pat",
        "Pat",
        lti_id="00000006-aaaa-4bbb-8ccc-dddddddddddd",
        login_id="user6",
        email="user6@riverside.example",
    )
    roster.observe(state, PARENT, STUDENT, COURSE)
    return state


def test_observer_launch_has_mentor_and_the_observed_students_lti_ids() -> None:
    state = with_parent()
    app, tool = make_app(state), install_tool(state)
    claims = launch_claims(client_as(app, PARENT), tool)
    assert claims[CLAIM + "roles"] == [MENTOR, SYSTEM_USER]
    assert claims[CLAIM + "role_scope_mentor"] == [state.users[STUDENT].lti_id]
    assert claims[CLAIM + "custom"]["canvas_roles"] == "ObserverEnrollment"
    # Nobody else gets the claim (Canvas adds it only when there are observees).
    student = launch_claims(client_as(app, STUDENT), tool)
    assert student[CLAIM + "roles"][0] == LEARNER
    assert CLAIM + "role_scope_mentor" not in student
    assert CLAIM + "role_scope_mentor" not in launch_claims(client_as(app, TEACHER), tool)


def test_role_scope_mentor_is_only_for_public_tools() -> None:
    state = with_parent()
    doc = developer_key_json(TOOL)
    doc["extensions"][0]["privacy_level"] = "name_only"
    app, tool = make_app(state), install_tool(state, doc)
    claims = launch_claims(client_as(app, PARENT), tool)
    assert claims[CLAIM + "roles"] == [MENTOR, SYSTEM_USER]
    assert CLAIM + "role_scope_mentor" not in claims


def test_a_deleted_observer_enrollment_ends_the_launch() -> None:
    state = with_parent()
    app, tool = make_app(state), install_tool(state)
    for e in state.enrollments.values():
        if e.user_id == PARENT:
            e.workflow_state = "deleted"
    # The parent is no member of the course any more: Canvas shows neither course nor tool.
    response = client_as(app, PARENT).get(f"/courses/{COURSE}/external_tools/{tool.id}")
    assert response.status_code in (401, 404)


def test_enrollments_api_lists_observers_with_their_students(
    client: FlaskClient, ids: DemoIds, teacher: dict[str, str], state: SandboxState
) -> None:
    url = f"/api/v1/courses/{ids.ela_course}/enrollments"
    observers = client.get(
        url, query_string={"type[]": "ObserverEnrollment", "state[]": "active"}, headers=teacher
    ).get_json()
    assert sorted((e["user_id"], e["associated_user_id"]) for e in observers) == sorted(
        (ids.parent, child) for child in ids.parent_children
    )
    assert {e["type"] for e in observers} == {"ObserverEnrollment"}
    assert {e["role"] for e in observers} == {"ObserverEnrollment"}
    # Each in the observed student's section.
    sections = {
        e.user_id: e.section_id
        for e in state.enrollments_in(ids.ela_course)
        if e.type == "StudentEnrollment"
    }
    for e in observers:
        assert e["course_section_id"] == sections[e["associated_user_id"]]
    students = client.get(
        url, query_string={"type[]": "StudentEnrollment"}, headers=teacher
    ).get_json()
    assert students and all(e["associated_user_id"] is None for e in students)
    # The Math parent observes in Math only.
    math = client.get(
        f"/api/v1/courses/{ids.math_course}/enrollments",
        query_string={"type[]": "ObserverEnrollment"},
        headers=teacher_of_math(client, ids, state),
    ).get_json()
    assert [(e["user_id"], e["associated_user_id"]) for e in math] == [
        (ids.math_parent, ids.math_parent_child)
    ]
    assert ids.parent not in {e["user_id"] for e in math}


def teacher_of_math(client: FlaskClient, ids: DemoIds, state: SandboxState) -> dict[str, str]:
    from canvas_sandbox.tokens import mint_token

    return {"Authorization": f"Bearer {mint_token(state, ids.teacher2)}"}


def test_seeded_parents_observe_as_the_demo_says(ids: DemoIds, state: SandboxState) -> None:
    parent, ela = state.users[ids.parent], state.courses[ids.ela_course]
    where = LaunchContext("course_navigation", ela.account_id, ela)
    assert lti_roles(state, parent, where) == [MENTOR, SYSTEM_USER]
    assert sorted(observee_lti_ids(state, parent, ela)) == sorted(
        state.users[c].lti_id for c in ids.parent_children
    )
    # Two children, one in each section; the Math parent observes nobody in ELA.
    assert len({s for c in ids.parent_children for s in section_of(state, c, ela.id)}) == 2
    assert observee_lti_ids(state, state.users[ids.math_parent], ela) == []
    assert state.course_roles(ela.id, ids.math_parent) == set()


def section_of(state: SandboxState, user_id: int, course_id: int) -> set[int]:
    return {e.section_id for e in state.enrollments_in(course_id) if e.user_id == user_id}
