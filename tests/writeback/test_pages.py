"""The teacher's Sent to Canvas page with real signed launches: statuses, reasons, the batch
progress, the status JSON, retry (one and all), and who may see or retry what (students, other
courses, other tenants, no CSRF token), on SQLite and PostgreSQL. Outbox rows are written
straight into the table."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.writeback import DELIVERED, FAILED, PENDING, WritebackItem
from lti_app.tasks.runner import runner
from lti_app.writeback import views as writeback_views
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, LEARNER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import (
    AVA,
    BEN,
    COURSE,
    OTHER_COURSE,
    RL,
    TEACHER,
    W,
    add_platform,
    platform_id_of,
    seed_course,
)
from tests.pathways.test_pages import launch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REFUSED = "Canvas refused to let the tool grade in this course."
OTHER_REASON = "A reason from another course"


@pytest.fixture
def db_url(backend_url: str) -> str:
    """SQLite and PostgreSQL."""
    return backend_url


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    return pid


def add_item(
    app: Flask,
    pid: int,
    user: str,
    outcome: str,
    status: str,
    *,
    minutes: int,
    round: int = 1,
    course: str = COURSE,
    error: str | None = None,
    attempts: int = 0,
) -> int:
    created = T0 + timedelta(minutes=minutes)
    with app.app_context(), session_scope(app) as db:
        item = WritebackItem(
            platform_id=pid,
            canvas_course_id=course,
            canvas_user_id=user,
            canvas_outcome_id=outcome,
            kind="demonstration",
            round=round,
            idempotency_key=f"demo:{pid}-{course}-{user}-{outcome}-{round}",
            level=3.0,
            label="Proficient",
            points=3.0,
            comment="Test, attempt 1: Proficient (Mastery Pathways)",
            teacher_canvas_user_id=TEACHER,
            status=status,
            attempts=attempts,
            next_attempt_at=created,
            last_error=error,
            delivered_at=created + timedelta(minutes=1) if status == DELIVERED else None,
            created_at=created,
            updated_at=created,
        )
        db.add(item)
        db.flush()
        return item.id


def item(app: Flask, item_id: int) -> WritebackItem:
    with app.app_context(), session_scope(app) as db:
        row = db.get(WritebackItem, item_id)
        assert row is not None
        db.expunge(row)
        return row


def statuses(app: Flask) -> dict[int, tuple[str, str | None]]:
    with app.app_context(), session_scope(app) as db:
        rows = db.scalars(select(WritebackItem))
        return {r.id: (r.status, r.last_error) for r in rows}


def get(browser: LtiBrowser, handle: str, path: str = "") -> Any:
    return browser.client.get(f"/s/{handle}/pathways/canvas-results{path}", base_url=TOOL_BASE)


def post(browser: LtiBrowser, handle: str, path: str, data: dict[str, str]) -> Any:
    return browser.client.post(
        f"/s/{handle}/pathways/canvas-results{path}", data=data, base_url=TOOL_BASE
    )


@pytest.fixture
def kicks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """The courses a retry asked a worker to deliver (the worker itself is tested elsewhere,
    and here it would race the assertions on the rows the retry changed)."""
    seen: list[tuple[int, str]] = []
    monkeypatch.setattr(
        writeback_views, "kick_after_response", lambda pid, course: seen.append((pid, course))
    )
    return seen


@pytest.fixture
def mixed(app: Flask, pid: int) -> dict[str, int]:
    """This course: one result in Canvas before the batch, then a batch of a pending result,
    a delivered one, one that failed for good and one pending a retry. Another course and
    another tenant (same course id) have a failure each."""
    other_tenant = add_platform(app)
    return {
        "old": add_item(app, pid, AVA, RL, DELIVERED, minutes=0),
        "failed": add_item(app, pid, BEN, W, FAILED, minutes=1, error=REFUSED, attempts=1),
        "pending": add_item(app, pid, AVA, RL, PENDING, minutes=2, round=2),
        "delivered": add_item(app, pid, BEN, RL, DELIVERED, minutes=3),
        "retrying": add_item(
            app, pid, AVA, W, PENDING, minutes=4, error="Canvas did not answer.", attempts=2
        ),
        "other_course": add_item(
            app, pid, AVA, RL, FAILED, minutes=5, course=OTHER_COURSE, error=OTHER_REASON
        ),
        "other_tenant": add_item(app, other_tenant, AVA, RL, FAILED, minutes=6, error=OTHER_REASON),
    }


def rows(html: str) -> dict[int, str]:
    """Each table row's text (tags stripped), by item id."""
    found = re.findall(r'<tr id="wb-(\d+)"[^>]*>(.*?)</tr>', html, flags=re.S)
    return {int(i): " ".join(re.sub(r"<[^>]+>", " ", body).split()) for i, body in found}


