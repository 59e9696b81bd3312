"""The seeded demo district in the sandbox's pages: the Outcomes page and the Learning
Mastery Gradebook, which must show what the REST rollups endpoint says."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox import tokens
from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig


@pytest.fixture(scope="module")
def app() -> Flask:
    return create_sandbox(SandboxConfig(base_url="http://localhost:8100"))


@pytest.fixture(scope="module")
def ids(app: Flask) -> Any:
    return app.extensions["sandbox_ids"]


def as_user(app: Flask, user_id: int) -> FlaskClient:
    client = app.test_client()
    assert client.post("/users/switch", data={"user_id": str(user_id)}).status_code == 303
    return client


def test_outcomes_page_lists_groups_and_outcomes(app: Flask, ids: Any) -> None:
    page = as_user(app, ids.students[0]).get(f"/courses/{ids.ela_course}/outcomes").text
    state = app.extensions["sandbox_state"]
    for outcome_id in ids.ela_outcomes.values():
        assert f"<strong>{state.outcomes[outcome_id].title}</strong>" in page
    assert page.count('class="panel outcome-group') >= 3


def test_learning_mastery_gradebook_matches_the_rollups_api(app: Flask, ids: Any) -> None:
    state = app.extensions["sandbox_state"]
    page = as_user(app, ids.teacher).get(f"/courses/{ids.ela_course}/gradebook/learning_mastery")
    assert page.status_code == 200
    header = re.search(r"<thead>(.*?)</thead>", page.text, re.S)
    assert header
    columns = [unescape(c) for c in re.findall(r'<th scope="col">([^<]+)</th>', header.group(1))]
    assert columns[0] == "Student"
    rows = {
        unescape(name): re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        for name, cells in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page.text, re.S)
    }
    assert len(rows) == len(ids.students)

    token = tokens.mint_token(state, ids.teacher)
    api = app.test_client().get(
        f"/api/v1/courses/{ids.ela_course}/outcome_rollups",
        query_string={"per_page": "100"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 200, api.text
    titles = {str(o): state.outcomes[o].title for o in ids.ela_outcomes.values()}
    checked = 0
    for rollup in api.get_json()["rollups"]:
        name = state.users[int(rollup["links"]["user"])].name
        for score in rollup["scores"]:
            column = columns.index(titles[str(score["links"]["outcome"])])
            cell = rows[name][column - 1]
            assert cell.startswith(f"{score['score']:g}") or cell.startswith(str(score["score"]))
            checked += 1
    assert checked > 100
    # the student without results shows dashes only
    empty = rows[state.users[ids.no_results_student].name]
    assert all("no result" in cell for cell in empty)


def test_the_seeded_teacher_opens_the_installed_tool(app: Flask, ids: Any) -> None:
    from canvas_sandbox.platform.install import key_values_from_config
    from canvas_sandbox.platform.store import add_developer_key, deploy
    from lti_app.lti.tool_configuration import developer_key_json

    state = app.extensions["sandbox_state"]
    key = add_developer_key(
        state, **key_values_from_config(developer_key_json("http://127.0.0.1:5000"))
    )
    deploy(state, key, ids.account)
    page = as_user(app, ids.teacher).get(f"/courses/{ids.ela_course}").text
    assert f'href="/courses/{ids.ela_course}/external_tools/{key.id}"' in page
    tool_page = as_user(app, ids.students[0]).get(
        f"/courses/{ids.ela_course}/external_tools/{key.id}"
    )
    assert tool_page.status_code == 200
    assert 'name="lti_message_hint"' in tool_page.text
