"""Dispatch: a real Celery worker on the Redis at 127.0.0.1:6379 runs the deliveries `kick`
sends, with the settings the design relies on; the sweeper leaves live courses alone and takes
over a dead worker's course; without a broker, `kick` delivers on the in-process threads."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from celery.exceptions import DuplicateTaskNameWarning
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.canvas import SyncRun
from lti_app.models.writeback import WritebackItem, WritebackLease
from lti_app.sync.background import TASK_SYNC, start_user_sync
from lti_app.tasks.celery_app import QUEUE, celery_for
from lti_app.tasks.runner import EXTENSION as RUNNER
from lti_app.tasks.runner import runner
from lti_app.writeback import dispatch
from lti_app.writeback.dispatch import TASK_DELIVER, TASK_SWEEP, sweep_expiry
from tests.conftest import close_app, make_app
from tests.writeback.harness import World, world
from tests.writeback.worker_process import (
    celery_worker,
    gate,
    redis_broker,
    wait_for,
    worker_ready,
)

REDIS_DB = 11
DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: publishing fails


def _all_delivered(w: World) -> bool:
    items = w.items()
    return bool(items) and all(i.status == "delivered" for i in items)


def _carrier_results(w: World) -> dict[tuple[str, str, int], float]:
    """(student, outcome, round) -> score of every result Canvas holds on the carriers."""
    rounds = {int(c.canvas_assignment_id or 0): c.round for c in w.carriers()}
    return {
        (str(user), str(outcome), rounds[aid]): score
        for (user, outcome, aid), (score, _) in w.canvas_results().items()
        if aid in rounds
    }


def test_a_real_celery_worker_delivers_what_kick_sends(backend_url: str, tmp_path: Path) -> None:
    broker = redis_broker(REDIS_DB)
    with world(backend_url, celery_broker_url=broker) as w:
        worker = celery_worker(w.app, tmp_path, "wb-kick")
        try:
            name = worker_ready(w.app, "wb-kick", timeout=20)
            # What the running worker uses, asked over the broker (not our own copy).
            inspect = celery_for(w.app).control.inspect(destination=[name], timeout=5)
            conf = (inspect.conf() or {})[name]
            assert conf["task_acks_late"] is True
            assert conf["task_reject_on_worker_lost"] is True
            assert conf["worker_prefetch_multiplier"] == 1
            stats = (inspect.stats() or {})[name]
            assert stats["prefetch_count"] == 1  # one task in hand per (single) child
            assert [q["name"] for q in (inspect.active_queues() or {})[name]] == [QUEUE]

            a, b = w.students[0], w.students[1]
            rl, ri = w.outcomes[0], w.outcomes[1]
            w.score(a, rl, "3")
            w.score(a, ri, "2.5")
            w.score(b, rl, "4")
            w.score(a, rl, "2")  # a's second demonstration of rl: round 2
            started = time.monotonic()
            dispatch.kick(w.app, w.platform_id, w.course)
            wait_for(lambda: _all_delivered(w), 30, "the worker to deliver", step=0.1)
            elapsed = time.monotonic() - started

            assert _carrier_results(w) == {
                (a, rl, 1): 3.0,
                (a, ri, 1): 2.5,
                (b, rl, 1): 4.0,
                (a, rl, 2): 2.0,
            }
            assert [c.round for c in w.carriers()] == [1, 2]
            assert w.trap_fired() == 0
            # The worker logs "succeeded" after the task returns, which can be after the
            # database shows the items delivered: wait for the line (bounded).
            wait_for(
                lambda: (
                    f"Task {TASK_DELIVER}[" in worker.output() and "succeeded" in worker.output()
                ),
                10,
                "the worker to log the task as succeeded",
                step=0.1,
            )
            print(f"celery kick -> delivered (4 items, 2 rounds): {elapsed:.2f}s")
        finally:
            worker.stop()


def test_with_celery_configured_a_course_sync_runs_on_the_worker(tmp_path: Path) -> None:
    """One seam for background work: Sync now goes to the broker like a delivery does."""
    broker = redis_broker(REDIS_DB)
    with world(celery_broker_url=broker) as w:
        worker = celery_worker(w.app, tmp_path, "sync-run")
        try:
            worker_ready(w.app, "sync-run", timeout=20)
            with w.app.app_context():
                run_id, created = start_user_sync(w.app, w.platform_id, w.course, w.teacher)
            assert created

            def finished() -> bool:
                with session_scope(w.app) as db:
                    run = db.get(SyncRun, run_id)
                    return run is not None and run.status in ("succeeded", "failed")

            wait_for(finished, 60, "the worker to run the sync", step=0.2)
            with session_scope(w.app) as db:
                run = db.get(SyncRun, run_id)
                assert run is not None and run.status == "succeeded", run and run.error_message
            assert RUNNER not in w.app.extensions  # nothing ran on the app's own threads
            wait_for(
                lambda: f"Task {TASK_SYNC}[" in worker.output() and "succeeded" in worker.output(),
                10,
                "the worker to log the sync task as succeeded",
                step=0.1,
            )
        finally:
            worker.stop()


def test_a_sync_runs_in_process_when_the_broker_is_down() -> None:
    """Sync now with the broker unreachable still syncs (on the app's threads)."""
    with world(celery_broker_url=DEAD_BROKER) as w:
        with w.app.app_context():
            run_id, created = start_user_sync(w.app, w.platform_id, w.course, w.teacher)
        assert created
        assert runner(w.app).wait_idle(timeout=60)
        with session_scope(w.app) as db:
            run = db.get(SyncRun, run_id)
            assert run is not None and run.status == "succeeded", run and run.error_message


def _age_lease(w: World, holder: str, expires_at: datetime) -> None:
    with session_scope(w.app) as db:
        lease = db.get(WritebackLease, (w.platform_id, w.course))
        if lease is None:
            db.add(
                WritebackLease(
                    platform_id=w.platform_id,
                    canvas_course_id=w.course,
                    holder=holder,
                    expires_at=expires_at,
                )
            )
        else:
            lease.holder, lease.expires_at = holder, expires_at


def test_the_sweeper_leaves_a_live_course_alone_and_takes_over_a_dead_workers_course() -> None:
    with world(writeback_sweep_seconds=0.2) as w:
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[0], "2")
        now = datetime.now(UTC)
        sent: list[tuple[int, str]] = []

        def record(pid: int, course: str) -> None:
            sent.append((pid, course))

        # A live worker holds the course: every sweep leaves it to that worker.
        _age_lease(w, "alive-worker", now + timedelta(seconds=60))
        assert [dispatch.sweep(w.app, record) for _ in range(3)] == [0, 0, 0]
        assert sent == []

        # Its items are not due yet (a backoff): nothing to send either.
        _age_lease(w, "dead-worker", now - timedelta(seconds=1))
        with session_scope(w.app) as db:
            for item in db.scalars(select(WritebackItem)):
                item.next_attempt_at = now + timedelta(seconds=60)
        assert dispatch.sweep(w.app, record) == 0

        # The worker died (its lease expired) and the items are due: the course is sent once
        # per sweep.
        with session_scope(w.app) as db:
            for item in db.scalars(select(WritebackItem)):
                item.next_attempt_at = now - timedelta(seconds=1)
        assert dispatch.sweep(w.app, record) == 1
        assert sent == [(w.platform_id, w.course)]

        # The in-process sweeper thread does it by itself and the delivery takes the lease over.
        dispatch.start_sweeper(w.app)
        try:
            wait_for(lambda: _all_delivered(w), 20, "the sweeper's delivery", step=0.1)
        finally:
            dispatch.stop_sweeper(w.app)
        assert w.app.extensions.get(dispatch.SWEEPER) is None
        with session_scope(w.app) as db:
            assert db.get(WritebackLease, (w.platform_id, w.course)) is None  # released
        assert set(_carrier_results(w).values()) == {3.0, 2.0}


