"""The course's grading periods (docs/canvas.md §12) arrive with a sync, follow Canvas's changes,
and stay as they were when the key may not read them."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from lti_app.canvas.client.types import GradingPeriod
from lti_app.db import session_scope
from lti_app.models.canvas import CourseGradingPeriod
from tests.sync.fakes import T0, FakeCanvas
from tests.sync.test_fetch_and_service import run


def stored(app: Flask) -> list[tuple[str, str, bool]]:
    with session_scope(app) as db:
        rows = db.scalars(select(CourseGradingPeriod).order_by(CourseGradingPeriod.start_date))
        return [(p.canvas_grading_period_id, p.title, p.is_closed) for p in rows]


def test_periods_are_stored_updated_and_removed(sync_app: Flask, platform_id: int) -> None:
    assert run(sync_app, platform_id, FakeCanvas()).ok
    assert stored(sync_app) == [("7", "Quarter 1", True), ("8", "Quarter 2", False)]
    with session_scope(sync_app) as db:
        q1 = db.scalars(select(CourseGradingPeriod)).first()
        assert q1 is not None and q1.start_date == T0 and q1.end_date == T0 + timedelta(weeks=9)

    renamed = [
        GradingPeriod("8", "Second quarter", T0 + timedelta(weeks=9), T0 + timedelta(weeks=18))
    ]
    assert run(sync_app, platform_id, FakeCanvas(periods=renamed)).ok
    assert stored(sync_app) == [("8", "Second quarter", False)]


def test_without_the_scope_the_stored_periods_stay(sync_app: Flask, platform_id: int) -> None:
    assert run(sync_app, platform_id, FakeCanvas()).ok
    outcome = run(sync_app, platform_id, FakeCanvas(periods=None))
    assert outcome.ok  # an optional read: the sync goes on
    assert stored(sync_app) == [("7", "Quarter 1", True), ("8", "Quarter 2", False)]
