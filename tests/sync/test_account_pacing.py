"""One pacing budget per token across workers (docs/canvas.md §11.2), the nightly schedule
under Celery beat, and the nightly job itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from lti_app.canvas.client.tokens import StaticToken
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse, SyncRun
from lti_app.sync import account
from lti_app.sync.cli import platform_for
from lti_app.sync.pacing import RedisBudget, token_key
from lti_app.tasks import jobs
from lti_app.tasks.celery_app import make_celery
from lti_app.tasks.runner import runner
from tests.conftest import close_app, make_app
from tests.sync.sandbox_server import RunningSandbox, running_sandbox
from tests.sync.test_account_sync import _district, assert_all_synced
from tests.writeback.worker_process import redis_broker

REDIS_DB = 14  # 11-13 are other tests' brokers


@pytest.fixture
def broker() -> str:
    return redis_broker(REDIS_DB)


def test_budget_slots_and_state_are_shared_and_name_no_token(broker: str) -> None:
    connection = redis.Redis.from_url(broker)
    token = "7~secret-token-value"
    first, second = RedisBudget(connection, token), RedisBudget(connection, token)
    first.enter(2, time.monotonic() + 1)
    second.enter(2, time.monotonic() + 1)
    started = time.monotonic()
    blocked = threading.Thread(target=lambda: RedisBudget(connection, token).enter(2, started + 5))
    blocked.start()
    time.sleep(0.2)
    assert blocked.is_alive()  # both slots are held (by "other workers")
    first.leave()
    blocked.join(timeout=2)
    assert not blocked.is_alive()
    second.note(120.0, 3.5)
    remaining, age, cost, in_flight = first.view()
    assert (remaining, cost, in_flight) == (120.0, 3.5, 2)
    assert 0 <= age < 1
    keys = [k.decode() if isinstance(k, bytes) else k for k in connection.keys("mp:*")]
    assert sorted(keys) == [
        f"mp:canvas-budget:{token_key(token)}",
        f"mp:canvas-budget:{token_key(token)}:slots",
    ]
    assert not any("secret" in k for k in keys)


def _hammer(sb: RunningSandbox, token: str, budget: Any, workers: int = 25) -> int:
    """Each worker has its own client and lane (as separate processes would) and starts with
    the same read at the same moment; returns how many responses Canvas throttled."""
    from lti_app.canvas.client.client import CanvasClient

    sb.runtime.throttle.reset()
    sb.runtime.stats.reset()
    errors: list[BaseException] = []
    gate = threading.Barrier(workers)

    def work() -> None:
        client = CanvasClient(
            sb.url, StaticToken(token), budget=budget() if budget else None, backoff_base=0.05
        )
        try:
            gate.wait(timeout=10)
            client.course(str(sb.ids.ela_course))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    throttled: int = sb.stats()["throttled"]
    return throttled


def test_workers_on_one_token_pace_together_only_with_the_shared_budget(broker: str) -> None:
    connection = redis.Redis.from_url(broker)
    with running_sandbox() as sb:
        # Canvas's bucket (600): 25 requests at once hold 1,250 units up front.
        sb.knobs(latency_ms=100)
        token = sb.token(sb.ids.admin)
        alone = _hammer(sb, token, None)
        shared = _hammer(sb, token, lambda: RedisBudget(connection, token))
    assert alone >= 5
    assert shared == 0


def test_beat_runs_the_nightly_account_sync_on_its_cron_schedule(
    broker: str, tmp_path: Path
) -> None:
    app = make_app(
        f"sqlite:///{tmp_path / 'a.sqlite3'}",
        tmp_path,
        celery_broker_url=broker,
        sync_account_schedule="30 2 * * *",
        sync_account_canvas_url="https://district.example",
        sync_account_id="1",
    )
    try:
        schedule = make_celery(app).conf.beat_schedule[account.TASK_NIGHTLY]
        assert schedule["task"] == account.TASK_NIGHTLY
        assert schedule["schedule"].hour == {2} and schedule["schedule"].minute == {30}
        with app.app_context():
            platform_id, _ = platform_for("https://district.example")
        account.store_token(app, platform_id, "https://district.example", "1~abc")
        client = account.account_client(app, platform_id)
        assert isinstance(client.budget, RedisBudget)  # Celery on: paced in Redis
    finally:
        close_app(app)


@pytest.fixture
def nightly_world(tmp_path: Path) -> Iterator[tuple[Flask, RunningSandbox, list[int]]]:
    with running_sandbox() as sb:
        courses = _district(sb)
        app = make_app(
            f"sqlite:///{tmp_path / 'n.sqlite3'}",
            tmp_path,
            sync_account_schedule="0 2 * * *",
            sync_account_canvas_url=sb.url,
            sync_account_id=str(sb.ids.account),
        )
        try:
            yield app, sb, courses
        finally:
            close_app(app)


def test_the_nightly_job_syncs_every_course_with_the_stored_token(
    nightly_world: tuple[Flask, RunningSandbox, list[int]],
) -> None:
    app, sb, courses = nightly_world
    job = jobs.registered(app)[account.TASK_NIGHTLY]
    assert job.cron == "0 2 * * *"
    assert job.run(app) == 0  # no Canvas registered for it yet: nothing to do
    with app.app_context():
        platform_id, _ = platform_for(sb.url)
    account.store_token(app, platform_id, sb.url, sb.token(sb.ids.admin))
    assert job.run(app) == len(courses)
    assert runner(app).wait_idle(120)
    with session_scope(app) as db:
        statuses = set(db.scalars(select(SyncRun.status)))
        assert db.scalar(select(func.count()).select_from(CanvasCourse)) == len(courses)
    assert statuses == {"succeeded"}
    assert_all_synced(app, sb, courses)