def test_kick_without_a_broker_delivers_on_the_in_process_threads() -> None:
    with world() as w:
        assert not dispatch.uses_celery(w.app)
        w.score(w.students[2], w.outcomes[2], "3.5")
        dispatch.kick(w.app, w.platform_id, w.course)
        assert runner(w.app).wait_idle(timeout=30)
        assert _all_delivered(w)
        assert _carrier_results(w) == {(w.students[2], w.outcomes[2], 1): 3.5}
        # Testing apps do not start the sweeper thread on a kick (tests start it themselves).
        assert w.app.extensions.get(dispatch.SWEEPER) is None


# A Kubernetes pod name (deployment, replica-set hash, pod suffix), as a district runs workers.
POD_NAME = "mastery-pathways-worker-6d4cf56db6-tmq8z"


def test_a_worker_on_a_host_with_a_long_name_can_take_a_course_lease(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with world(postgres_url) as w:
        w.score(w.students[3], w.outcomes[3], "3")
        monkeypatch.setattr(socket, "gethostname", lambda: POD_NAME)
        assert w.deliver().delivered == 1


def test_a_task_whose_pool_process_dies_goes_back_to_the_queue(tmp_path: Path) -> None:
    """reject_on_worker_lost at work: the pool process running a delivery is SIGKILLed while
    Canvas handles its bulk write; the same task is handed out again (not acknowledged and
    lost), and the sweeper finishes the course once the dead process's lease expired."""
    broker = redis_broker(REDIS_DB)
    with world(celery_broker_url=broker, writeback_lease_seconds=2) as w:
        w.sb.knobs(result_delay_ms=1000)
        for student in w.students[:3]:
            w.score(student, w.outcomes[4], "2")
        worker = celery_worker(w.app, tmp_path, "wb-lost")
        try:
            worker_ready(w.app, "wb-lost", timeout=20)
            with gate(w.sb.app, "POST", r"/submissions/update_grades$") as held:
                dispatch.kick(w.app, w.platform_id, w.course)
                assert held.reached.wait(timeout=20), worker.output()
                [child] = worker.children()
                os.kill(child, signal.SIGKILL)
                held.release.set()
                assert held.handled.wait(timeout=10)

            def received() -> list[str]:
                return re.findall(
                    rf"Task {re.escape(TASK_DELIVER)}\[([0-9a-f-]+)\] received", worker.output()
                )

            wait_for(lambda: len(received()) == 2, 20, "the task to be handed out again")
            first, again = received()
            assert first == again
            assert "WorkerLostError" in worker.output()
            assert worker.proc.poll() is None  # the worker itself lives on, with a new child
            # Nothing is lost: sweeping (what beat does) re-sends the course once its lease
            # is free, and never while it is held.
            started = time.monotonic()

            def swept_and_done() -> bool:
                dispatch.sweep(w.app)
                return _all_delivered(w)

            wait_for(swept_and_done, 30, "the sweep to finish the course", step=0.5)
            print(f"pool process killed: swept and delivered in {time.monotonic() - started:.2f}s")
        finally:
            worker.stop()
        assert set(_carrier_results(w).values()) == {2.0} and len(_carrier_results(w)) == 3
        assert w.trap_fired() == 0


def test_a_kick_while_the_broker_is_down_leaves_the_item_for_the_sweeper() -> None:
    with world(celery_broker_url=DEAD_BROKER) as w:
        w.score(w.students[5], w.outcomes[5], "3")
        started = time.monotonic()
        dispatch.kick(w.app, w.platform_id, w.course)  # logs and returns; never raises
        took = time.monotonic() - started
        assert took < 10, took
        [item] = w.items()
        assert item.status == "pending"
        sent: list[tuple[int, str]] = []
        assert dispatch.sweep(w.app, lambda pid, course: sent.append((pid, course))) == 1
        assert sent == [(w.platform_id, w.course)]
        print(f"kick with the broker down returned in {took:.2f}s")


def test_the_celery_sweep_sends_due_courses_with_an_expiry_and_kick_without(
    tmp_path: Path,
) -> None:
    import redis

    broker = redis_broker(REDIS_DB)
    # Another app's Celery made first in this process: its tasks must not stand in for ours.
    other = make_app(f"sqlite:///{tmp_path / 'other.sqlite3'}", tmp_path, celery_broker_url=broker)
    assert celery_for(other).tasks[TASK_SWEEP]() == 0
    close_app(other)
    with world(celery_broker_url=broker) as w:
        w.score(w.students[6], w.outcomes[6], "3")
        celery = celery_for(w.app)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DuplicateTaskNameWarning)
            sweep_task = celery.tasks[TASK_SWEEP]  # registers the tasks: ours, and only ours
        dispatch.kick(w.app, w.platform_id, w.course)
        before = datetime.now(UTC)
        assert sweep_task() == 1  # the task beat runs, here in the test process
        queued = redis.Redis.from_url(broker).lrange(QUEUE, 0, -1)
        headers = [json.loads(raw)["headers"] for raw in queued]
        assert sorted(h["task"] for h in headers) == [TASK_DELIVER, TASK_DELIVER]
        kicked, swept = sorted(headers, key=lambda h: h["expires"] is not None)
        assert kicked["expires"] is None  # a kick is never dropped
        expires = datetime.fromisoformat(swept["expires"])
        wanted = sweep_expiry(w.app.extensions["mp_services"].settings.writeback_sweep_seconds)
        assert abs((expires - before).total_seconds() - wanted) < 5
        schedule = celery.conf.beat_schedule[TASK_SWEEP]
        assert schedule["task"] == TASK_SWEEP and schedule["options"]["expires"] == wanted
