"""Contracts: reads, flags, scopes and rubric rewrites as canvas-lms serves them
(docs/canvas.md §1.1, §1.7, §2.4, §3.8, §3.10, §4.9, §6.8)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from canvas_sandbox import generator
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from lti_app.sync.views import SCOPES
from tests.sandbox.test_scopes_roster import _scoped_token

H = dict[str, str]
CLIENT_SOURCE = Path(__file__).parents[2] / "lti_app" / "canvas" / "client" / "client.py"


def test_new_quiz_results_have_a_null_id(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    """canvas-lms app/helpers/outcomes_service_authoritative_results_helper.rb
    OutcomesServiceAuthoritativeResultsHelper#json_to_outcome_result: unsaved records, id nil."""
    student = ids.students[0]
    rows = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}&per_page=100",
        headers=teacher,
    ).get_json()["outcome_results"]
    quiz = [r for r in rows if r["links"]["assignment"] == f"assignment_{ids.new_quiz}"]
    assert len(quiz) == 2 and all(r["id"] is None for r in quiz)
    assert {r["links"]["learning_outcome"] for r in quiz} == {
        str(ids.ela_outcomes["RL.7.1"]),
        str(ids.ela_outcomes["RL.7.2"]),
    }
    assert all(r["id"] is not None for r in rows if r not in quiz)


def test_generated_district_has_the_flag_off_and_a_new_quiz(state: SandboxState) -> None:
    made = generator.second_district(state)
    assert not state.accounts[made.account].account_level_mastery_scales
    quiz = [
        r for r in state.results.values() if r.course_id == made.course and r.from_outcomes_service
    ]
    assert {r.outcome_id for r in quiz} == set(made.outcomes[:2])


def test_feature_flags_and_mastery_scale_like_canvas(
    client: FlaskClient, ids: DemoIds, teacher: H, auth: Any, state: SandboxState
) -> None:
    """canvas-lms app/controllers/feature_flags_controller.rb FeatureFlagsController
    #enabled_features / #show (Feature.applicable_features: a root-account feature is not a
    course's); app/controllers/outcome_proficiency_api_controller.rb #show answers the stored
    scale whatever account_level_mastery_scales says (Account#resolved_outcome_proficiency)."""
    admin = auth(ids.admin)
    on = client.get(f"/api/v1/accounts/{ids.account}/features/enabled", headers=admin).get_json()
    assert "account_level_mastery_scales" in on
    flag = client.get(
        f"/api/v1/accounts/{ids.account}/features/flags/account_level_mastery_scales",
        headers=admin,
    ).get_json()
    assert (flag["feature"], flag["state"], flag["context_type"]) == (
        "account_level_mastery_scales",
        "on",
        "Account",
    )
    course = f"/api/v1/courses/{ids.ela_course}/features"
    assert client.get(f"{course}/enabled", headers=teacher).get_json() == []
    assert (
        client.get(f"{course}/flags/account_level_mastery_scales", headers=teacher).status_code
        == 404
    )
    # A teacher may not read the account's flags.
    teacher_read = client.get(f"/api/v1/accounts/{ids.account}/features/enabled", headers=teacher)
    assert teacher_read.status_code == 401
    other = generator.second_district(state)
    assert other.admin is not None
    other_admin = auth(other.admin)
    off = client.get(
        f"/api/v1/accounts/{other.account}/features/flags/account_level_mastery_scales",
        headers=other_admin,
    ).get_json()
    assert off["state"] == "off"
    scale = client.get(
        f"/api/v1/courses/{other.course}/outcome_proficiency", headers=auth(other.teacher)
    )
    assert scale.status_code == 200 and len(scale.get_json()["ratings"]) == 5


def _unused_rubric(client: FlaskClient, course: int, outcome: int, h: H, assess: int | None) -> Any:
    aid = client.post(
        f"/api/v1/courses/{course}/assignments",
        json={"assignment": {"name": "Unused?", "published": True}},
        headers=h,
    ).get_json()["id"]
    made = client.post(
        f"/api/v1/courses/{course}/rubrics",
        json={
            "rubric": {
                "title": "Unused?",
                "criteria": {
                    "0": {
                        "learning_outcome_id": outcome,
                        "ratings": {"0": {"description": "Top", "points": 9}},
                    }
                },
            },
            "rubric_association": {
                "association_type": "Assignment",
                "association_id": aid,
                "purpose": "grading",
            },
        },
        headers=h,
    ).get_json()["rubric"]
    if assess is not None:
        client.put(
            f"/api/v1/courses/{course}/assignments/{aid}/submissions/{assess}",
            json={"rubric_assessment": {made["criteria"][0]["id"]: {"points": 9}}},
            headers=h,
        )
    return made


