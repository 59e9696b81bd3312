"""outcome_results and outcome_rollups contracts (docs/canvas.md §1, §2.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from canvas_sandbox import rollups
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import CalculationMethod, SandboxState

H = dict[str, str]


def _all_results(client: FlaskClient, url: str, headers: H) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(200):
        if next_url is None:
            break
        resp = client.get(next_url, headers=headers)
        assert resp.status_code == 200
        out.extend(resp.get_json()["outcome_results"])
        links = {
            part.split(";")[1].strip()[5:-1]: part.split(";")[0].strip()[1:-1]
            for part in resp.headers["Link"].split(",")
        }
        nxt = links.get("next")
        next_url = nxt.split("sandbox.test:8100", 1)[1] if nxt else None
        # Api.paginate by number with a count (OutcomeResultsController#index)
        assert {"current", "first", "last"} <= set(links)
    return out


def test_results_shape_order_and_hidden(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    url = f"/api/v1/courses/{ids.ela_course}/outcome_results?per_page=100"
    rows = _all_results(client, url, teacher)
    visible = [r for r in state.results.values() if r.course_id == ids.ela_course and not r.hidden]
    assert len(rows) == len(visible)
    first = next(r for r in rows if r["id"] is not None)
    assert set(first) == {
        "id", "score", "possible", "mastery", "percent", "hide_points", "hidden",
        "submitted_or_assessed_at", "links",
    }  # fmt: skip
    assert first["links"]["alignment"].startswith("assignment_")
    assert isinstance(first["id"], int) and isinstance(first["links"]["user"], str)
    # ordered by sortable name, user id, outcome id, result id
    keys = [
        (state.users[int(r["links"]["user"])].sortable_name, int(r["links"]["user"]),
         int(r["links"]["learning_outcome"]), r["id"] is None, r["id"] or 0)
        for r in rows
    ]  # fmt: skip
    assert keys == sorted(keys)
    hidden = _all_results(client, url + "&include_hidden=true", teacher)
    assert len(hidden) == len(rows) + 3
    assert sum(1 for r in hidden if r["hidden"]) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("include[]=bogus", "invalid include: bogus"),
        (
            "outcome_ids[]=1&outcome_group_id=2",
            "can't filter by both outcome_ids and outcome_group_id",
        ),
        ("outcome_ids[]=999", "can only include id's of outcomes in the outcome context"),
        ("user_ids[]={teacher}", "can only include id's of users in the outcome context"),
        ("user_ids[]={s0}&section_id={sec}", "cannot specify both user_ids and section_id"),
    ],
)
def test_result_filter_errors(
    client: FlaskClient, ids: DemoIds, teacher: H, query: str, message: str
) -> None:
    q = query.format(teacher=ids.teacher, s0=ids.students[0], sec=ids.ela_sections[0])
    resp = client.get(f"/api/v1/courses/{ids.ela_course}/outcome_results?{q}", headers=teacher)
    assert resp.status_code == 400
    assert resp.get_json() == {"errors": [{"message": message}]}


def test_result_filters_and_linked(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    student = ids.students[3]
    outcome = ids.ela_outcomes["L.7.1"]
    url = (
        f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]={student}"
        f"&outcome_ids[]={outcome}&include[]=outcomes&include[]=users&include[]=alignments"
        "&include[]=outcome_paths"
    )
    body = client.get(url, headers=teacher).get_json()
    results = body["outcome_results"]
    assert len(results) == 3  # L.7.1 is on three assignments
    assert {r["links"]["user"] for r in results} == {str(student)}
    linked = body["linked"]
    assert set(linked) == {"outcomes", "users", "alignments", "outcome_paths"}
    assert linked["users"][0]["id"] == str(student)
    assert linked["outcomes"][0]["calculation_method"] == "decaying_average"
    assert len(linked["outcomes"][0]["alignments"]) == 3
    assert linked["outcome_paths"][0]["parts"][-1]["name"] == "L.7.1"
    assert linked["outcome_paths"][0]["parts"][0]["name"] == "Language"
    # SIS ids work for users
    sis = state.users[student].sis_user_id
    by_sis = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_results?user_ids[]=sis_user_id:{sis}",
        headers=teacher,
    )
    assert by_sis.status_code == 200
    # a section filter keeps only that section's students
    sec = ids.ela_sections[1]
    in_b = {e.user_id for e in state.enrollments_in(ids.ela_course) if e.section_id == sec}
    rows = _all_results(
        client,
        f"/api/v1/courses/{ids.ela_course}/outcome_results?section_id={sec}&per_page=100",
        teacher,
    )
    assert {int(r["links"]["user"]) for r in rows} <= in_b


def test_students_see_only_their_own(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    me = ids.students[5]
    headers = auth(me)
    base = f"/api/v1/courses/{ids.ela_course}/outcome_results"
    assert client.get(base, headers=headers).status_code == 403
    other = client.get(f"{base}?user_ids[]={ids.students[6]}", headers=headers)
    assert other.status_code == 403
    mine = client.get(f"{base}?user_ids[]={me}", headers=headers)
    assert mine.status_code == 200
    assert {r["links"]["user"] for r in mine.get_json()["outcome_results"]} == {str(me)}


def test_rollups_paginate_by_user_and_duplicate_two_section_student(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    url = f"/api/v1/courses/{ids.ela_course}/outcome_rollups?per_page=100"
    body = client.get(url, headers=teacher).get_json()
    rollup_users = [r["links"]["user"] for r in body["rollups"]]
    assert rollup_users.count(str(ids.two_section_student)) == 2
    assert len(rollup_users) == 31  # 30 students, one of them twice
    two = [r for r in body["rollups"] if r["links"]["user"] == str(ids.two_section_student)]
    assert {r["links"]["section"] for r in two} == {str(s) for s in ids.ela_sections}
    assert two[0]["scores"] == two[1]["scores"]
    assert two[0]["links"]["status"] == "active"
    none = next(r for r in body["rollups"] if r["links"]["user"] == str(ids.no_results_student))
    assert none["scores"] == []
    meta = body["meta"]["pagination"]
    assert meta["count"] == 30 and meta["page_count"] == 1 and meta["per_page"] == 100
    # exclude[] applies before pagination: the count shrinks
    ex = client.get(url + "&exclude[]=missing_user_rollups", headers=teacher).get_json()
    assert ex["meta"]["pagination"]["count"] == 29
    assert str(ids.no_results_student) not in [r["links"]["user"] for r in ex["rollups"]]
    # per_page counts users: a page of 1 user may carry 2 rollups
    first = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups?per_page=1&user_ids[]={ids.two_section_student}",
        headers=teacher,
    ).get_json()
    assert len(first["rollups"]) == 2


def test_rollup_scores_match_the_calculation(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    student = ids.students[4]
    outcome = ids.ela_outcomes["RL.7.4"]
    url = (
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups?user_ids[]={student}"
        f"&outcome_ids[]={outcome}"
    )
    score = client.get(url, headers=teacher).get_json()["rollups"][0]["scores"][0]
    mine = sorted(
        (
            r
            for r in state.results.values()
            if r.user_id == student and r.outcome_id == outcome and not r.hidden
        ),
        key=lambda r: (r.submitted_or_assessed_at, r.id),
    )
    values = [r.percent * 4.0 for r in mine]  # type: ignore[operator]
    expected = rollups.round2(0.65 * values[-1] + 0.35 * sum(values[:-1]) / (len(values) - 1))
    assert score["score"] == expected
    assert score["count"] == len(mine) == 3
    assert score["title"] == "Unit 2 Performance Task"
    assert set(score) == {"score", "title", "submitted_at", "count", "hide_points", "links"}
    # the course's method change is picked up (FF on: course method, not the outcome's)
    state.courses[ids.ela_course].calculation = CalculationMethod("highest", None)
    high = client.get(url, headers=teacher).get_json()["rollups"][0]["scores"][0]
    assert high["score"] == max(values)
    state.courses[ids.ela_course].calculation = CalculationMethod("n_mastery", 4)
    nm = client.get(url, headers=teacher).get_json()["rollups"][0]["scores"][0]
    assert nm["score"] is None  # three results < n


def test_rollup_aggregate_and_errors(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    base = f"/api/v1/courses/{ids.ela_course}/outcome_rollups"
    agg = client.get(f"{base}?aggregate=course&include[]=courses", headers=teacher).get_json()
    assert "meta" not in agg
    (rollup,) = agg["rollups"]
    assert rollup["links"] == {"course": str(ids.ela_course)}
    assert len(rollup["scores"]) == 12
    assert all(s["title"] is None and s["submitted_at"] is None for s in rollup["scores"])
    assert agg["linked"]["courses"][0]["id"] == str(ids.ela_course)
    median = client.get(f"{base}?aggregate=course&aggregate_stat=median", headers=teacher)
    assert median.status_code == 200
    for query, message in [
        ("aggregate=course&include[]=users", "invalid include: users"),
        ("include[]=courses", "invalid include: courses"),
        ("sort_by=outcome", "missing required sort_outcome_id parameter value"),
    ]:
        resp = client.get(f"{base}?{query}", headers=teacher)
        assert resp.status_code == 400, query
        assert resp.get_json() == {"errors": [{"message": message}]}


def test_rollup_sorting(client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState) -> None:
    base = f"/api/v1/courses/{ids.ela_course}/outcome_rollups?per_page=100"
    desc = client.get(f"{base}&sort_by=student&sort_order=desc", headers=teacher).get_json()
    names = [state.users[int(r["links"]["user"])].sortable_name for r in desc["rollups"]]
    assert names == sorted(names, reverse=True)
    oid = ids.ela_outcomes["W.7.1"]
    by_outcome = client.get(
        f"{base}&sort_by=outcome&sort_outcome_id={oid}&sort_order=desc", headers=teacher
    ).get_json()

    def score(r: dict[str, Any]) -> float | None:
        return next(
            (s["score"] for s in r["scores"] if s["links"]["outcome"] == str(oid)),
            None,
        )

    scored = [score(r) for r in by_outcome["rollups"] if score(r) is not None]
    assert scored == sorted(scored, reverse=True)  # type: ignore[type-var]
    assert score(by_outcome["rollups"][-1]) is None  # the student without results is last


def test_result_page_cache_follows_every_kind_of_change(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    from canvas_sandbox import results as result_model
    from canvas_sandbox import rubrics

    url = f"/api/v1/courses/{ids.ela_course}/outcome_results?per_page=100"

    def served() -> list[int | None]:
        return [r["id"] for r in _all_results(client, url, teacher)]

    def fresh() -> list[int | None]:
        students = [u.id for u in state.students_of(ids.ela_course)]
        from canvas_sandbox.outcomes import course_outcome_ids

        return [
            None if r.from_outcomes_service else r.id
            for r in result_model.course_results(
                state,
                ids.ela_course,
                user_ids=students,
                outcome_ids=course_outcome_ids(state, ids.ela_course),
            )
        ]

    assert served() == fresh()
    # a new assessment (through the model, as the API does)
    assoc = rubrics.grading_association(state, ids.ela_assignments[0])
    assert assoc is not None
    crit = state.rubrics[assoc.rubric_id].criteria[0].id
    rubrics.assess(
        state, assoc, ids.no_results_student, ids.teacher, {crit: rubrics.AssessInput(2.0)}
    )
    assert served() == fresh()
    # a result deleted behind the API's back
    victim = next(iter(state.results.values()))
    victim.workflow_state = "deleted"
    assert served() == fresh()
    # a dropped student and a removed alignment
    drop = next(e for e in state.enrollments_in(ids.ela_course) if e.user_id == ids.students[8])
    drop.workflow_state = "deleted"
    alignment = next(a for a in state.alignments.values() if a.course_id == ids.ela_course)
    alignment.workflow_state = "deleted"
    assert served() == fresh()
