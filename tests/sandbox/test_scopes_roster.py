"""Scoped tokens (docs/canvas.md §4.9), roster reads and the feature-flag probe (§6.8)."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from canvas_sandbox import tokens
from canvas_sandbox.scopes import all_scopes
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState

H = dict[str, str]
REDIRECT = "https://tool.example/canvas/oauth/callback"


def _scoped_token(
    client: FlaskClient, state: SandboxState, ids: DemoIds, scopes: list[str], includes: bool
) -> H:
    key = tokens.create_api_key(
        state, "Scoped", REDIRECT, scopes=all_scopes(), allow_includes=includes
    )
    code = tokens.issue_code(state, key.client_id, ids.teacher, REDIRECT, scopes)
    body = client.post(
        "/login/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": key.client_id,
            "client_secret": key.secret,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    ).get_json()
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_scoped_token_limits_routes_and_drops_includes(
    client: FlaskClient, state: SandboxState, ids: DemoIds
) -> None:
    results_scope = "url:GET|/api/v1/courses/:course_id/outcome_results"
    assert results_scope in all_scopes()
    headers = _scoped_token(client, state, ids, [results_scope], includes=False)
    url = f"/api/v1/courses/{ids.ela_course}/outcome_results?include[]=outcomes"
    body = client.get(url, headers=headers).get_json()
    assert body["outcome_results"] and "linked" not in body  # include[] silently ignored
    denied = client.get(f"/api/v1/courses/{ids.ela_course}/outcome_rollups", headers=headers)
    assert denied.status_code == 401
    assert denied.get_json() == {"errors": [{"message": "Insufficient scopes on access token."}]}
    with_includes = _scoped_token(client, state, ids, [results_scope], includes=True)
    assert "linked" in client.get(url, headers=with_includes).get_json()


def test_course_sections_users_enrollments(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    course = client.get(f"/api/v1/courses/{ids.ela_course}", headers=teacher).get_json()
    assert course["course_code"] == "ELA7-P2" and course["account_id"] == ids.account
    sections = client.get(
        f"/api/v1/courses/{ids.ela_course}/sections?include[]=students", headers=teacher
    ).get_json()
    assert [s["id"] for s in sections] == ids.ela_sections
    assert sum(len(s["students"]) for s in sections) == 31  # one student in both
    users = client.get(
        f"/api/v1/courses/{ids.ela_course}/users?enrollment_type[]=teacher&include[]=enrollments",
        headers=teacher,
    ).get_json()
    assert [u["id"] for u in users] == [ids.teacher]
    assert {e["course_section_id"] for e in users[0]["enrollments"]} == set(ids.ela_sections)
    assert users[0]["enrollments"][0]["type"] == "TeacherEnrollment"
    enrollments = client.get(
        f"/api/v1/courses/{ids.ela_course}/enrollments?type[]=TaEnrollment", headers=teacher
    ).get_json()
    assert {e["user_id"] for e in enrollments} == {ids.ta}
    assert enrollments[0]["user"]["name"] == "Jordan Lee"
    # a teacher of another course sees nothing here
    outsider = client.get(
        f"/api/v1/courses/{ids.ela_course}",
        headers={"Authorization": f"Bearer {tokens.mint_token(state, ids.teacher2)}"},
    )
    assert outsider.status_code == 401


def test_ff_off_rollups_use_each_outcomes_method(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    state.accounts[ids.account].account_level_mastery_scales = False
    oid = ids.ela_outcomes["RL.7.4"]
    state.outcomes[oid].calculation_method = "highest"
    state.outcomes[oid].calculation_int = None
    student = ids.students[4]
    url = (
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups?user_ids[]={student}&outcome_ids[]={oid}"
    )
    score = client.get(url, headers=teacher).get_json()["rollups"][0]["scores"][0]["score"]
    mine = [r for r in state.results.values() if r.user_id == student and r.outcome_id == oid]
    assert score == max(r.percent * 4.0 for r in mine if r.percent is not None)


def test_users_self_for_a_student(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H], state: SandboxState
) -> None:
    me = ids.students[0]
    body = client.get("/api/v1/users/self", headers=auth(me)).get_json()
    assert body["id"] == me and body["sortable_name"] == state.users[me].sortable_name
    other = client.get(f"/api/v1/users/{ids.students[1]}", headers=auth(me))
    assert other.status_code == 401


def test_canvas_string_ids(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    headers = {**teacher, "Accept": "application/json+canvas-string-ids"}
    body = client.get(
        f"/api/v1/courses/{ids.ela_course}/users?include[]=enrollments&per_page=1", headers=headers
    ).get_json()
    assert isinstance(body[0]["id"], str)
    enrollment = body[0]["enrollments"][0]
    assert enrollment["course_id"] == str(ids.ela_course)
    assert enrollment["enrollment_state"] == "active"
    plain = client.get(f"/api/v1/courses/{ids.ela_course}", headers=teacher).get_json()
    assert plain["id"] == ids.ela_course
