"""A synced course for the grid tests, written straight into the sync tables.

Canvas rubric results on 0-4 criteria (possible 4), so with the built-in policy (Marzano 0-4
half points, linear percent mapping, decaying average 65) a score of s points is level s. The
course's district policy is stored with the district-level basis unless told otherwise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import Flask

from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.calculation import Basis
from tests.conftest import LtiBrowser
from tests.lti_platform import TOOL_BASE, FakePlatform
from tests.synced_course import (
    Result,
    Student,
    Target,
    platform_id_of,
    store_district_basis,
    write_course,
)

T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
COURSE = "101"  # the FakePlatform launch's $Canvas.course.id

STUDENTS = (  # canvas_user_id, name, sections
    ("812", "Ava Jones", ["45"]),
    ("813", "Ben Ortiz", ["46"]),
    ("814", "Cal Lee", ["45"]),
)
TARGETS = (  # canvas_outcome_id, title, group path
    ("97", "RL.7.2 Central idea", ["Reading"]),
    ("99", "RL.7.3 Interactions", ["Reading"]),
    ("98", "W.7.1 Argument", ["Writing", "Argument"]),
)
# result id, user, outcome, score of 4, weeks after T0, on a carrier, hidden
RESULTS: tuple[tuple[str, str, str, float, int, bool, bool], ...] = (
    ("1", "812", "97", 2.0, 0, False, False),
    ("2", "812", "97", 3.0, 1, False, False),  # Ava RL.7.2: 0.65 x 3 + 0.35 x 2 = 2.65
    ("3", "813", "97", 4.0, 0, False, False),  # Ben RL.7.2: 4
    ("6", "813", "99", 1.0, 0, False, False),
    ("7", "813", "99", 3.5, 2, False, False),  # Ben RL.7.3: 0.65 x 3.5 + 0.35 x 1 = 2.63 (2.625)
    ("4", "812", "98", 4.0, 0, True, False),  # on the tool's carrier: never counted
    ("5", "813", "98", 1.0, 0, False, True),  # hidden: never counted
    ("8", "814", "98", 0.5, 0, False, False),  # Cal W.7.1: 0.5
)


def platform_id(app: Flask, platform: FakePlatform) -> int:
    return platform_id_of(app, platform)


def seed_course(
    app: Flask,
    platform: FakePlatform,
    course_id: str = COURSE,
    basis: Basis | None = Basis.DISTRICT_LEVEL,
) -> None:
    """The course, and (unless ``basis`` is None) the built-in policy stored as the district's
    with ``basis``: these tests' arithmetic is district level per piece of evidence."""
    if basis is not None:
        store_district_basis(app, platform_id_of(app, platform), basis)
    write_course(
        app,
        platform_id_of(app, platform),
        course_id,
        synced_at=T0 + timedelta(days=30),
        sections={"45": "Period 2", "46": "Period 5"},
        students=[Student(uid, name, sections) for uid, name, sections in STUDENTS],
        targets=[Target(oid, title, path) for oid, title, path in TARGETS],
        results=[
            Result(rid, uid, oid, score, T0 + timedelta(weeks=weeks), carrier, hidden)
            for rid, uid, oid, score, weeks, carrier, hidden in RESULTS
        ],
    )


def launch(browser: LtiBrowser, roles: list[str]) -> tuple[str, str]:
    """A real signed launch; returns the session handle and its CSRF token."""
    response = browser.launch(roles=roles)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf


def get(browser: LtiBrowser, path: str) -> tuple[int, str]:
    response = browser.client.get(path, base_url=TOOL_BASE)
    return response.status_code, response.get_data(as_text=True)


def read_in_spanish(browser: LtiBrowser, handle: str, csrf: str) -> None:
    """The session's language switch, as the page's Español button posts it."""
    switched = browser.client.post(
        f"/s/{handle}/language",
        data={CSRF_FIELD: csrf, "language": "es", "next": f"/s/{handle}/"},
        base_url=TOOL_BASE,
        headers={"Origin": TOOL_BASE},
    )
    assert switched.status_code == 303
