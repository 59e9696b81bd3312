"""Malformed input never makes the sandbox answer 5xx (a Canvas stand-in must not crash)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.tokens import mint_token

_APP: Flask = create_sandbox(SandboxConfig(throttle_enabled=False))
_IDS: DemoIds = _APP.extensions["sandbox_ids"]
_STATE: SandboxState = _APP.extensions["sandbox_state"]
_TEACHER = {"Authorization": f"Bearer {mint_token(_STATE, _IDS.teacher, ttl=None)}"}

scalars = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-3, max_value=10**6).map(str),
    st.sampled_from(["", "1", "0", "true", "abc", "bookmark:", "first", "-1", "1.5", "[]"]),
)
keys = st.sampled_from(
    [
        "user_ids[]", "outcome_ids[]", "outcome_group_id", "section_id", "include[]", "exclude[]",
        "per_page", "page", "aggregate", "aggregate_stat", "sort_by", "sort_order",
        "sort_outcome_id", "include_hidden", "enrollment_type[]", "type[]", "state[]",
    ]
)  # fmt: skip
json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    path=st.sampled_from(
        ["outcome_results", "outcome_rollups", "users", "enrollments", "outcome_group_links"]
    ),
    query=st.lists(st.tuples(keys, scalars), max_size=5),
)
def test_reads_never_5xx(path: str, query: list[tuple[str, str]]) -> None:
    client = _APP.test_client()
    url = f"/api/v1/courses/{_IDS.ela_course}/{path}?{urlencode(query)}"
    assert client.get(url, headers=_TEACHER).status_code < 500


@FUZZ
@given(
    target=st.sampled_from(
        ["rubrics", "assignments", "update_grades", "submission", "proficiency"]
    ),
    body=st.dictionaries(
        st.sampled_from(
            [
                "rubric",
                "rubric_association",
                "assignment",
                "grade_data",
                "rubric_assessment",
                "ratings",
                "submission",
                "rubric_association_id",
            ]
        ),
        json_values,
        max_size=3,
    ),
)
def test_writes_never_5xx(target: str, body: dict[str, Any]) -> None:
    client = _APP.test_client()
    course = _IDS.ela_course
    aid = _IDS.ela_assignments[0]
    url = {
        "rubrics": f"/api/v1/courses/{course}/rubrics",
        "assignments": f"/api/v1/courses/{course}/assignments",
        "update_grades": f"/api/v1/courses/{course}/assignments/{aid}/submissions/update_grades",
        "submission": f"/api/v1/courses/{course}/assignments/{aid}/submissions/{_IDS.students[0]}",
        "proficiency": f"/api/v1/courses/{course}/outcome_proficiency",
    }[target]
    method = client.put if target == "submission" else client.post
    headers = _TEACHER
    if target == "proficiency":
        headers = {"Authorization": f"Bearer {mint_token(_STATE, _IDS.admin)}"}
    assert method(url, json=body, headers=headers).status_code < 500


@FUZZ
@given(
    outcome=scalars,
    mastery=scalars,
    points=scalars,
    crit_id=scalars,
    assoc_id=scalars,
    assoc_type=st.sampled_from(["Assignment", "Course", "", "Bogus"]),
    assess_points=scalars,
)
def test_structured_rubric_and_assessment_values_never_5xx(
    outcome: str,
    mastery: str,
    points: str,
    crit_id: str,
    assoc_id: str,
    assoc_type: str,
    assess_points: str,
) -> None:
    client = _APP.test_client()
    course = _IDS.ela_course
    body = {
        "rubric": {
            "title": "Fuzz",
            "criteria": {
                "0": {
                    "id": crit_id,
                    "learning_outcome_id": outcome,
                    "mastery_points": mastery,
                    "ratings": {"0": {"points": points}, "1": {"points": "0"}},
                }
            },
        },
        "rubric_association": {
            "association_type": assoc_type,
            "association_id": assoc_id,
            "purpose": "grading",
        },
    }
    resp = client.post(f"/api/v1/courses/{course}/rubrics", json=body, headers=_TEACHER)
    assert resp.status_code < 500
    created = resp.get_json()
    if resp.status_code == 200 and "rubric_association" in created:
        assoc = created["rubric_association"]
        if assoc["association_type"] == "Assignment":
            cid = created["rubric"]["criteria"][0]["id"]
            put = client.put(
                f"/api/v1/courses/{course}/assignments/{assoc['association_id']}"
                f"/submissions/{_IDS.students[1]}",
                json={"rubric_assessment": {cid: {"points": assess_points, "rating_id": points}}},
                headers=_TEACHER,
            )
            assert put.status_code < 500
