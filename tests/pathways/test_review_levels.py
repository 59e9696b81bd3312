"""The review card shows the student's current level on that target (item: teachers score
with the level in view)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, FakePlatform
from tests.pathways.conftest import AVA, BEN, COURSE, RL, W, platform_id_of
from tests.pathways.test_pages import demos, get, launch
from tests.synced_course import Result, Student, Target, write_course

T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)


def test_each_review_card_shows_the_current_level_on_its_target(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    pid = platform_id_of(app, platform)
    write_course(
        app,
        pid,
        COURSE,
        synced_at=T0 + timedelta(days=30),
        students=[Student(AVA, "Ava Jones"), Student(BEN, "Ben Ortiz")],
        targets=[Target(RL, "RL.7.2 Central idea"), Target(W, "W.7.1 Argument")],
        results=[
            Result("1", BEN, RL, 2.0, T0),
            Result("2", BEN, RL, 3.0, T0 + timedelta(weeks=1)),
        ],
    )
    demos(app, pid)  # Ava's idea on RL, Ben's project on RL, Ben's request on W (scored 2)
    handle, _ = launch(browser, [INSTRUCTOR])
    html = " ".join(get(browser, handle, "/review").get_data(as_text=True).split())
    # As Canvas computes it (the default): 0.65 x 3 + 0.35 x 2 = 2.65 of 4 points, level 2.5.
    ben_rl = "Current level on this target: <strong>2.5 D+ – Developing, partial on target"
    assert ben_rl in html
    assert "Current level on this target: <strong>no level yet</strong>" in html  # Ava on RL
    assert "Current level on this target: <strong>2 D – Developing</strong>" in html  # Ben, W
    assert f'href="/s/{handle}/grid/{BEN}/{RL}">evidence' in html
