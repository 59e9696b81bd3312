"""The "as Canvas computes it" basis (the default) in the grid, the drill-down and the export,
beside the district-level basis; and "Canvas shows X" where Canvas's own score differs.

The issue's example: a 0-4 Canvas scale and two rubric results, 7/10 then 9/10. Canvas takes
2.8 and 3.6 points; its legacy decaying 65 gives 0.65 x 3.6 + 0.35 x 2.8 = 3.32, which the
linear Marzano mapping places at level 3 (83 %). Per piece of evidence the results are levels
2.5 (70 %) and 3.5 (90 %): 0.65 x 3.5 + 0.35 x 2.5 = 3.15.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.mastery.calculation import Basis
from lti_app.models.canvas import CanvasCourse, CourseRollup
from lti_app.models.pathways import Demonstration
from tests.conftest import LtiBrowser
from tests.grading.seed import get, launch
from tests.lti_platform import INSTRUCTOR, FakePlatform
from tests.synced_course import (
    Result,
    Student,
    Target,
    platform_id_of,
    store_district_basis,
    write_course,
)

T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
COURSE = "101"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def seed(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    write_course(
        app,
        pid,
        COURSE,
        synced_at=T0 + timedelta(days=30),
        students=[Student("812", "Ava Jones"), Student("813", "Ben Ortiz")],
        targets=[Target("97", "RL.7.2 Central idea"), Target("98", "W.7.1 Argument")],
        results=[
            Result("1", "812", "97", 7.0, T0, possible=10.0),
            Result("2", "812", "97", 9.0, T0 + timedelta(weeks=1), possible=10.0),
            Result("3", "813", "97", 4.0, T0),
        ],
    )
    with app.app_context(), session_scope(app) as db:
        course = db.query(CanvasCourse).one()
        # Canvas's own scores as the last sync read them: Ava's agrees, Ben's does not.
        for uid, score in (("812", 3.32), ("813", 3.5)):
            db.add(
                CourseRollup(
                    course_pk=course.id,
                    rollup_key=f"{uid}:97",
                    canvas_user_id=uid,
                    canvas_outcome_id="97",
                    score=score,
                    count=1,
                )
            )
        # Ben's demonstration on W.7.1, scored at level 3: 3 of the Canvas scale's 4 points.
        db.add(
            Demonstration(
                platform_id=pid,
                canvas_course_id=COURSE,
                canvas_user_id="813",
                canvas_outcome_id="98",
                kind="project",
                title="Poster",
                state="scored",
                open_slot=None,
                score=3.0,
                scored_by="1",
                submitted_at=T0,
                scored_at=T0 + timedelta(days=1),
            )
        )
    return pid


def cell(html: str, uid: str, oid: str) -> str:
    found = re.search(rf'<td class="(lv\w+)"><a href="grid/{uid}/{oid}">(.*?)</td>', html)
    assert found is not None, (uid, oid)
    text = re.sub(r"<[^>]+>", " ", found.group(2))
    return f"{found.group(1)} {' '.join(text.split())}"


def test_as_canvas_is_the_default_and_says_where_canvas_differs(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    seed(app, platform)
    handle, _ = launch(browser, [INSTRUCTOR])
    grid = get(browser, f"/s/{handle}/grid")[1]
    assert cell(grid, "812", "97") == "lv6 3 P"  # 3.32 of 4 points: level 3
    # Ben: 4 of 4 is 4.0 in the tool's Canvas-method score; Canvas's rollup said 3.5.
    assert cell(grid, "813", "97") == "lv8 4 A Canvas shows 3.5"
    assert cell(grid, "813", "98") == "lv6 3 P"  # the demonstration reads back as level 3
    assert "as Canvas computes it" in grid

    status, drill = get(browser, f"/s/{handle}/grid/812/97")
    assert status == 200
    assert "0.65 × 3.6 + 0.35 × 2.8 = 3.32" in drill
    assert "on Canvas&#39;s 0-4 scale, 3.32 is level 3" in drill
    assert "canvas-shows-note" not in drill  # Canvas's rollup agrees with the tool
    # The override form's "What Canvas shows" follows the same basis: level 3, not 3.15.
    assert "and shows <strong>3</strong> for Ava Jones" in drill
    status, drill = get(browser, f"/s/{handle}/grid/813/97")
    assert "<strong>Canvas shows 3.5</strong> in its Learning Mastery Gradebook" in drill

    report = json.loads(get(browser, f"/s/{handle}/export.json")[1])
    ava, ben = report["students"]
    assert [(t["level"], t["canvas_score"]) for t in ava["targets"]] == [(3.0, 3.32), (None, None)]
    assert [(t["level"], t["canvas_score"]) for t in ben["targets"]] == [(4.0, 4.0), (3.0, None)]


def test_district_level_per_piece_of_evidence_is_todays_arithmetic(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    pid = seed(app, platform)
    store_district_basis(app, pid, Basis.DISTRICT_LEVEL)
    handle, _ = launch(browser, [INSTRUCTOR])
    grid = get(browser, f"/s/{handle}/grid")[1]
    assert cell(grid, "812", "97") == "lv6 3.15 P"  # levels 2.5 and 3.5
    assert "district level per piece of evidence" in grid
    report = json.loads(get(browser, f"/s/{handle}/export.json")[1])
    # canvas_score is Canvas's figure whatever the basis.
    assert report["students"][0]["targets"][0]["canvas_score"] == 3.32