def test_the_page_shows_each_status_the_reason_and_the_batch_progress(
    app: Flask, pid: int, mixed: dict[str, int], browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    page = get(browser, handle)
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert 'aria-current="page">Sent to Canvas</a>' in html
    assert re.search(r'id="wb-delivered">2<.*id="wb-pending">2<.*id="wb-failed">1<', html, re.S)
    # the batch: everything since the oldest pending result (minute 2): 1 of 3 settled
    assert '<progress id="wb-progress" max="3" value="1">1 of 3 sent</progress>' in html
    assert 'data-active="true"' in html

    table = rows(html)
    assert set(table) == {mixed[k] for k in ("old", "failed", "pending", "delivered", "retrying")}
    assert next(iter(table)) == mixed["retrying"]  # newest first
    assert table[mixed["failed"]] == (
        f"Ben Ortiz W.7.1 Argument 3 – Proficient demonstration 1 Failed {REFUSED} "
        "Retry Ben Ortiz, W.7.1 Argument failed Nov 2, 2026, 9:01 AM UTC"
    )
    assert table[mixed["pending"]].startswith(
        "Ava Jones RL.7.2 Central idea 3 – Proficient demonstration 2 Pending scored"
    )
    assert "In Canvas sent Nov 2, 2026, 9:04 AM UTC" in table[mixed["delivered"]]
    assert "Pending Trying again (attempt 3): Canvas did not answer." in table[mixed["retrying"]]
    assert OTHER_REASON not in html
    assert html.count(">Retry<") == 1 and "Retry all failed (1)" in html

    failed_only = get(browser, handle, "?status=failed").get_data(as_text=True)
    assert set(rows(failed_only)) == {mixed["failed"]}
    assert 'aria-current="page">Failed (1)</a>' in failed_only
    assert set(rows(get(browser, handle, "?status=bogus").get_data(as_text=True))) == set(table)


def test_status_json_counts_and_batch(
    app: Flask, pid: int, mixed: dict[str, int], browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    response = get(browser, handle, "/status.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "pending": 2,
        "delivered": 2,
        "failed": 1,
        "total": 5,
        "batch": {"total": 3, "done": 1, "percent": 33, "text": "1 of 3 sent"},
    }


def test_nothing_scored_yet_shows_the_empty_state(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    handle, _ = launch(browser, [INSTRUCTOR])
    html = get(browser, handle).get_data(as_text=True)
    assert "Nothing scored yet: scored demonstrations appear here and are sent to Canvas." in html
    assert "<progress" not in html and "<table" not in html and 'data-active="false"' in html
    assert get(browser, handle, "/status.json").get_json()["batch"] == {
        "total": 0,
        "done": 0,
        "percent": 100,
        "text": "0 of 0 sent",
    }


def test_retry_one_flips_failed_to_pending_and_clears_the_reason(
    app: Flask,
    pid: int,
    mixed: dict[str, int],
    browser: LtiBrowser,
    kicks: list[tuple[int, str]],
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    before = statuses(app)
    response = post(browser, handle, f"/retry/{mixed['failed']}", {CSRF_FIELD: csrf})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Sending that result to Canvas again." in html
    assert "Failed" not in rows(html)[mixed["failed"]]
    row = item(app, mixed["failed"])
    assert (row.status, row.last_error, row.attempts) == (PENDING, None, 0)
    assert kicks == [(pid, COURSE)]
    after = statuses(app)
    assert {k: v for k, v in after.items() if k != mixed["failed"]} == {
        k: v for k, v in before.items() if k != mixed["failed"]
    }

    # again (a double click): nothing left to retry, nothing changes, no second kick
    again = post(browser, handle, f"/retry/{mixed['failed']}", {CSRF_FIELD: csrf})
    assert again.status_code == 200
    assert "That result is no longer failed: nothing to retry." in again.get_data(as_text=True)
    assert statuses(app) == after and len(kicks) == 1


def test_retry_all_retries_only_this_course(
    app: Flask,
    pid: int,
    mixed: dict[str, int],
    browser: LtiBrowser,
    kicks: list[tuple[int, str]],
) -> None:
    second = add_item(app, pid, AVA, W, FAILED, minutes=7, round=2, error=REFUSED)
    handle, csrf = launch(browser, [INSTRUCTOR])
    response = post(browser, handle, "/retry", {CSRF_FIELD: csrf})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Sending 2 failed results to Canvas again." in html and "Retry all failed" not in html
    now = statuses(app)
    assert now[mixed["failed"]] == now[second] == (PENDING, None)
    assert now[mixed["other_course"]] == now[mixed["other_tenant"]] == (FAILED, OTHER_REASON)
    assert kicks == [(pid, COURSE)]

    empty = post(browser, handle, "/retry", {CSRF_FIELD: csrf})
    assert "Nothing to retry: no result has failed." in empty.get_data(as_text=True)
    assert statuses(app) == now and len(kicks) == 1


def test_students_other_courses_other_tenants_and_missing_csrf_change_nothing(
    app: Flask,
    pid: int,
    mixed: dict[str, int],
    browser: LtiBrowser,
    kicks: list[tuple[int, str]],
) -> None:
    before = statuses(app)
    student, csrf = launch(browser, [LEARNER], user_id=BEN)
    assert get(browser, student).status_code == 403
    assert get(browser, student, "/status.json").status_code == 403
    assert post(browser, student, "/retry", {CSRF_FIELD: csrf}).status_code == 403
    assert (
        post(browser, student, f"/retry/{mixed['failed']}", {CSRF_FIELD: csrf}).status_code == 403
    )

    teacher, csrf = launch(browser, [INSTRUCTOR])
    assert post(browser, teacher, "/retry", {}).status_code == 403
    assert post(browser, teacher, "/retry", {CSRF_FIELD: "forged"}).status_code == 403
    forged = post(browser, teacher, f"/retry/{mixed['failed']}", {CSRF_FIELD: "forged"})
    assert forged.status_code == 403
    for guessed in (mixed["other_course"], mixed["other_tenant"], 999_999):
        response = post(browser, teacher, f"/retry/{guessed}", {CSRF_FIELD: csrf})
        assert response.status_code == 404, guessed
        assert "There is no such result in this course." in response.get_data(as_text=True)

    seed_course(app, pid, OTHER_COURSE)
    other, csrf = launch(browser, [INSTRUCTOR], course_id=OTHER_COURSE)
    html = get(browser, other).get_data(as_text=True)
    assert set(rows(html)) == {mixed["other_course"]} and REFUSED not in html
    assert post(browser, other, f"/retry/{mixed['failed']}", {CSRF_FIELD: csrf}).status_code == 404

    unsynced, _ = launch(browser, [INSTRUCTOR], course_id="303")
    assert get(browser, unsynced).status_code == 409
    assert statuses(app) == before and kicks == []


def test_a_retry_starts_a_worker_that_tries_again(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    """The real kick after the response: a worker takes the retried result (and, with no
    teacher connected to Canvas here, fails it again at once, with that reason)."""
    failed = add_item(app, pid, BEN, W, FAILED, minutes=1, error=REFUSED, attempts=6)
    handle, csrf = launch(browser, [INSTRUCTOR])
    response = post(browser, handle, f"/retry/{failed}", {CSRF_FIELD: csrf})
    assert response.status_code == 200
    response.close()
    assert runner(app).wait_idle(timeout=30)
    row = item(app, failed)
    assert row.status == FAILED and row.attempts == 1
    assert row.last_error is not None and "connected to Canvas" in row.last_error


def test_the_bar_advances_as_a_batch_is_delivered_oldest_first(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    batch = [add_item(app, pid, AVA, oid, PENDING, minutes=n) for n, oid in enumerate((RL, W))]
    batch.append(add_item(app, pid, BEN, RL, PENDING, minutes=2))
    with app.app_context(), session_scope(app) as db:
        oldest = db.get(WritebackItem, batch[0])
        assert oldest is not None
        oldest.status, oldest.delivered_at = DELIVERED, datetime.now(UTC)
    handle, _ = launch(browser, [INSTRUCTOR])
    assert get(browser, handle, "/status.json").get_json()["batch"]["text"] == "1 of 3 sent"
