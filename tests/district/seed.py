"""Two synced courses of one district sharing account targets (written straight into the sync
tables), then the aggregates built as the after-sync hook builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from lti_app.db import session_scope
from lti_app.district import aggregate
from tests.lti_platform import FakePlatform
from tests.synced_course import Result, Student, Target, platform_id_of, write_course

T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
D1 = Target("501", "D.1", ("District",), display_name="Main idea", context_type="Account")
D2 = Target("502", "D.2", ("District",), display_name="Evidence", context_type="Account")
OWN = Target("97", "RL.7.2", ("Reading",), context_type="Course")


def at(weeks: int) -> datetime:
    return T0 + timedelta(weeks=weeks)


def seed_district(app: Flask, platform: FakePlatform) -> int:
    """Course 101 (the launch's course, school 2): Ava 812, Ben 813; 816 left it (results
    remain). Course 102 (school 3): Ava again and Dee 815."""
    pid = platform_id_of(app, platform)
    write_course(
        app,
        pid,
        "101",
        synced_at=at(6),
        sections={"45": "Period 2", "46": "Period 5"},
        students=[Student("812", "Ava Jones", ["45"]), Student("813", "Ben Ortiz", ["46"])],
        targets=[D1, D2, OWN],
        results=[
            Result("1", "812", "501", 2.0, at(0)),
            Result("2", "813", "501", 4.0, at(0)),
            Result("3", "813", "502", 1.0, at(0)),
            Result("4", "813", "502", 2.5, at(2)),
            Result("5", "816", "501", 3.0, at(0)),
            Result("6", "812", "97", 4.0, at(0)),
        ],
        name="ELA 7",
        account_id="2",
        account_parent_id="1",
        term=("1", "Fall 2026"),
    )
    write_course(
        app,
        pid,
        "102",
        synced_at=at(6),
        sections={"47": "Period 1"},
        students=[Student("812", "Ava Jones", ["47"]), Student("815", "Dee Park", ["47"])],
        targets=[D1],
        results=[Result("11", "812", "501", 4.0, at(1))],
        name="Science 7",
        account_id="3",
        account_name="Lincoln Middle School",
        account_parent_id="1",
        term=("1", "Fall 2026"),
    )
    with app.app_context(), session_scope(app) as db:
        aggregate.refresh_all(db, pid)
    return pid
