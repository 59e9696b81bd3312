"""Outcome groups, links, outcomes and mastery scales over the REST API (docs/canvas.md §6)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from flask.testing import FlaskClient

from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from tests.sandbox.conftest import BASE

H = dict[str, str]


def test_root_outcome_group_redirects(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    resp = client.get(f"/api/v1/courses/{ids.ela_course}/root_outcome_group", headers=teacher)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(f"{BASE}/api/v1/courses/{ids.ela_course}/outcome_groups/")
    group = client.get(location.removeprefix(BASE), headers=teacher).get_json()
    assert group["parent_outcome_group"] is None
    assert group["context_type"] == "Course"
    assert group["url"] == f"/api/v1/courses/{ids.ela_course}/outcome_groups/{group['id']}"


def test_outcome_group_links_enumerate_the_course(
    client: FlaskClient, ids: DemoIds, teacher: H
) -> None:
    resp = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_group_links?per_page=100", headers=teacher
    )
    links = resp.get_json()
    assert {link["outcome"]["id"] for link in links} == set(ids.ela_outcomes.values())
    first = links[0]
    assert set(first) == {
        "url", "context_id", "context_type", "outcome_group", "outcome", "assessed", "can_unlink"
    }  # fmt: skip
    # abbrev outcome by default: no description, no scoring block
    assert "description" not in first["outcome"] and "ratings" not in first["outcome"]
    full = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_group_links?outcome_style=full&per_page=1",
        headers=teacher,
    ).get_json()[0]["outcome"]
    # FF on + link context: the course's resolved scale and method, not the outcome's own
    assert full["calculation_method"] == "decaying_average"
    assert full["calculation_int"] == 65
    assert full["mastery_points"] == 3.0 and full["points_possible"] == 4.0
    assert set(full["ratings"][0]) == {"points", "mastery", "description", "color"}


def test_subgroups_and_group_outcomes(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    groups = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_groups?per_page=100", headers=teacher
    ).get_json()
    reading = next(g for g in groups if g["title"] == "Reading: Literature")
    subs = client.get(reading["subgroups_url"], headers=teacher).get_json()
    assert [s["title"] for s in subs] == ["Craft and Structure", "Key Ideas and Details"]
    key_ideas = subs[1]
    outcomes = client.get(key_ideas["outcomes_url"], headers=teacher).get_json()
    assert [o["outcome"]["title"] for o in outcomes] == ["RL.7.1", "RL.7.2", "RL.7.3"]


def test_create_and_link_outcome(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    root = (
        client.get(f"/api/v1/courses/{ids.ela_course}/root_outcome_group", headers=teacher)
        .headers["Location"]
        .removeprefix(BASE)
    )
    body = {
        "title": "SL.7.1",
        "vendor_guid": "district-sl-7-1",
        "mastery_points": 3,
        "ratings": [
            {"description": "Exceeds", "points": 4},
            {"description": "Meets", "points": 3},
            {"description": "Approaching", "points": 2},
        ],
        "calculation_method": "latest",
    }
    link = client.post(f"{root}/outcomes?outcome_style=full", json=body, headers=teacher)
    assert link.status_code == 200
    outcome = link.get_json()["outcome"]
    assert outcome["context_type"] == "Course" and outcome["title"] == "SL.7.1"
    bad = client.post(
        f"{root}/outcomes",
        json={"title": "X", "calculation_method": "n_mastery", "calculation_int": 40},
        headers=teacher,
    )
    assert bad.status_code == 400
    assert "calculation_int" in bad.get_json()["errors"]
    # linking an existing account outcome into a new subgroup
    sub = client.post(f"{root}/subgroups", json={"title": "Speaking"}, headers=teacher).get_json()
    again = client.put(
        f"/api/v1/courses/{ids.ela_course}/outcome_groups/{sub['id']}/outcomes/{ids.ela_outcomes['RL.7.1']}",
        headers=teacher,
    )
    assert again.status_code == 200
    assert again.get_json()["outcome_group"]["id"] == sub["id"]


def test_student_cannot_create_outcomes(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    student = auth(ids.students[2])
    root = (
        client.get(f"/api/v1/courses/{ids.ela_course}/root_outcome_group", headers=student)
        .headers["Location"]
        .removeprefix(BASE)
    )
    resp = client.post(f"{root}/outcomes", json={"title": "nope"}, headers=student)
    assert resp.status_code == 401
    assert "WWW-Authenticate" not in resp.headers
    assert resp.get_json() == {
        "errors": [{"message": "user not authorized to perform that action"}],
        "status": "unauthorized",
    }


def test_outcome_show_depends_on_feature_flag(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    oid = ids.ela_outcomes["RL.7.2"]
    on = client.get(f"/api/v1/outcomes/{oid}", headers=teacher).get_json()
    assert "description" in on and "calculation_method" not in on and "ratings" not in on
    state.accounts[ids.account].account_level_mastery_scales = False
    off = client.get(f"/api/v1/outcomes/{oid}", headers=teacher).get_json()
    assert off["calculation_method"] == "decaying_average" and off["calculation_int"] == 65
    assert off["ratings"][0] == {"description": "Exceeds Mastery", "points": 4.0}
    assert off["mastery_points"] == 3.0 and off["points_possible"] == 4.0


def test_outcome_update_refused_with_ff_on(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    admin = auth(ids.admin)
    oid = ids.ela_outcomes["W.7.1"]
    resp = client.put(f"/api/v1/outcomes/{oid}", json={"mastery_points": 2}, headers=admin)
    assert resp.status_code == 403
    assert resp.get_json() == {"error": "Individual outcome mastery points cannot be modified."}
    ok = client.put(f"/api/v1/outcomes/{oid}", json={"display_name": "Arguments"}, headers=admin)
    assert ok.status_code == 200 and ok.get_json()["display_name"] == "Arguments"


def test_proficiency_get_and_validations(
    client: FlaskClient, ids: DemoIds, teacher: H, auth: Callable[[int], H], state: SandboxState
) -> None:
    url = f"/api/v1/courses/{ids.ela_course}/outcome_proficiency"
    got = client.get(url, headers=teacher).get_json()
    assert [r["points"] for r in got["ratings"]] == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert set(got) == {"ratings"}
    # teachers lack manage_proficiency_scales
    assert client.post(url, json={"ratings": []}, headers=teacher).status_code == 401
    admin = auth(ids.admin)
    cases = [
        ([], "Missing required ratings"),
        (
            [
                {"description": "A", "points": 3, "mastery": True},
                {"description": "B", "points": 1, "mastery": True},
            ],
            "Exactly one rating can have mastery",
        ),
        (
            [{"description": "A", "points": 2, "mastery": True}, {"description": "B", "points": 2}],
            "Points should be strictly decreasing: 2 <= 2",
        ),
    ]
    for ratings, message in cases:
        resp = client.post(url, json={"ratings": ratings}, headers=admin)
        assert resp.status_code == 422
        assert message in str(resp.get_json())
    # form-encoded, as Canvas documents it
    form = {
        "ratings[][description]": ["Got it", "Not yet"],
        "ratings[][points]": ["2", "0"],
        "ratings[][mastery]": ["true", "false"],
        "ratings[][color]": ["0B874B", "E0061F"],
    }
    pairs = [(k, v[i]) for i in range(2) for k, v in form.items()]
    saved = client.post(
        url,
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers=admin,
    )
    assert saved.status_code == 200
    assert saved.get_json()["ratings"][0] == {
        "description": "Got it", "points": 2.0, "mastery": True, "color": "0B874B"
    }  # fmt: skip
    assert client.get(url, headers=teacher).get_json() == saved.get_json()
    # FF off and nothing defined anywhere -> 404
    state.accounts[ids.account].account_level_mastery_scales = False
    state.accounts[ids.account].proficiency = None
    math_url = f"/api/v1/courses/{ids.math_course}/outcome_proficiency"
    assert client.get(math_url, headers=auth(ids.teacher2)).status_code == 404


def test_outcome_update_with_ff_off(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H], state: SandboxState
) -> None:
    state.accounts[ids.account].account_level_mastery_scales = False
    admin = auth(ids.admin)
    oid = ids.ela_outcomes["RI.7.2"]
    url = f"/api/v1/outcomes/{oid}"
    new = client.put(
        url,
        json={
            "ratings": [{"description": "Yes", "points": 1}, {"description": "Most", "points": 5}]
        },
        headers=admin,
    ).get_json()
    # new ratings replace the criterion; mastery_points defaults to the top rating
    assert new["ratings"] == [
        {"description": "Most", "points": 5.0},
        {"description": "Yes", "points": 1.0},
    ]
    assert new["mastery_points"] == 5.0 and new["points_possible"] == 5.0
    nm = client.put(url, json={"calculation_method": "n_mastery"}, headers=admin).get_json()
    assert (nm["calculation_method"], nm["calculation_int"]) == ("n_mastery", 5)
    same = client.put(url, json={"title": "RI.7.2"}, headers=admin).get_json()
    assert same["calculation_int"] == 5
    bad = client.put(url, json={"calculation_int": 50}, headers=admin)
    assert bad.status_code == 400
    assert bad.get_json()["errors"]["calculation_int"][0]["message"].startswith("'50' is not")
