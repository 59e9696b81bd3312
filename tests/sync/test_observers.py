"""Observer enrollments in sync: read with the roster, kept only for active students of the
course, and a link Canvas no longer reports is deleted by the next sync (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from lti_app.canvas.client.types import Enrollment
from lti_app.db import session_scope
from lti_app.models.canvas import CourseObserver
from lti_app.sync.apply import apply_snapshot
from lti_app.sync.fetch import fetch_course, observer_rows
from tests.sync.fakes import FakeCanvas

T0 = datetime(2026, 3, 1, 15, 4, 5, tzinfo=UTC)


def observer(uid: str, student: str | None, state: str = "active") -> Enrollment:
    return Enrollment(f"o{uid}{student}", uid, "45", "ObserverEnrollment", state, None, student)


def links(app: Flask) -> list[tuple[str, str]]:
    with session_scope(app) as db:
        rows = db.execute(
            select(CourseObserver.observer_user_id, CourseObserver.student_user_id).order_by(
                CourseObserver.link_key
            )
        ).all()
    return [(r.observer_user_id, r.student_user_id) for r in rows]


def test_observer_rows_keep_active_links_to_active_students() -> None:
    rows = observer_rows(
        [
            observer("900", "812"),
            observer("900", "813"),
            observer("901", "812", "invited"),  # not accepted yet: sees nothing
            observer("902", None),  # an observer enrolled without a student
            observer("903", "999"),  # observes someone who is no student here
            observer("812", "812"),  # never oneself
        ],
        ["812", "813"],
    )
    assert sorted((r.observer_user_id, r.student_user_id) for r in rows.values()) == [
        ("900", "812"),
        ("900", "813"),
    ]


def test_sync_stores_links_and_the_next_sync_removes_a_gone_one(
    sync_app: Flask, platform_id: int
) -> None:
    canvas = FakeCanvas(observers=[observer("900", "812"), observer("900", "813")])
    snap = fetch_course(canvas, "12", lambda p, s: None)
    assert canvas.calls.count("observer_enrollments") == 1
    with session_scope(sync_app) as db:
        summary = apply_snapshot(db, platform_id, snap, synced_at=T0)
    assert summary.counts["observers"] == 2
    assert links(sync_app) == [("900", "812"), ("900", "813")]

    # The parent's link to 813 ends in Canvas: the next sync deletes it, the other stays.
    canvas = FakeCanvas(observers=[observer("900", "812")])
    with session_scope(sync_app) as db:
        summary = apply_snapshot(
            db, platform_id, fetch_course(canvas, "12", lambda p, s: None), synced_at=T0
        )
    assert summary.tables["observers"].removed == 1
    assert links(sync_app) == [("900", "812")]