def test_editing_an_outcome_rewrites_unused_rubrics(
    client: FlaskClient, auth: Any, state: SandboxState
) -> None:
    """canvas-lms app/models/learning_outcome.rb LearningOutcome#propagate_changes_to_rubrics ->
    app/models/rubric.rb Rubric#update_learning_outcome_criteria (flag off: ratings too)."""
    other = generator.second_district(state)
    teacher = auth(other.teacher)
    outcome = other.outcomes[2]
    unused = _unused_rubric(client, other.course, outcome, teacher, None)
    assessed = _unused_rubric(client, other.course, outcome, teacher, other.students[0])
    resp = client.put(
        f"/api/v1/outcomes/{outcome}",
        json={
            "ratings": [{"description": "Got it", "points": 5}, {"description": "No", "points": 0}]
        },
        headers=teacher,
    )
    assert resp.status_code == 200
    rewritten = state.rubrics[unused["id"]].criteria[0]
    assert [(r.description, r.points) for r in rewritten.ratings] == [("Got it", 5.0), ("No", 0.0)]
    assert rewritten.points == 5.0
    assert not {r.id for r in rewritten.ratings} & {
        r["id"] for r in unused["criteria"][0]["ratings"]
    }
    kept = state.rubrics[assessed["id"]].criteria[0]
    assert [r.points for r in kept.ratings] == [9.0]  # assessed: left alone


def test_editing_the_mastery_scale_rewrites_unused_rubrics(
    client: FlaskClient, ids: DemoIds, teacher: H, auth: Any, state: SandboxState
) -> None:
    """canvas-lms app/models/outcome_proficiency.rb OutcomeProficiency#update_associated_rubrics
    -> app/models/rubric.rb Rubric#update_mastery_scales (flag on)."""
    unused = _unused_rubric(client, ids.ela_course, ids.ela_outcomes["W.7.1"], teacher, None)
    resp = client.post(
        f"/api/v1/accounts/{ids.account}/outcome_proficiency",
        json={
            "ratings": [
                {"description": "Mastered", "points": 3, "mastery": True, "color": "00ff00"},
                {"description": "Not yet", "points": 1, "mastery": False, "color": "ff0000"},
            ]
        },
        headers=auth(ids.admin),
    )
    assert resp.status_code == 200
    criterion = state.rubrics[unused["id"]].criteria[0]
    assert [(r.description, r.points) for r in criterion.ratings] == [
        ("Mastered", 3.0),
        ("Not yet", 1.0),
    ]
    assert (criterion.points, criterion.mastery_points) == (3.0, 3.0)


def _tool_scopes() -> set[str]:
    return set(re.findall(r'scope\s*=\s*"(url:[A-Z]+\|[^"]+)"', CLIENT_SOURCE.read_text()))


def test_scoped_token_refuses_endpoints_outside_the_tools_scopes(
    client: FlaskClient, ids: DemoIds, state: SandboxState
) -> None:
    """canvas-lms app/controllers/application_controller.rb #validate_scopes with
    app/models/access_token.rb AccessToken#url_scopes_for_method: 401 outside the scopes,
    include[] dropped unless the key allows include parameters."""
    scoped = _scoped_token(client, state, ids, list(SCOPES), includes=False)
    course = ids.ela_course
    assert (
        client.get(f"/api/v1/courses/{course}/outcome_results", headers=scoped).status_code == 200
    )
    outside = client.get(f"/api/v1/courses/{course}/users", headers=scoped)
    assert outside.status_code == 401
    aid = ids.ela_assignments[0]
    shown = client.get(
        f"/api/v1/courses/{course}/assignments/{aid}?include[]=overrides", headers=scoped
    )
    assert shown.status_code == 200


def test_every_endpoint_the_tool_calls_is_in_its_scope_list() -> None:
    called = _tool_scopes()
    assert called, "no scope strings found in the tool's Canvas client"
    assert called - set(SCOPES) == set()


def test_canvasapi_compatibility_routes_and_flags(
    client: FlaskClient, ids: DemoIds, teacher: H
) -> None:
    """canvas-lms config/routes.rb (search_users -> courses#users);
    app/models/rubric.rb Rubric#generate_criteria / #update_with_association (== "1")."""
    course = ids.ela_course
    users = client.get(f"/api/v1/courses/{course}/search_users?per_page=100", headers=teacher)
    assert users.status_code == 200 and len(users.get_json()) >= 30
    body = {
        "rubric": {
            "title": "Flags",
            "free_form_criterion_comments": True,
            "criteria": {
                str(n): {
                    "learning_outcome_id": ids.ela_outcomes["RL.7.1"],
                    "ignore_for_scoring": value,
                    "ratings": {"0": {"points": 4}},
                }
                for n, value in enumerate(["1", "true", "True", True])
            },
        },
        "rubric_association": {"association_type": "Course", "purpose": "bookmark"},
    }
    rubric = client.post(f"/api/v1/courses/{course}/rubrics", json=body, headers=teacher)
    made = rubric.get_json()["rubric"]
    assert [c["ignore_for_scoring"] for c in made["criteria"]] == [True, False, False, False]
    assert made["free_form_criterion_comments"] is False
