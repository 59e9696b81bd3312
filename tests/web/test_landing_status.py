"""The teacher's landing page says what to do next, with the counts on its links
(connect, sync, the review queue's waiting items, results Canvas did not take)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import event

from lti_app.db import session_scope
from lti_app.models.canvas import SYNC_FAILED, SYNC_RUNNING, CanvasApiToken, SyncRun
from lti_app.models.writeback import FAILED, PENDING
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, FakePlatform
from tests.pathways.conftest import platform_id_of, seed_course
from tests.pathways.test_pages import demos
from tests.writeback.test_pages import add_item


@pytest.fixture
def db_url(backend_url: str) -> str:
    """SQLite and PostgreSQL."""
    return backend_url


def landing(browser: LtiBrowser) -> str:
    response = browser.launch(roles=[INSTRUCTOR])
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def next_step(text: str) -> str:
    return text.split("What to do next", 1)[1].split("Your class at a glance", 1)[0].strip()


def connect(app: Flask, pid: int, canvas_user_id: str) -> None:
    with app.app_context(), session_scope(app) as db:
        db.add(
            CanvasApiToken(
                platform_id=pid,
                canvas_user_id=canvas_user_id,
                access_token_encrypted="x",
                expires_at=datetime.now(UTC) + timedelta(hours=1),
                canvas_origin="https://canvas.test.example",
            )
        )


def test_new_teacher_is_told_to_connect(app: Flask, browser: LtiBrowser) -> None:
    text = landing(browser)
    assert next_step(text).startswith("Connect Mastery Pathways to your Canvas account")
    assert "Canvas connection and sync (not connected, not synced yet)" in text


def test_connected_teacher_is_told_to_sync(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    pid = platform_id_of(app, platform)
    connect(app, pid, "812")  # the FakePlatform launch's $Canvas.user.id
    text = landing(browser)
    assert next_step(text).startswith("You are connected. Sync this course")
    assert "Sync the course" in text


def test_waiting_items_and_failed_sends_are_counted(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    demos(app, pid)  # an idea, a hand-in, a request to try again (3); one score on its way
    add_item(app, pid, "812", "97", FAILED, minutes=1, error="Canvas refused")
    add_item(app, pid, "813", "97", PENDING, minutes=2)
    text = landing(browser)
    assert next_step(text).startswith("3 items waiting for you in the review queue.")
    assert "Open the review queue (3 waiting)" in text
    assert "requests to try again (3 waiting)" in text
    assert "Sent to Canvas (1 failed, 2 on the way)" in text
    assert "not connected, last synced" in text


def test_failed_sends_are_the_next_step_when_the_queue_is_empty(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    add_item(app, pid, "812", "97", FAILED, minutes=1, error="Canvas refused")
    add_item(app, pid, "813", "97", FAILED, minutes=2, error="Canvas refused")
    text = landing(browser)
    assert next_step(text).startswith("2 results could not be sent to Canvas.")
    assert "See what was not sent (2 failed)" in text


def test_counts_are_the_launched_courses_only(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    seed_course(app, pid, "202")
    add_item(app, pid, "812", "97", FAILED, minutes=1, course="202", error="x")
    text = landing(browser)
    assert "Sent to Canvas (none failed)" in text
    assert next_step(text).startswith("Nothing is waiting for you.")


def test_a_sync_under_way_is_said_and_the_status_is_one_read(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    pid = platform_id_of(app, platform)
    connect(app, pid, "812")
    with app.app_context(), session_scope(app) as db:
        # An earlier run finished; the newest one is under way.
        db.add(
            SyncRun(platform_id=pid, canvas_course_id="101", requested_by="812", status=SYNC_FAILED)
        )
        db.add(
            SyncRun(
                platform_id=pid, canvas_course_id="101", requested_by="812", status=SYNC_RUNNING
            )
        )
    statements: list[str] = []
    event.listen(
        app.extensions["db_engine"],
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: statements.append(sql),
    )
    text = landing(browser)
    assert next_step(text).startswith("The course is syncing from Canvas now.")
    # Token, sync, review queue and write-back counts: one statement, not a round trip each.
    status = [s for s in statements if "sync_run" in s or "writeback_item" in s]
    assert len(status) == 1
    assert all(t in status[0] for t in ("canvas_api_token", "demonstration", "time_zone"))


def test_pages_have_the_tools_favicon(app: Flask, browser: LtiBrowser) -> None:
    html = browser.launch(roles=[INSTRUCTOR]).get_data(as_text=True)
    assert '<link rel="icon" href="/static/icon.svg" type="image/svg+xml">' in html
    icon = browser.client.get("/static/icon.svg")
    assert icon.status_code == 200 and b"<svg" in icon.data
