"""Times in the reader's zone: the user's from Canvas ($Person.address.timezone), else the
course's (read in sync), else UTC; as dates people read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import known_zone
from lti_app.models.canvas import CanvasCourse
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform
from tests.synced_course import Student, Target, platform_id_of, write_course

SYNCED = datetime(2026, 12, 4, 22, 30, tzinfo=UTC)
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def test_known_zone_accepts_iana_names_only() -> None:
    assert known_zone("America/Denver") == "America/Denver"
    assert known_zone("$Person.address.timezone") is None  # Canvas left it unsubstituted
    assert known_zone("Mars/Olympus") is None and known_zone("../../etc") is None
    assert known_zone(None) is None


def grid_time(browser: LtiBrowser, **custom: str) -> str:
    def mutate(claims: dict[str, object]) -> None:
        fields = claims[CUSTOM]
        assert isinstance(fields, dict)
        fields.update(custom)

    response = browser.launch(roles=[INSTRUCTOR], mutate=mutate)
    handle = response.get_data(as_text=True).split('action="/s/', 1)[1].split("/", 1)[0]
    html = browser.client.get(f"/s/{handle}/grid", base_url=TOOL_BASE).get_data(as_text=True)
    return html.split("Synced from Canvas", 1)[1].split("</time>", 1)[0].rsplit(">", 1)[1]


def test_times_follow_the_user_then_the_course_then_utc(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    write_course(
        app,
        platform_id_of(app, platform),
        "101",
        synced_at=SYNCED,
        students=[Student("812", "Ava Jones")],
        targets=[Target("97", "RL.7.2")],
    )
    assert grid_time(browser) == "Dec 4, 2026, 10:30 PM UTC"
    with app.app_context(), session_scope(app) as db:
        db.query(CanvasCourse).one().time_zone = "America/Los_Angeles"
    assert grid_time(browser) == "Dec 4, 2026, 2:30 PM PST"
    # the user's own zone wins; an unknown name is ignored
    assert grid_time(browser, canvas_user_time_zone="Europe/Berlin") == "Dec 4, 2026, 11:30 PM CET"
    assert grid_time(browser, canvas_user_time_zone="Nowhere/Else") == "Dec 4, 2026, 2:30 PM PST"


def test_spanish_pages_write_the_same_time_the_spanish_way(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    write_course(
        app,
        platform_id_of(app, platform),
        "101",
        synced_at=SYNCED,
        students=[Student("812", "Ava Jones")],
        targets=[Target("97", "RL.7.2")],
    )
    with app.app_context(), session_scope(app) as db:
        db.query(CanvasCourse).one().time_zone = "America/Los_Angeles"

    def landing(locale: str) -> str:
        def mutate(claims: dict[str, Any]) -> None:
            claims[PRESENTATION]["locale"] = locale

        html = browser.launch(roles=[INSTRUCTOR], mutate=mutate).get_data(as_text=True)
        return html.split('<time datetime="', 1)[1].split("</time>", 1)[0].split(">", 1)[1]

    assert landing("en") == "Dec 4, 2026, 2:30 PM PST"  # the teacher's landing: last synced
    assert landing("es") == "4 dic 2026, 14:30 PST"
