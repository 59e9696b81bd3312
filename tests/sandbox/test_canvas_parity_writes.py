"""Contracts: the write path behaves as canvas-lms does where the tool's correctness depends on it.

Each test names the canvas-lms file and method it follows (docs/canvas.md §3.3-3.5,
§3.9, §3.11-3.13, §4.6, §4.11).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import CalculationMethod, SandboxState
from tests.sandbox.conftest import BASE, run_result_jobs

H = dict[str, str]
SCALE = {"0": ("Exceeds", 4), "1": ("Meets", 3), "2": ("Approaching", 2), "3": ("Beginning", 1)}


def _carrier(client: FlaskClient, ids: DemoIds, headers: H, name: str) -> int:
    resp = client.post(
        f"/api/v1/courses/{ids.ela_course}/assignments",
        json={"assignment": {"name": name, "published": True, "submission_types": ["none"]}},
        headers=headers,
    )
    assert resp.status_code == 201
    return int(resp.get_json()["id"])


def _rubric(client: FlaskClient, ids: DemoIds, headers: H, aid: int, codes: list[str]) -> Any:
    criteria = {
        str(n): {
            "description": code,
            "learning_outcome_id": ids.ela_outcomes[code],
            "ratings": {k: {"description": d, "points": p} for k, (d, p) in SCALE.items()},
        }
        for n, code in enumerate(codes)
    }
    body = {
        "rubric": {"title": f"Carrier {aid}", "criteria": criteria},
        "rubric_association": {
            "association_type": "Assignment",
            "association_id": aid,
            "purpose": "grading",
        },
    }
    resp = client.post(f"/api/v1/courses/{ids.ela_course}/rubrics", json=body, headers=headers)
    assert resp.status_code == 200
    return resp.get_json()["rubric"]


def _put(client: FlaskClient, ids: DemoIds, h: H, aid: int, user: int, rows: Any) -> Any:
    resp = client.put(
        f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{user}",
        json={"rubric_assessment": rows},
        headers=h,
    )
    assert resp.status_code == 200
    return resp.get_json()


def _at(state: SandboxState, when: datetime) -> None:
    state.clock = lambda: when


def _latest_rollup(client: FlaskClient, ids: DemoIds, h: H, user: int, outcome: int) -> Any:
    resp = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups"
        f"?user_ids[]={user}&outcome_ids[]={outcome}",
        headers=h,
    )
    assert resp.status_code == 200
    (rollup,) = resp.get_json()["rollups"]
    (score,) = rollup["scores"]
    return score["score"]


def test_resaving_an_assessment_redates_every_row(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """canvas-lms app/models/rubric_assessment.rb RubricAssessment#track_outcomes ->
    #update_outcomes_for_assessment -> #create_outcome_result (assessed_at = Time.zone.now for
    every outcome row of each save); rollups order by submitted_at || assessed_at
    (app/helpers/rollup_score_aggregator_helper.rb RollupScoreAggregatorHelper#sorted_results)."""
    later = state.now()  # after every seeded result
    state.courses[ids.ela_course].calculation = CalculationMethod("latest")
    a_code, b_code = "RL.7.1", "W.7.1"
    outcome_a = ids.ela_outcomes[a_code]
    student = ids.students[2]
    x = _carrier(client, ids, teacher, "Carrier X")
    y = _carrier(client, ids, teacher, "Carrier Y")
    rx = _rubric(client, ids, teacher, x, [a_code, b_code])
    ry = _rubric(client, ids, teacher, y, [a_code])
    xa, xb = (c["id"] for c in rx["criteria"])
    _at(state, later)
    _put(client, ids, teacher, x, student, {xa: {"points": 1}})
    _at(state, later + timedelta(minutes=1))
    _put(client, ids, teacher, y, student, {ry["criteria"][0]["id"]: {"points": 4}})
    _at(state, later + timedelta(minutes=2))
    assert _latest_rollup(client, ids, teacher, student, outcome_a) == 4.0  # Y is newest
    # Target B is added to X's assessment (every row is sent again, A unchanged)...
    _put(client, ids, teacher, x, student, {xa: {"points": 1}, xb: {"points": 3}})
    _at(state, later + timedelta(minutes=3))
    # ...and A's row on X is re-dated: it is now the newest result for A.
    assert _latest_rollup(client, ids, teacher, student, outcome_a) == 1.0
    run_result_jobs(state)
    on_x = [r for r in state.results.values() if r.assignment_id == x and r.user_id == student]
    job_ran = later + timedelta(minutes=2, milliseconds=state.result_delay_ms)
    assert {r.assessed_at for r in on_x} == {job_ran}
    assert all(r.submitted_at is None for r in on_x)  # no submission was made


def test_results_are_written_by_a_delayed_job(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """canvas-lms app/models/rubric_assessment.rb RubricAssessment#track_outcomes queues
    update_outcomes_for_assessment (delay_if_production): never written in the request."""
    assert state.result_delay_ms > 0  # the default, for the demo and the tests
    aid = _carrier(client, ids, teacher, "Delayed")
    crit = _rubric(client, ids, teacher, aid, ["RL.7.1"])["criteria"][0]["id"]
    later = state.now()
    _at(state, later)
    student = ids.students[3]
    _put(client, ids, teacher, aid, student, {crit: {"points": 3}})
    url = f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}&per_page=100"

    def on_carrier() -> list[Any]:
        rows = client.get(url, headers=teacher).get_json()["outcome_results"]
        return [r for r in rows if r["links"]["alignment"] == f"assignment_{aid}"]

    assert on_carrier() == []
    _at(state, later + timedelta(milliseconds=state.result_delay_ms))
    assert [r["score"] for r in on_carrier()] == [3.0]
    # The knob set to 0: the job runs at once.
    client.post("/_sandbox/knobs", json={"result_delay_ms": 0})
    _put(client, ids, teacher, aid, student, {crit: {"points": 2}})
    assert [r["score"] for r in on_carrier()] == [2.0]


def test_bulk_update_grades_the_found_students_then_fails(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """canvas-lms app/models/submission.rb Submission.process_bulk_update: students it finds
    are graded, then the Progress fails with "Couldn't find User(s) with API ids ..."."""
    aid = _carrier(client, ids, teacher, "Bulk")
    crit = _rubric(client, ids, teacher, aid, ["RL.7.1"])["criteria"][0]["id"]
    teacher_not_student = str(ids.teacher2)
    grade_data = {
        str(ids.students[0]): {"rubric_assessment": {crit: {"points": 4}}},
        "999999": {"rubric_assessment": {crit: {"points": 4}}},
        teacher_not_student: {"rubric_assessment": {crit: {"points": 4}}},
        str(ids.students[1]): {"rubric_assessment": {crit: {"points": 2}}},
    }
    url = f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/update_grades"
    queued = client.post(url, json={"grade_data": grade_data}, headers=teacher).get_json()
    done = client.get(f"/api/v1/progress/{queued['id']}", headers=teacher).get_json()
    assert done["workflow_state"] == "failed"
    head, _, ids_part = done["message"].partition(" with API ids ")
    assert head == "Couldn't find User(s)"
    assert sorted(ids_part.split(", ")) == sorted(["'999999'", f"'{teacher_not_student}'"])
    assert "results" not in done
    run_result_jobs(state)
    graded = {r.user_id: r.score for r in state.results.values() if r.assignment_id == aid}
    assert graded == {ids.students[0]: 4.0, ids.students[1]: 2.0}


def _links(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(","):
        url, rel = part.split(";")
        out[rel.strip()[5:-1]] = url.strip()[1:-1]
    return out


def test_outcome_results_page_by_number_with_a_count(
    client: FlaskClient, ids: DemoIds, teacher: H
) -> None:
    """canvas-lms app/controllers/outcome_results_controller.rb OutcomeResultsController#index:
    Api.paginate (lib/api.rb) on the relation: Link current, next, prev, first, last."""
    base = f"/api/v1/courses/{ids.ela_course}/outcome_results?per_page=20"
    first = client.get(base, headers=teacher)
    second_url = _links(first.headers["Link"])["next"]
    second = client.get(second_url.removeprefix(BASE), headers=teacher)
    links = _links(second.headers["Link"])
    assert list(links) == ["current", "next", "prev", "first", "last"]
    assert "page=2" in links["current"] and "page=3" in links["next"]
    assert "page=1" in links["prev"] and "page=1" in links["first"]
    assert "bookmark" not in second.headers["Link"]
    last = client.get(links["last"].removeprefix(BASE), headers=teacher)
    assert 0 < len(last.get_json()["outcome_results"]) <= 20  # the count gives the last page
    assert "next" not in _links(last.headers["Link"])


def test_reply_shapes(client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState) -> None:
    """canvas-lms app/controllers/submissions_api_controller.rb SubmissionsApiController#update
    (no rubric_assessment, all_submissions), lib/api/v1/progress.rb Api::V1::Progress#progress_json
    (results only once stored), app/controllers/rubric_associations_controller.rb
    RubricAssociationsController#create ({rubric, rubric_association})."""
    aid = _carrier(client, ids, teacher, "Shapes")
    crit = _rubric(client, ids, teacher, aid, ["RL.7.1"])["criteria"][0]["id"]
    student = ids.students[4]
    put = _put(client, ids, teacher, aid, student, {crit: {"points": 3}})
    assert "rubric_assessment" not in put
    assert [s["user_id"] for s in put["all_submissions"]] == [student]
    shown = client.get(
        f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{student}"
        "?include[]=rubric_assessment",
        headers=teacher,
    ).get_json()
    assert shown["rubric_assessment"][crit]["points"] == 3.0
    url = f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/update_grades"
    queued = client.post(
        url, json={"grade_data": {str(student): {"posted_grade": "1"}}}, headers=teacher
    ).get_json()
    assert "results" not in queued
    done = client.get(f"/api/v1/progress/{queued['id']}", headers=teacher).get_json()
    assert done["workflow_state"] == "completed" and "results" not in done
    rubric_id = _rubric(client, ids, teacher, aid, ["W.7.1"])["id"]
    other = _carrier(client, ids, teacher, "Shapes 2")
    made = client.post(
        f"/api/v1/courses/{ids.ela_course}/rubric_associations",
        json={
            "rubric_association": {
                "rubric_id": rubric_id,
                "association_type": "Assignment",
                "association_id": other,
                "purpose": "grading",
            }
        },
        headers=teacher,
    ).get_json()
    assert set(made) == {"rubric", "rubric_association"}
    assert made["rubric"]["id"] == rubric_id
    assert made["rubric_association"]["association_id"] == other


def test_a_rubric_put_without_association_id_reaches_the_grading_association(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """canvas-lms app/controllers/rubrics_controller.rb RubricsController#update ->
    app/models/rubric_association.rb RubricAssociation.generate -> app/models/rubric.rb
    Rubric#associate_with (purpose "grading": this rubric's grading association with the
    object): no second association, and the answer names the existing one."""
    aid = _carrier(client, ids, teacher, "Put through the object")
    rubric = _rubric(client, ids, teacher, aid, ["RL.7.1"])
    [assoc] = [a for a in state.rubric_associations.values() if a.association_id == aid]
    body = {
        "rubric": {
            "title": "Renamed",
            "criteria": {
                "0": {
                    "learning_outcome_id": ids.ela_outcomes["RL.7.1"],
                    "ratings": {"0": {"description": "Only", "points": 4}},
                }
            },
        },
        "rubric_association": {
            "association_type": "Assignment",
            "association_id": aid,
            "purpose": "grading",
        },
    }
    resp = client.put(
        f"/api/v1/courses/{ids.ela_course}/rubrics/{rubric['id']}", json=body, headers=teacher
    )
    assert resp.status_code == 200
    assert resp.get_json()["rubric_association"]["id"] == assoc.id
    active = [
        a
        for a in state.rubric_associations.values()
        if a.association_id == aid and a.workflow_state == "active"
    ]
    assert [a.id for a in active] == [assoc.id]
    assert state.rubrics[rubric["id"]].title == "Renamed"


def test_updating_and_deleting_an_assignment(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """canvas-lms app/controllers/assignments_api_controller.rb #update (name, published,
    grading_type) and #destroy -> app/models/assignment.rb Assignment#destroy (soft delete; its
    outcome alignments are deleted, so its results leave outcome_results: with_active_link)."""
    aid = _carrier(client, ids, teacher, "Edited")
    _rubric(client, ids, teacher, aid, ["RL.7.1"])
    student = ids.students[0]
    _put(client, ids, teacher, aid, student, {_crit(state, aid): {"points": 3}})
    run_result_jobs(state)
    url = f"/api/v1/courses/{ids.ela_course}/assignments/{aid}"
    resp = client.put(
        url,
        json={"assignment": {"name": "New", "published": False, "grading_type": "not_graded"}},
        headers=teacher,
    )
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["name"], body["published"], body["grading_type"]) == ("New", False, "not_graded")

    def on_it() -> list[Any]:
        resp = client.get(
            f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}",
            headers=teacher,
        )
        return [
            r
            for r in resp.get_json()["outcome_results"]
            if r["links"]["assignment"].endswith(f"_{aid}")
        ]

    assert len(on_it()) == 1
    assert client.delete(url, headers=teacher).status_code == 200
    assert client.get(url, headers=teacher).status_code == 404
    assert on_it() == []


def _crit(state: SandboxState, aid: int) -> str:
    [assoc] = [a for a in state.rubric_associations.values() if a.association_id == aid]
    return state.rubrics[assoc.rubric_id].criteria[0].id
