"""Write path contracts: assignments, rubrics, the trap, assessments, bulk grading
(docs/canvas.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient

from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from tests.sandbox.conftest import run_result_jobs

H = dict[str, str]

SCALE = [("Exceeds", 4), ("Meets", 3), ("Approaching", 2), ("Beginning", 1)]


def _carrier(client: FlaskClient, ids: DemoIds, headers: H, published: bool = True) -> int:
    resp = client.post(
        f"/api/v1/courses/{ids.ela_course}/assignments",
        json={
            "assignment": {
                "name": "District mastery: Unit 3",
                "submission_types": ["none"],
                "grading_type": "points",
                "points_possible": 0,
                "omit_from_final_grade": True,
                "published": published,
            }
        },
        headers=headers,
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["omit_from_final_grade"] is True and body["published"] is published
    return int(body["id"])


def _rubric_body(ids: DemoIds, assignment_id: int, *, with_id: str | None = None) -> dict[str, Any]:
    criteria: dict[str, Any] = {}
    for n, code in enumerate(("RL.7.1", "W.7.1")):
        criteria[str(n)] = {
            "description": code,
            "learning_outcome_id": ids.ela_outcomes[code],
            "mastery_points": 3,
            "points": 99,  # ignored: Canvas takes the best rating
            "ratings": {str(i): {"description": d, "points": p} for i, (d, p) in enumerate(SCALE)},
        }
    if with_id:
        criteria["0"]["id"] = with_id
    return {
        "rubric": {"title": "District mastery rubric", "criteria": criteria},
        "rubric_association": {
            "association_type": "Assignment",
            "association_id": assignment_id,
            "purpose": "grading",
            "use_for_grading": "0",
        },
    }


def _post_rubric(client: FlaskClient, ids: DemoIds, headers: H, body: dict[str, Any]) -> Any:
    resp = client.post(f"/api/v1/courses/{ids.ela_course}/rubrics", json=body, headers=headers)
    assert resp.status_code == 200
    return resp.get_json()


def test_rubric_create_generates_criteria(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    aid = _carrier(client, ids, teacher)
    body = _post_rubric(client, ids, teacher, _rubric_body(ids, aid, with_id="rl_7_1"))
    rubric, assoc = body["rubric"], body["rubric_association"]
    assert [c["points"] for c in rubric["criteria"]] == [4.0, 4.0]
    assert rubric["criteria"][0]["id"] == "rl_7_1"  # a supplied unique id is kept
    generated = rubric["criteria"][1]["id"]
    assert generated.startswith(f"{rubric['id']}_")
    ratings = rubric["criteria"][1]["ratings"]
    assert [r["points"] for r in ratings] == [4.0, 3.0, 2.0, 1.0]
    assert all(r["criterion_id"] == generated for r in ratings)
    assert rubric["criteria"][0]["learning_outcome_id"] == ids.ela_outcomes["RL.7.1"]
    assert assoc["purpose"] == "grading" and assoc["skip_updating_points_possible"] is False
    assert assoc["hide_outcome_results"] is False
    shown = client.get(f"/api/v1/courses/{ids.ela_course}/assignments/{aid}", headers=teacher)
    data = shown.get_json()
    assert [c["id"] for c in data["rubric"]] == ["rl_7_1", generated]
    assert data["rubric"][0]["outcome_id"] == ids.ela_outcomes["RL.7.1"]
    assert data["rubric"][0]["vendor_guid"] == "district-rl.7.1"
    assert data["rubric_settings"]["id"] == rubric["id"]
    assert data["use_rubric_for_grading"] is False


def test_rubric_form_encoded_and_validation_error(
    client: FlaskClient, ids: DemoIds, teacher: H
) -> None:
    aid = _carrier(client, ids, teacher)
    pairs = [
        ("rubric[title]", "Form rubric"),
        ("rubric[criteria][0][description]", "RL.7.2"),
        ("rubric[criteria][0][learning_outcome_id]", str(ids.ela_outcomes["RL.7.2"])),
        ("rubric[criteria][0][ratings][0][description]", "Meets"),
        ("rubric[criteria][0][ratings][0][points]", "3"),
        ("rubric[criteria][0][ratings][1][description]", "Exceeds"),
        ("rubric[criteria][0][ratings][1][points]", "4"),
        ("rubric_association[association_type]", "Assignment"),
        ("rubric_association[association_id]", str(aid)),
        ("rubric_association[purpose]", "grading"),
    ]
    resp = client.post(
        f"/api/v1/courses/{ids.ela_course}/rubrics",
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers=teacher,
    )
    crit = resp.get_json()["rubric"]["criteria"][0]
    assert crit["points"] == 4.0 and [r["description"] for r in crit["ratings"]] == [
        "Exceeds",
        "Meets",
    ]
    # arrays instead of index-keyed objects: Canvas's "error" body with HTTP 200
    bad = _rubric_body(ids, aid)
    bad["rubric"]["criteria"] = list(bad["rubric"]["criteria"].values())
    resp = client.post(f"/api/v1/courses/{ids.ela_course}/rubrics", json=bad, headers=teacher)
    assert resp.status_code == 200
    assert resp.get_json()["error"] is True and resp.get_json()["messages"]


def _assess(
    client: FlaskClient, ids: DemoIds, headers: H, aid: int, user: int, rows: dict[str, Any]
) -> Any:
    return client.put(
        f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{user}",
        json={"rubric_assessment": rows},
        headers=headers,
    )


def _settled(state: SandboxState) -> list[Any]:
    """Every stored result once the queued result jobs have run."""
    run_result_jobs(state)
    return list(state.results.values())


def _results_for(state: SandboxState, aid: int, user: int) -> dict[int, Any]:
    return {
        r.outcome_id: r for r in _settled(state) if r.assignment_id == aid and r.user_id == user
    }


def test_assessment_creates_updates_and_caps(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    aid = _carrier(client, ids, teacher)
    rubric = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))["rubric"]
    c0, c1 = (c["id"] for c in rubric["criteria"])
    student = ids.students[7]
    resp = _assess(client, ids, teacher, aid, student, {c0: {"points": 3}, c1: {"points": 9}})
    assert resp.status_code == 200
    assert "rubric_assessment" not in resp.get_json() or resp.get_json()["rubric_assessment"]
    results = _results_for(state, aid, student)
    rl, w = results[ids.ela_outcomes["RL.7.1"]], results[ids.ela_outcomes["W.7.1"]]
    assert (rl.score, rl.possible, rl.percent, rl.mastery) == (3.0, 4.0, 0.75, True)
    assert w.score == 4.0  # capped at the criterion's points
    first_id = rl.id
    # re-assessing updates the same result; the omitted row keeps its old result
    _assess(client, ids, teacher, aid, student, {c0: {"points": 1}})
    again = _results_for(state, aid, student)
    assert again[ids.ela_outcomes["RL.7.1"]].id == first_id
    assert again[ids.ela_outcomes["RL.7.1"]].score == 1.0
    assert again[ids.ela_outcomes["W.7.1"]].score == 4.0
    shown = client.get(
        f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{student}"
        "?include[]=rubric_assessment",
        headers=teacher,
    ).get_json()
    # the whole assessment was replaced by the rows sent
    assert set(shown["rubric_assessment"]) == {c0}
    rating = shown["rubric_assessment"][c0]
    assert rating["points"] == 1.0
    assert rating["rating_id"] == next(
        r["id"] for r in rubric["criteria"][0]["ratings"] if r["points"] == 1
    )
    bad = _assess(client, ids, teacher, aid, student, {"nope": {"points": 2}})
    assert bad.status_code == 400 and bad.get_json() == {"message": "invalid rubric_assessment"}


def test_second_grading_association_deletes_results(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    aid = _carrier(client, ids, teacher)
    rubric = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))["rubric"]
    c0 = rubric["criteria"][0]["id"]
    for student in ids.students[:3]:
        _assess(client, ids, teacher, aid, student, {c0: {"points": 4}})
    assert sum(1 for r in _settled(state) if r.assignment_id == aid) == 3
    # THE TRAP: POSTing the rubric again makes a second grading association
    _post_rubric(client, ids, teacher, _rubric_body(ids, aid))
    assert sum(1 for r in _settled(state) if r.assignment_id == aid) == 0
    # the seeded assignments are untouched
    assert any(r.assignment_id == ids.ela_assignments[0] for r in _settled(state))


def test_rubric_update_in_place_keeps_results(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    aid = _carrier(client, ids, teacher)
    created = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))
    rubric, assoc = created["rubric"], created["rubric_association"]
    c0 = rubric["criteria"][0]["id"]
    _assess(client, ids, teacher, aid, ids.students[1], {c0: {"points": 2}})
    body = _rubric_body(ids, aid)
    body["rubric"]["title"] = "Renamed"
    body["rubric_association_id"] = assoc["id"]
    resp = client.put(
        f"/api/v1/courses/{ids.ela_course}/rubrics/{rubric['id']}", json=body, headers=teacher
    )
    assert resp.status_code == 200
    updated = resp.get_json()
    assert updated["rubric"]["id"] == rubric["id"]  # used in one place: updated in place
    assert updated["rubric"]["title"] == "Renamed"
    assert updated["rubric_association"]["id"] == assoc["id"]
    assert sum(1 for r in _settled(state) if r.assignment_id == aid) == 1


def test_bulk_update_grades_and_progress(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    aid = _carrier(client, ids, teacher)
    rubric = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))["rubric"]
    c0, c1 = (c["id"] for c in rubric["criteria"])
    url = f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/update_grades"
    empty = client.post(url, json={}, headers=teacher)
    assert empty.status_code == 400 and empty.get_json() == "'grade_data' parameter required"
    grade_data = {
        str(s): {
            "rubric_assessment": {c0: {"points": 3}, c1: {"points": 2}, "bogus": {"points": 1}}
        }
        for s in ids.students[:4]
    }
    resp = client.post(url, json={"grade_data": grade_data}, headers=teacher)
    assert resp.status_code == 200
    progress = resp.get_json()
    assert progress["workflow_state"] == "queued" and progress["tag"] == "submissions_update"
    assert progress["url"] == f"http://sandbox.test:8100/api/v1/progress/{progress['id']}"
    done = client.get(f"/api/v1/progress/{progress['id']}", headers=teacher).get_json()
    assert done["workflow_state"] == "completed" and done["completion"] == 100
    assert sum(1 for r in _settled(state) if r.assignment_id == aid) == 8
    unknown = client.post(
        url, json={"grade_data": {"999999": {"posted_grade": "1"}}}, headers=teacher
    )
    failed = client.get(f"/api/v1/progress/{unknown.get_json()['id']}", headers=teacher).get_json()
    assert failed["workflow_state"] == "failed"
    assert failed["message"] == "Couldn't find User(s) with API ids '999999'"
    unpublished = _carrier(client, ids, teacher, published=False)
    resp = client.post(
        f"/api/v1/courses/{ids.ela_course}/assignments/{unpublished}/submissions/update_grades",
        json={"grade_data": grade_data},
        headers=teacher,
    )
    assert resp.status_code == 401


def test_results_appear_after_the_delay(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    client.post("/_sandbox/knobs", json={"result_delay_ms": 5000})
    aid = _carrier(client, ids, teacher)
    rubric = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))["rubric"]
    student = ids.students[9]
    _assess(client, ids, teacher, aid, student, {rubric["criteria"][0]["id"]: {"points": 4}})
    url = (
        f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}"
        f"&outcome_ids[]={ids.ela_outcomes['RL.7.1']}"
    )
    before = client.get(url, headers=teacher).get_json()["outcome_results"]
    assert f"assignment_{aid}" not in {r["links"]["alignment"] for r in before}
    real = state.clock
    later = real() + timedelta(seconds=6)
    state.clock = lambda: later
    after = client.get(url, headers=teacher).get_json()["outcome_results"]
    assert f"assignment_{aid}" in {r["links"]["alignment"] for r in after}


def test_students_cannot_grade(
    client: FlaskClient, ids: DemoIds, teacher: H, auth: Callable[[int], H]
) -> None:
    aid = _carrier(client, ids, teacher)
    resp = _assess(client, ids, auth(ids.students[0]), aid, ids.students[1], {"x": {"points": 1}})
    assert resp.status_code == 401


def test_rubric_used_twice_is_forked_on_update(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    a1, a2 = _carrier(client, ids, teacher), _carrier(client, ids, teacher)
    created = _post_rubric(client, ids, teacher, _rubric_body(ids, a1))
    rubric_id = created["rubric"]["id"]
    second = client.post(
        f"/api/v1/courses/{ids.ela_course}/rubric_associations",
        json={
            "rubric_association": {
                "rubric_id": rubric_id,
                "association_type": "Assignment",
                "association_id": a2,
                "purpose": "grading",
            }
        },
        headers=teacher,
    ).get_json()["rubric_association"]
    body = _rubric_body(ids, a2)
    body["rubric_association_id"] = second["id"]
    updated = client.put(
        f"/api/v1/courses/{ids.ela_course}/rubrics/{rubric_id}", json=body, headers=teacher
    ).get_json()
    assert updated["rubric"]["id"] != rubric_id  # used in two places: a new rubric
    assert state.rubric_associations[second["id"]].rubric_id == updated["rubric"]["id"]
    assert state.rubric_associations[created["rubric_association"]["id"]].rubric_id == rubric_id


def test_trap_through_rubric_associations_endpoint(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    aid = _carrier(client, ids, teacher)
    created = _post_rubric(client, ids, teacher, _rubric_body(ids, aid))
    c0 = created["rubric"]["criteria"][0]["id"]
    _assess(client, ids, teacher, aid, ids.students[2], {c0: {"points": 3}})
    assert any(r.assignment_id == aid for r in _settled(state))
    client.post(
        f"/api/v1/courses/{ids.ela_course}/rubric_associations",
        json={
            "rubric_association": {
                "rubric_id": created["rubric"]["id"],
                "association_type": "Assignment",
                "association_id": aid,
                "purpose": "grading",
            }
        },
        headers=teacher,
    )
    assert not any(r.assignment_id == aid for r in _settled(state))
    assert state.rubric_associations[created["rubric_association"]["id"]].workflow_state == (
        "deleted"
    )


def test_duplicate_supplied_criterion_ids_are_replaced(
    client: FlaskClient, ids: DemoIds, teacher: H
) -> None:
    aid = _carrier(client, ids, teacher)
    body = _rubric_body(ids, aid, with_id="same")
    body["rubric"]["criteria"]["1"]["id"] = "same"
    criteria = _post_rubric(client, ids, teacher, body)["rubric"]["criteria"]
    assert criteria[0]["id"] == "same" and criteria[1]["id"] != "same"


def test_multi_assignment_bulk_update(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    a1, a2 = _carrier(client, ids, teacher), _carrier(client, ids, teacher)
    c1 = _post_rubric(client, ids, teacher, _rubric_body(ids, a1))["rubric"]["criteria"][0]["id"]
    c2 = _post_rubric(client, ids, teacher, _rubric_body(ids, a2))["rubric"]["criteria"][0]["id"]
    student = str(ids.students[11])
    resp = client.post(
        f"/api/v1/courses/{ids.ela_course}/submissions/update_grades",
        json={
            "grade_data": {
                str(a1): {student: {"rubric_assessment": {c1: {"points": 2}}}},
                str(a2): {student: {"rubric_assessment": {c2: {"points": 4}}}},
            }
        },
        headers=teacher,
    )
    progress = client.get(f"/api/v1/progress/{resp.get_json()['id']}", headers=teacher).get_json()
    assert progress["workflow_state"] == "completed"
    scores = {r.assignment_id: r.score for r in _settled(state) if r.assignment_id in (a1, a2)}
    assert scores == {a1: 2.0, a2: 4.0}


def test_course_rollups_helper_matches_the_api(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    from canvas_sandbox.rollups import course_rollups

    table = course_rollups(state, ids.ela_course)
    assert set(table) == set(ids.students) and table[ids.no_results_student] == []
    student = ids.students[6]
    api = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups?user_ids[]={student}", headers=teacher
    ).get_json()["rollups"][0]["scores"]
    assert [s["score"] for s in api] == [s.score for s in table[student]]
