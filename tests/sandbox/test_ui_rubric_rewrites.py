"""Behaviour 8 in the sandbox's pages: a teacher edits an outcome's ratings on the Outcomes page,
the admin edits the account's mastery scale on the account page; both save through the model
functions the API uses, so Canvas's rewrite of unused rubrics
(``LearningOutcome#propagate_changes_to_rubrics``, ``Rubric#update_mastery_scales``) follows."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox import generator
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.tokens import mint_token
from tests.sandbox.test_canvas_parity_reads import _unused_rubric


def as_user(sandbox: Flask, user_id: int) -> FlaskClient:
    client = sandbox.test_client()
    assert client.post("/users/switch", data={"user_id": str(user_id)}).status_code == 303
    return client


def api(sandbox: Flask, state: SandboxState, user_id: int) -> tuple[FlaskClient, dict[str, str]]:
    return sandbox.test_client(), {"Authorization": f"Bearer {mint_token(state, user_id)}"}


def token(page: str) -> str:
    found = re.search(r'name="authenticity_token" value="([^"]+)"', page)
    assert found, "no form token"
    return found.group(1)


def notice(page: str) -> str:
    found = re.search(r'<p class="alert alert-success" role="status">([^<]*)</p>', page)
    assert found, "no notice"
    return unescape(found.group(1))


def error(page: str) -> str:
    found = re.search(r'<p class="alert alert-error" role="alert">([^<]*)</p>', page)
    assert found, "no error message"
    return unescape(found.group(1))


def rating_rows(state: SandboxState, rubric_id: int) -> list[tuple[str, float]]:
    return [(r.description, r.points) for r in state.rubrics[rubric_id].criteria[0].ratings]


def test_a_teacher_edits_an_outcome_and_unused_rubrics_take_its_ratings(
    sandbox: Flask, state: SandboxState
) -> None:
    other = generator.second_district(state)  # account_level_mastery_scales off
    outcome = state.outcomes[other.outcomes[2]]
    client, headers = api(sandbox, state, other.teacher)
    unused = _unused_rubric(client, other.course, outcome.id, headers, None)
    assessed = _unused_rubric(client, other.course, outcome.id, headers, other.students[0])
    old_ids = {r["id"] for r in unused["criteria"][0]["ratings"]}

    teacher = as_user(sandbox, other.teacher)
    outcomes_page = teacher.get(f"/courses/{other.course}/outcomes").text
    edit_url = f"/courses/{other.course}/outcomes/{outcome.id}/edit"
    assert f'href="{edit_url}"' in outcomes_page
    form = teacher.get(edit_url)
    assert form.status_code == 200
    assert 'id="outcome-ratings"' in form.text
    saved = teacher.post(
        edit_url,
        data={
            "authenticity_token": token(form.text),
            "description": ["Got it", "No", ""],
            "points": ["5", "0", ""],
            "mastery_points": "5",
        },
    )
    assert saved.status_code == 303
    page = teacher.get(saved.headers["Location"])
    assert page.status_code == 200
    assert notice(page.text) == (
        f"Saved the ratings of {outcome.title}. 1 unused rubric rewritten with the new ratings."
    )
    assert [(r.description, r.points) for r in outcome.ratings] == [("Got it", 5.0), ("No", 0.0)]
    assert outcome.mastery_points == 5.0
    assert rating_rows(state, unused["id"]) == [("Got it", 5.0), ("No", 0.0)]
    criterion = state.rubrics[unused["id"]].criteria[0]
    assert (criterion.points, criterion.mastery_points) == (5.0, 5.0)
    assert not {r.id for r in criterion.ratings} & old_ids  # new rating ids
    assert rating_rows(state, assessed["id"]) == [("Top", 9.0)]  # assessed: left alone


def test_the_admin_edits_the_mastery_scale_and_unused_rubrics_take_it(
    sandbox: Flask, state: SandboxState, ids: DemoIds
) -> None:
    client, headers = api(sandbox, state, ids.teacher)
    outcome = ids.ela_outcomes["W.7.1"]
    unused = _unused_rubric(client, ids.ela_course, outcome, headers, None)
    assessed = _unused_rubric(client, ids.ela_course, outcome, headers, ids.students[0])
    old_ids = {r["id"] for r in unused["criteria"][0]["ratings"]}

    admin = as_user(sandbox, ids.admin)
    home = admin.get(f"/accounts/{ids.account}").text
    assert 'id="mastery-scale"' in home
    saved = admin.post(
        f"/accounts/{ids.account}/outcome_proficiency",
        data={
            "authenticity_token": token(home),
            "description": ["Not yet", "Mastered", ""],  # any order: kept highest first
            "points": ["1", "3", ""],
            "mastery": "1",
            "color": ["#ff0000", "#00FF00", "#000000"],
        },
    )
    assert saved.status_code == 303
    assert "1 unused rubric rewritten" in notice(admin.get(saved.headers["Location"]).text)
    assert rating_rows(state, unused["id"]) == [("Mastered", 3.0), ("Not yet", 1.0)]
    criterion = state.rubrics[unused["id"]].criteria[0]
    assert (criterion.points, criterion.mastery_points) == (3.0, 3.0)
    assert not {r.id for r in criterion.ratings} & old_ids
    assert rating_rows(state, assessed["id"]) == [("Top", 9.0)]
    scale = client.get(
        f"/api/v1/accounts/{ids.account}/outcome_proficiency", headers=headers
    ).get_json()
    stored = [(r["description"], r["points"], r["mastery"], r["color"]) for r in scale["ratings"]]
    assert stored == [("Mastered", 3.0, True, "00FF00"), ("Not yet", 1.0, False, "FF0000")]


def test_students_neither_see_nor_post_the_rating_forms(
    sandbox: Flask, state: SandboxState, ids: DemoIds
) -> None:
    other = generator.second_district(state)
    outcome = state.outcomes[other.outcomes[0]]
    before = list(outcome.ratings)
    edit_url = f"/courses/{other.course}/outcomes/{outcome.id}/edit"
    student = as_user(sandbox, other.students[0])
    page = student.get(f"/courses/{other.course}/outcomes")
    assert page.status_code == 200
    assert "Edit ratings" not in page.text
    assert student.get(edit_url).status_code == 403
    posted = student.post(
        edit_url,
        data={
            "authenticity_token": token(page.text),
            "description": ["Mine"],
            "points": ["1"],
        },
    )
    assert posted.status_code == 403
    assert outcome.ratings == before
    # Nor may a student, or a teacher, post the account's mastery scale.
    scale = list(state.accounts[ids.account].proficiency or [])
    for user_id in (ids.students[0], ids.teacher):
        client = as_user(sandbox, user_id)
        home = client.get("/").text
        refused = client.post(
            f"/accounts/{ids.account}/outcome_proficiency",
            data={"authenticity_token": token(home), "description": ["X"], "points": ["1"]},
        )
        assert refused.status_code == 401
    assert state.accounts[ids.account].proficiency == scale
    # With account_level_mastery_scales on (the seeded district) an outcome's own ratings
    # cannot be edited, as with PUT /api/v1/outcomes/:id.
    teacher = as_user(sandbox, ids.teacher)
    assert "Edit ratings" not in teacher.get(f"/courses/{ids.ela_course}/outcomes").text
    ela_edit = f"/courses/{ids.ela_course}/outcomes/{ids.ela_outcomes['W.7.1']}/edit"
    assert teacher.get(ela_edit).status_code == 403


def test_bad_input_shows_the_form_again_with_what_was_typed(
    sandbox: Flask, state: SandboxState, ids: DemoIds
) -> None:
    other = generator.second_district(state)
    outcome = state.outcomes[other.outcomes[1]]
    before = (list(outcome.ratings), outcome.mastery_points)
    edit_url = f"/courses/{other.course}/outcomes/{outcome.id}/edit"
    teacher = as_user(sandbox, other.teacher)
    csrf = token(teacher.get(edit_url).text)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"description": ["Got it", "No"], "points": ["lots", "0"]}, "Rating 1 points"),
        ({"description": ["Got it", " "], "points": ["5", "0"]}, "Rating 2 needs a description."),
        ({"description": ["Got it"], "points": ["5"], "mastery_points": "x"}, "Mastery points"),
        ({"description": [""], "points": [""]}, "Add at least one rating."),
    ]
    for fields, message in cases:
        page = teacher.post(edit_url, data={"authenticity_token": csrf, **fields})
        assert page.status_code == 422
        assert error(page.text).startswith(message)
        assert 'id="outcome-ratings"' in page.text
        for typed in fields["description"] + fields["points"]:
            assert f'value="{typed}"' in page.text
    assert (outcome.ratings, outcome.mastery_points) == before
    assert teacher.post(edit_url, data={"description": ["A"], "points": ["1"]}).status_code == 403

    admin = as_user(sandbox, ids.admin)
    scale = list(state.accounts[ids.account].proficiency or [])
    csrf = token(admin.get(f"/accounts/{ids.account}").text)
    good = {"color": ["#00ff00", "#ff0000"], "mastery": "0"}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"description": ["Mastered", "Not yet"], "points": ["3", "three"]}, "Rating 2 points"),
        ({"description": ["Mastered", ""], "points": ["3", "1"]}, "Rating 2 needs a description."),
        (
            {"description": ["Mastered", "Not yet"], "points": ["3", "1"], "mastery": ""},
            "Exactly one rating can have mastery.",
        ),
        (
            {"description": ["Mastered", "Not yet"], "points": ["3", "3"]},
            "Points should be strictly decreasing: 3 <= 3.",
        ),
        (
            {"description": ["Mastered", "Not yet"], "points": ["3", "1"], "color": ["#0f0", "x"]},
            "Rating 1 colour",
        ),
    ]
    for fields, message in bad:
        page = admin.post(
            f"/accounts/{ids.account}/outcome_proficiency",
            data={"authenticity_token": csrf, **good, **fields},
        )
        assert page.status_code == 422
        assert error(page.text).startswith(message)
        assert 'id="mastery-scale"' in page.text
        for typed in fields["description"] + fields["points"]:
            assert f'value="{typed}"' in page.text
    assert state.accounts[ids.account].proficiency == scale
