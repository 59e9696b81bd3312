"""Crash recovery: the delivering process is SIGKILLed in the middle of a delivery (while Canvas
handles one of its requests, or while it reads its results back) and a new one takes over:
Canvas ends up holding exactly the intended results, once, on one carrier per round, with
nothing destroyed and the teacher's own results untouched.

Under Celery (a real worker with its beat sweeper on Redis) the restarted worker's sweeper
takes the course over once the dead worker's lease expires; in the in-process mode (a process
running ``deliver_course``) the next delivery does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest

from canvas_sandbox.results import materialize
from lti_app.writeback import dispatch
from lti_app.writeback.carriers import MARKER_PREFIX
from tests.writeback.harness import World, world
from tests.writeback.worker_process import (
    Gate,
    Worker,
    celery_worker,
    delivery_process,
    gate,
    redis_broker,
    wait_for,
)

REDIS_DB = 12
# Short lease: the restarted worker takes the dead one's course over within seconds.
LEASE: dict[str, Any] = {"writeback_lease_seconds": 2, "writeback_sweep_seconds": 0.5}
# Results appear this long after Canvas accepted an assessment (its job), so a worker spends
# a while reading back: the window the "read-back" kill aims at.
RESULT_DELAY_MS = 1500

# Where the worker is when it dies: inside one Canvas request (Canvas still carries it out),
# or polling for its results after every write was sent.
REQUESTS = {
    "carrier created": ("POST", r"^/api/v1/courses/\d+/assignments$"),
    "rubric created": ("POST", r"^/api/v1/courses/\d+/rubrics$"),
    "bulk write": ("POST", r"/submissions/update_grades$"),
}
READ_BACK = "read-back"


def _score_many(w: World) -> dict[tuple[str, str, int], float]:
    """Twelve students on two targets (round 1) and four of them again (round 2)."""
    intended: dict[tuple[str, str, int], float] = {}
    levels = ["1", "2", "3", "4"]
    for i, student in enumerate(w.students[:12]):
        for j, outcome in enumerate(w.outcomes[:2]):
            level = levels[(i + j) % 4]
            w.score(student, outcome, level)
            intended[(student, outcome, 1)] = float(level)
    for student in w.students[:4]:
        w.score(student, w.outcomes[0], "3.5")
        intended[(student, w.outcomes[0], 2)] = 3.5
    return intended


def _intended_points(w: World, intended: dict[tuple[str, str, int], float]) -> None:
    """The outbox owes exactly what was scored (the mapping writes district levels as is)."""
    owed = {(i.canvas_user_id, i.canvas_outcome_id, i.round): i.points for i in w.items()}
    assert owed == intended


def _assert_exactly_once(
    w: World,
    intended: dict[tuple[str, str, int], float],
    seeded: dict[tuple[int, int, int], tuple[float, int]],
) -> None:
    assert all(i.status == "delivered" for i in w.items()), [
        (i.id, i.status, i.last_error) for i in w.items() if i.status != "delivered"
    ]
    state = w.sb.state
    course = int(w.course)
    materialize(state)
    with state.lock:
        carriers = [
            a
            for a in state.assignments.values()
            if a.course_id == course and MARKER_PREFIX in a.description
        ]
        grading = Counter(
            a.association_id
            for a in state.rubric_associations.values()
            if a.association_type == "Assignment"
            and a.purpose == "grading"
            and a.workflow_state == "active"
        )
        results = [r for r in state.results.values() if r.course_id == course]
    # One carrier assignment per round in Canvas (no twin made by the restart), each with
    # one grading association, and the tool's rows name exactly those.
    assert sorted(a.name for a in carriers) == [
        "Mastery Pathways evidence, round 1",
        "Mastery Pathways evidence, round 2",
    ]
    assert all(grading[a.id] == 1 for a in carriers)
    rows = w.carriers()
    assert sorted(int(c.canvas_assignment_id or 0) for c in rows) == sorted(a.id for a in carriers)
    round_of = {int(c.canvas_assignment_id or 0): c.round for c in rows}
    on_carriers = [r for r in results if r.assignment_id in round_of]
    slots = Counter(
        (str(r.user_id), str(r.outcome_id), round_of[r.assignment_id]) for r in on_carriers
    )
    assert set(slots.values()) == {1}
    assert {
        (str(r.user_id), str(r.outcome_id), round_of[r.assignment_id]): r.score for r in on_carriers
    } == intended
    assert w.trap_fired() == 0
    # The teacher's own rubric results (the seed) are exactly as they were.
    now = {
        (r.user_id, r.outcome_id, r.assignment_id): (r.score, r.id)
        for r in results
        if r.assignment_id not in round_of
    }
    assert now == seeded


def _pending(w: World) -> int:
    return sum(1 for i in w.items() if i.status == "pending")


def _all_written(w: World) -> bool:
    items = w.items()
    return bool(items) and all(i.written_at is not None for i in items)


@contextmanager
def _kill_point(w: World, moment: str) -> Iterator[Gate | None]:
    if moment == READ_BACK:
        with nullcontext() as nothing:
            yield nothing
        return
    method, path = REQUESTS[moment]
    with gate(w.sb.app, method, path) as held:
        yield held


def _kill_mid_delivery(w: World, moment: str, start: Callable[[], Worker]) -> float:
    """Start a delivering process and SIGKILL it at ``moment``; returns when it died."""
    with _kill_point(w, moment) as held:
        worker = start()
        try:
            if held is None:
                wait_for(lambda: _all_written(w), 20, "every write to be sent", step=0.02)
            else:
                assert held.reached.wait(timeout=20), worker.output()
        finally:
            worker.kill()
        died = time.monotonic()
        if held is not None:
            held.release.set()
            assert held.handled.wait(timeout=10)  # Canvas did what the dead worker asked
    assert _pending(w) > 0, "the worker was not killed mid-delivery"
    return died


@pytest.mark.parametrize("moment", ["bulk write", READ_BACK])
def test_a_celery_worker_killed_mid_delivery_and_restarted_delivers_everything_once(
    moment: str, backend_url: str, tmp_path: Path
) -> None:
    broker = redis_broker(REDIS_DB)
    with world(backend_url, celery_broker_url=broker, **LEASE) as w:
        w.sb.knobs(result_delay_ms=RESULT_DELAY_MS)
        seeded = w.canvas_results()
        intended = _score_many(w)
        _intended_points(w, intended)

        def start() -> Worker:
            first = celery_worker(w.app, tmp_path, "wb-first", beat=True)
            dispatch.kick(w.app, w.platform_id, w.course)
            return first

        died = _kill_mid_delivery(w, moment, start)
        second = celery_worker(w.app, tmp_path, "wb-second", beat=True)
        try:
            wait_for(lambda: _pending(w) == 0, 40, "the restarted worker to finish", step=0.1)
            recovered = time.monotonic() - died
        finally:
            second.stop()
        _assert_exactly_once(w, intended, seeded)
        assert "mastery_pathways.writeback.sweep" in second.output()  # its beat swept
        print(f"celery, killed at {moment}: all delivered {recovered:.2f}s after the kill")


@pytest.mark.parametrize("moment", [*REQUESTS, READ_BACK])
def test_an_in_process_delivery_killed_mid_way_is_completed_once_by_the_next_one(
    moment: str, tmp_path: Path
) -> None:
    with world(**LEASE) as w:
        w.sb.knobs(result_delay_ms=RESULT_DELAY_MS)
        seeded = w.canvas_results()
        intended = _score_many(w)
        _intended_points(w, intended)
        died = _kill_mid_delivery(
            w, moment, lambda: delivery_process(w.app, tmp_path, w.platform_id, w.course)
        )
        left = _pending(w)
        # The dead process's lease holds the course until it expires; then one delivery
        # takes over and finishes (bounded: a few lease lengths).
        reports = []
        for _ in range(100):
            report = w.deliver()
            reports.append(report)
            if not report.busy:
                break
            time.sleep(0.1)
        recovered = time.monotonic() - died
        assert reports[0].busy  # no second writer while the dead one's lease was live
        assert not reports[-1].busy and reports[-1].delivered == left
        _assert_exactly_once(w, intended, seeded)
        print(f"in-process, killed at {moment}: all delivered {recovered:.2f}s after the kill")
