"""Targets are named by code and title wherever a teacher meets them (Canvas outcomes often
have a code as title, "RL.7.2", and the words as display name, "Theme and summary")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask

from lti_app.models.canvas import target_name
from lti_app.models.writeback import FAILED
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform
from tests.pathways.test_pages import demos, launch
from tests.synced_course import Result, Student, Target, platform_id_of, write_course
from tests.writeback.test_pages import add_item

NAME = "RL.7.2: Theme and summary"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def test_target_name_joins_code_and_title_once() -> None:
    assert target_name("RL.7.2", "Theme and summary") == NAME
    assert target_name("RL.7.2 Theme and summary", "Theme and summary") == (
        "RL.7.2 Theme and summary"
    )
    assert target_name("RL.7.2", None) == target_name("RL.7.2", "  ") == "RL.7.2"


def page(browser: LtiBrowser, handle: str, path: str) -> str:
    response = browser.client.get(f"/s/{handle}{path}", base_url=TOOL_BASE)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_every_teacher_page_names_the_target_by_code_and_title(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    pid = platform_id_of(app, platform)
    at = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    write_course(
        app,
        pid,
        "101",
        synced_at=at,
        students=[Student("812", "Ava Jones"), Student("813", "Ben Ortiz")],
        targets=[
            Target("97", "RL.7.2", display_name="Theme and summary"),
            Target("98", "W.7.1", ("Writing",), display_name="Argument"),
        ],
        results=[Result("1", "812", "97", 3.0, at)],
    )
    demos(app, pid)  # queue items on RL (97) and W (98), one scored and on its way
    add_item(app, pid, "812", "97", FAILED, minutes=1, round=2, error="Canvas refused")
    handle, _ = launch(browser, [INSTRUCTOR])

    grid = page(browser, handle, "/grid")
    # the header keeps the short code on screen, the full name on hover and for screen readers
    assert re.search(
        rf'<th scope="col" title="{NAME}"><span class="tt" aria-hidden="true">RL.7.2</span>'
        rf'<span class="visually-hidden">{NAME}</span></th>',
        grid,
    )
    assert f"<h1>Ava Jones: {NAME}</h1>" in page(browser, handle, "/grid/812/97")
    assert f"Ava Jones · {NAME}" in page(browser, handle, "/pathways/review")
    assert f">{NAME}</h3>" in page(browser, handle, "/pathways/analytics")
    assert f'<th scope="row">{NAME}</th>' in page(browser, handle, "/pathways/")
    assert f"Menu for “{NAME}”" in page(browser, handle, "/pathways/targets/97")
    assert NAME in page(browser, handle, "/pathways/canvas-results")
