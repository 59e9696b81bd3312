"""Contracts: post policies decide what a student sees of their own results
(docs/canvas.md §1.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from tests.sandbox.conftest import run_result_jobs

H = dict[str, str]


def _own_results(client: FlaskClient, ids: DemoIds, h: H, student: int, aid: int) -> list[Any]:
    resp = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}&per_page=100",
        headers=h,
    )
    assert resp.status_code == 200
    rows = resp.get_json()["outcome_results"]
    return [r for r in rows if r["links"]["assignment"] == f"assignment_{aid}"]


def _graded_carrier(
    client: FlaskClient, ids: DemoIds, teacher: H, *, use_for_grading: bool, grading_type: str
) -> tuple[int, str]:
    aid = client.post(
        f"/api/v1/courses/{ids.ela_course}/assignments",
        json={"assignment": {"name": "Posted?", "published": True, "grading_type": grading_type}},
        headers=teacher,
    ).get_json()["id"]
    rubric = client.post(
        f"/api/v1/courses/{ids.ela_course}/rubrics",
        json={
            "rubric": {
                "title": "Posted?",
                "criteria": {
                    "0": {
                        "learning_outcome_id": ids.ela_outcomes["RL.7.1"],
                        "ratings": {"0": {"points": 4}, "1": {"points": 1}},
                    }
                },
            },
            "rubric_association": {
                "association_type": "Assignment",
                "association_id": aid,
                "purpose": "grading",
                "use_for_grading": "1" if use_for_grading else "0",
            },
        },
        headers=teacher,
    ).get_json()["rubric"]
    return int(aid), rubric["criteria"][0]["id"]


def test_manual_post_policy_hides_unposted_results_from_the_student(
    sandbox: Flask,
    client: FlaskClient,
    ids: DemoIds,
    teacher: H,
    auth: Callable[[int], H],
    state: SandboxState,
) -> None:
    """canvas-lms lib/outcomes/result_analytics.rb ResultAnalytics#find_outcome_results applies
    app/models/learning_outcome_result.rb LearningOutcomeResult.exclude_muted_associations to
    callers without manage_grades / view_all_grades; app/models/rubric_assessment.rb
    RubricAssessment#update_artifact grades (and so posts) only with use_for_grading."""
    assert (
        client.post(
            f"/_sandbox/courses/{ids.ela_course}/post_policy", json={"post_manually": True}
        ).status_code
        == 200
    )
    student = ids.students[5]
    mine = auth(student)
    graded, g_crit = _graded_carrier(
        client, ids, teacher, use_for_grading=True, grading_type="points"
    )
    rubric_only, r_crit = _graded_carrier(
        client, ids, teacher, use_for_grading=False, grading_type="points"
    )
    ungraded, u_crit = _graded_carrier(
        client, ids, teacher, use_for_grading=False, grading_type="not_graded"
    )
    for aid, crit in ((graded, g_crit), (rubric_only, r_crit), (ungraded, u_crit)):
        resp = client.put(
            f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{student}",
            json={"rubric_assessment": {crit: {"points": 4}}},
            headers=teacher,
        )
        assert resp.status_code == 200
        assert resp.get_json()["posted_at"] is None  # a manual policy: nothing is posted
    run_result_jobs(state)
    for aid in (graded, rubric_only, ungraded):
        assert len(_own_results(client, ids, teacher, student, aid)) == 1  # the teacher sees all
    assert _own_results(client, ids, mine, student, graded) == []
    assert _own_results(client, ids, mine, student, rubric_only) == []
    assert len(_own_results(client, ids, mine, student, ungraded)) == 1  # not_graded shows
    # The student's Learning Mastery page agrees with their token.
    ui = sandbox.test_client()
    assert ui.post("/users/switch", data={"user_id": str(student)}).status_code == 303
    page = ui.get(f"/courses/{ids.ela_course}/gradebook/learning_mastery")
    assert page.status_code == 200
    assert page.text.count('<th scope="row">') == 1  # their own row only
    assert f'<th scope="row">{state.users[student].name}</th>' in page.text
    # Posting the grades shows the graded one; the rubric-only one was never graded or posted
    # by the assessment, "Post grades" posts every assessed submission.
    assert client.post(f"/_sandbox/assignments/{graded}/post").get_json() == {"posted": 1}
    assert len(_own_results(client, ids, mine, student, graded)) == 1
    assert _own_results(client, ids, mine, student, rubric_only) == []


def test_rubric_only_assessment_never_posts_under_an_automatic_policy(
    client: FlaskClient, ids: DemoIds, teacher: H, auth: Callable[[int], H], state: SandboxState
) -> None:
    """canvas-lms app/models/rubric_assessment.rb RubricAssessment#update_artifact returns
    before grading without use_for_grading; an automatic PostPolicy still shows the result
    (LearningOutcomeResult.exclude_muted_associations: pc.post_manually = False)."""
    student = ids.students[6]
    aid, crit = _graded_carrier(client, ids, teacher, use_for_grading=False, grading_type="points")
    put = client.put(
        f"/api/v1/courses/{ids.ela_course}/assignments/{aid}/submissions/{student}",
        json={"rubric_assessment": {crit: {"points": 1}}},
        headers=teacher,
    ).get_json()
    assert put["posted_at"] is None and put["score"] is None
    run_result_jobs(state)
    assert len(_own_results(client, ids, auth(student), student, aid)) == 1
