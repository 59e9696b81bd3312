"""Write calls: exact Canvas form bodies (index-keyed rubric criteria, Rails arrays), the
200-with-{"error": true} rubric failure, and which writes are retried."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses

import canvas_sandbox.rubrics as sandbox_rubrics
import canvas_sandbox.seed as seed
import canvas_sandbox.serializers as ser
import canvas_sandbox.state as sandbox_state
from lti_app.canvas.client.errors import CanvasUnavailable, ValidationFailed
from lti_app.canvas.client.types import CriterionSpec, RatingSpec
from tests.canvas.conftest import BASE, MakeClient

BASE_URL = BASE
SCALE = (
    RatingSpec(4, "Exceeds"),
    RatingSpec(3, "Meets"),
    RatingSpec(2, "Approaching"),
    RatingSpec(1, "Beginning"),
)


@pytest.fixture(scope="module")
def district() -> tuple[Any, Any]:
    state = sandbox_state.SandboxState()
    return state, seed.demo_district(state)


def pairs(call: Any) -> list[tuple[str, str]]:
    return parse_qsl(call.request.body, keep_blank_values=True)


def test_create_assignment_sends_a_carrier_assignment(
    canvas: responses.RequestsMock, make_client: MakeClient, district: tuple[Any, Any]
) -> None:
    state, ids = district
    assignment = state.assignments[ids.ela_assignments[0]]
    canvas.post(
        f"{BASE}/api/v1/courses/{ids.ela_course}/assignments",
        json=ser.assignment_json(state, assignment, BASE_URL),
    )
    created = make_client().create_assignment(str(ids.ela_course), "District mastery: Unit 3")
    assert created.id == str(assignment.id)
    assert pairs(canvas.calls[0]) == [
        ("assignment[name]", "District mastery: Unit 3"),
        ("assignment[submission_types][]", "none"),
        ("assignment[grading_type]", "points"),
        ("assignment[points_possible]", "0"),
        ("assignment[omit_from_final_grade]", "1"),
        ("assignment[published]", "1"),
    ]


def test_create_rubric_sends_index_keyed_criteria_and_a_grading_association(
    canvas: responses.RequestsMock, make_client: MakeClient, district: tuple[Any, Any]
) -> None:
    state, ids = district
    association = sandbox_rubrics.grading_association(state, ids.ela_assignments[0])
    assert association is not None
    rubric = state.rubrics[association.rubric_id]
    canvas.post(
        f"{BASE}/api/v1/courses/12/rubrics", json=ser.rubric_create_json(rubric, association)
    )
    created = make_client().create_rubric(
        "12",
        "53",
        "District mastery rubric",
        [
            CriterionSpec("RL.3.2 Main idea", SCALE, learning_outcome_id="97", mastery_points=3),
            CriterionSpec("Notes", (RatingSpec(1, "Done"),), ignore_for_scoring=True, id="n1"),
        ],
    )
    assert created.rubric_id == str(rubric.id)
    assert created.association_id == str(association.id)
    body = dict(pairs(canvas.calls[0]))
    assert body["rubric[title]"] == "District mastery rubric"
    assert body["rubric[criteria][0][description]"] == "RL.3.2 Main idea"
    assert body["rubric[criteria][0][learning_outcome_id]"] == "97"
    assert body["rubric[criteria][0][mastery_points]"] == "3"
    assert body["rubric[criteria][0][ratings][0][points]"] == "4"
    assert body["rubric[criteria][0][ratings][3][description]"] == "Beginning"
    assert body["rubric[criteria][1][id]"] == "n1"
    assert body["rubric[criteria][1][ignore_for_scoring]"] == "1"
    assert body["rubric_association[association_type]"] == "Assignment"
    assert body["rubric_association[association_id]"] == "53"
    assert body["rubric_association[purpose]"] == "grading"
    assert body["rubric_association[use_for_grading]"] == "0"
    assert not any("hide_outcome_results" in key for key in body)  # would hide every result
    assert not any(key.endswith("[]") for key in body)


def test_rubric_validation_failure_comes_as_http_200(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.post(
        f"{BASE}/api/v1/courses/12/rubrics",
        json={"error": True, "messages": ["Title can't be blank"]},
    )
    with pytest.raises(ValidationFailed, match="Title can't be blank"):
        make_client().create_rubric("12", "53", "", [CriterionSpec("x", SCALE)])


def test_create_rubric_is_not_resent_after_a_timeout(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    # a second POST could create a second grading association: the trap of docs/canvas.md §3.6
    canvas.post(f"{BASE}/api/v1/courses/12/rubrics", body=requests.ReadTimeout("slow"))
    with pytest.raises(CanvasUnavailable):
        make_client().create_rubric("12", "53", "t", [CriterionSpec("x", SCALE)])
    assert len(canvas.calls) == 1


def test_update_rubric_goes_through_the_existing_association(
    canvas: responses.RequestsMock, make_client: MakeClient, district: tuple[Any, Any]
) -> None:
    state, ids = district
    association = sandbox_rubrics.grading_association(state, ids.ela_assignments[0])
    assert association is not None
    rubric = state.rubrics[association.rubric_id]
    url = f"{BASE}/api/v1/courses/12/rubrics/{rubric.id}"
    canvas.put(url, status=503)
    canvas.put(url, json=ser.rubric_create_json(rubric, association))
    updated = make_client().update_rubric(
        "12", str(rubric.id), str(association.id), "53", "t", [CriterionSpec("x", SCALE)]
    )
    assert updated.rubric_id == str(rubric.id)
    assert len(canvas.calls) == 2  # PUT is idempotent: retried
    assert dict(pairs(canvas.calls[1]))["rubric_association_id"] == str(association.id)


def test_update_grades_nests_grade_data_per_student(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    url = f"{BASE}/api/v1/courses/12/assignments/53/submissions/update_grades"
    canvas.post(
        url,
        json={
            "id": 3,
            "workflow_state": "queued",
            "completion": 0,
            "message": None,
            "url": f"{BASE}/api/v1/progress/3",
        },
    )
    progress = make_client().update_grades(
        "12",
        "53",
        {
            "812": {"rubric_assessment": {"_1234": {"points": 3.0, "comments": "Evidence"}}},
            "813": {"rubric_assessment": {"_1234": {"points": 2.5}}},
        },
    )
    assert progress.id == "3" and not progress.done
    assert pairs(canvas.calls[0]) == [
        ("grade_data[812][rubric_assessment][_1234][points]", "3"),
        ("grade_data[812][rubric_assessment][_1234][comments]", "Evidence"),
        ("grade_data[813][rubric_assessment][_1234][points]", "2.5"),
    ]


def test_empty_writes_are_refused_locally(make_client: MakeClient) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="grade_data"):
        client.update_grades("12", "53", {})
    with pytest.raises(ValueError, match="rubric_assessment"):
        client.assess_submission("12", "53", "812", {})
    with pytest.raises(ValueError, match="criterion"):
        client.create_rubric("12", "53", "t", [])
