"""``GET /api/v1/accounts/:id/courses`` as canvas-lms answers it (docs/canvas.md §11.1):
sub-accounts' courses included, ``published``/``with_enrollments``/``enrollment_type[]``
filters, admins of the account chain only, numbered pages without ``last``."""

from __future__ import annotations

import random
from collections.abc import Callable

from flask.testing import FlaskClient

from canvas_sandbox import roster
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from lti_app.canvas.client.client import parse_link_header

H = dict[str, str]
STUDENTS = "published=true&with_enrollments=true&enrollment_type[]=student"


def _school(state: SandboxState, ids: DemoIds) -> dict[str, int]:
    """A school under the district with a published course with a student, an unpublished
    one, a course with only a teacher, and one whose only student was deleted."""
    rng = random.Random(4)
    school = roster.add_account(state, "Hillside Middle", parent_id=ids.account)
    made: dict[str, int] = {"school": school.id}
    for name in ("taught", "unpublished", "teacher_only", "deleted_student"):
        course = roster.add_course(state, school.id, name, name.upper())
        section = roster.add_section(state, course.id, "S1")
        roster.enroll(state, ids.teacher, section.id, "TeacherEnrollment")
        if name != "teacher_only":
            student = roster.add_user(state, "Kim", name, rng=rng)
            enrollment = roster.enroll(state, student.id, section.id, "StudentEnrollment")
            if name == "deleted_student":
                enrollment.workflow_state = "deleted"
        if name == "unpublished":
            course.workflow_state = "created"
        made[name] = course.id
    return made


def _ids(client: FlaskClient, url: str, headers: H) -> list[int]:
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [c["id"] for c in resp.get_json()]


def test_lists_sub_account_courses_with_canvas_filters(
    client: FlaskClient, state: SandboxState, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    school = _school(state, ids)
    admin = auth(ids.admin)
    district = _ids(client, f"/api/v1/accounts/{ids.account}/courses?per_page=100", admin)
    # Every state but deleted, the school's courses included, in id order.
    assert set(ids.courses) | {school[k] for k in school if k != "school"} <= set(district)
    assert district == sorted(district)
    with_students = _ids(
        client, f"/api/v1/accounts/{ids.account}/courses?{STUDENTS}&per_page=100", admin
    )
    assert school["taught"] in with_students
    assert school["unpublished"] not in with_students
    assert school["teacher_only"] not in with_students
    assert school["deleted_student"] not in with_students
    assert ids.ela_course in with_students and ids.math_course in with_students
    # with_enrollments alone counts any enrollment type.
    any_enrollment = _ids(
        client,
        f"/api/v1/accounts/{ids.account}/courses?published=true&with_enrollments=true&per_page=100",
        admin,
    )
    assert school["teacher_only"] in any_enrollment
    # The school's own list holds only its courses.
    only_school = _ids(client, f"/api/v1/accounts/{school['school']}/courses?{STUDENTS}", admin)
    assert only_school == [school["taught"]]


def test_pages_without_last_and_refuses_non_admins(
    client: FlaskClient, state: SandboxState, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    _school(state, ids)
    admin = auth(ids.admin)
    url = f"/api/v1/accounts/{ids.account}/courses?{STUDENTS}&per_page=1"
    seen: list[int] = []
    for _ in range(20):
        resp = client.get(url, headers=admin)
        links = parse_link_header(resp.headers.get("Link"))
        assert "last" not in links and "current" in links and "first" in links
        seen += [c["id"] for c in resp.get_json()]
        if "next" not in links:
            break
        url = links["next"]
    assert seen == _ids(
        client, f"/api/v1/accounts/{ids.account}/courses?{STUDENTS}&per_page=100", admin
    )
    teacher = auth(ids.teacher)
    refused = client.get(f"/api/v1/accounts/{ids.account}/courses", headers=teacher)
    assert refused.status_code == 401
    assert client.get("/api/v1/accounts/999999/courses", headers=admin).status_code == 404


def test_the_generated_district_lists_every_course_on_shared_account_outcomes(
    client: FlaskClient, state: SandboxState, auth: Callable[[int], H]
) -> None:
    from canvas_sandbox.generator import synthetic_district
    from canvas_sandbox.outcomes import course_outcome_ids
    from canvas_sandbox.results import course_results

    made = synthetic_district(state, courses=5, students=3, outcomes=4, results_per_pair=2)
    assert {state.courses[c].account_id for c in made.courses} <= set(made.schools)
    assert {state.accounts[s].parent_account_id for s in made.schools} == {made.account}
    for course in made.courses:
        # One set of district targets, linked into every course (not copies per course).
        assert set(course_outcome_ids(state, course)) == set(made.outcomes)
        assert len(course_results(state, course)) == 3 * 4 * 2
    assert all(state.outcomes[o].context_type == "Account" for o in made.outcomes)
    listed = _ids(
        client, f"/api/v1/accounts/{made.account}/courses?{STUDENTS}&per_page=100", auth(made.admin)
    )
    assert listed == sorted(made.courses)


def test_a_course_names_its_account_and_with_include_term_its_term(
    client: FlaskClient, state: SandboxState, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    """``GET /api/v1/courses/:id`` (docs/canvas.md §11.3): ``account_id`` and
    ``enrollment_term_id`` always, the Term object only with ``include[]=term``."""
    school = _school(state, ids)
    teacher = auth(ids.teacher)
    plain = client.get(f"/api/v1/courses/{school['taught']}", headers=teacher).get_json()
    assert plain["account_id"] == school["school"] and plain["enrollment_term_id"] == 1
    assert "term" not in plain
    termed = client.get(
        f"/api/v1/courses/{school['taught']}?include[]=term", headers=teacher
    ).get_json()
    assert termed["term"] == {"id": 1, "name": "Default Term", "start_at": None, "end_at": None}
    assert "account" not in termed


def test_include_account_nests_the_courses_account_for_any_reader(
    client: FlaskClient, state: SandboxState, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    """``include[]=account`` (canvas-lms Api::V1::Course#course_json): the Account model of the
    course's (sub-)account, for a teacher as for an admin: how the tool names a school."""
    school = _school(state, ids)
    got = client.get(
        f"/api/v1/courses/{school['taught']}?include[]=term&include[]=account",
        headers=auth(ids.teacher),
    ).get_json()
    account = got["account"]
    assert account["id"] == school["school"] == got["account_id"]
    assert account["name"] == state.accounts[school["school"]].name
    assert account["parent_account_id"] == state.accounts[school["school"]].parent_account_id
    assert account["root_account_id"] == got["root_account_id"]
    assert account["workflow_state"] == "active" and "term" in got
