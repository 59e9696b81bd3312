"""Write-back invariants against the Canvas sandbox: every row a student already has on a carrier
is sent again with a new one, nothing is written when Canvas already holds the value, the
teacher's own rubric results are never touched, and one course is delivered by one worker.

The helpers here (what Canvas holds, request counts, ``assert_delivered_exactly``) are shared
with test_faults.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from canvas_sandbox.results import materialize
from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.connection import user_client_factory
from lti_app.db import session_scope
from lti_app.models.writeback import PENDING, WritebackItem, WritebackLease
from lti_app.writeback.carriers import MARKER_PREFIX
from lti_app.writeback.delivery import DeliveryReport
from tests.writeback.harness import World, world

# Sandbox request counters (``w.sb.stats()["by_endpoint"]``) of the calls that change Canvas.
CREATE_ASSIGNMENT = "POST /api/v1/courses/<course_ref>/assignments"
CREATE_RUBRIC = "POST /api/v1/courses/<course_ref>/rubrics"
UPDATE_RUBRIC = "PUT /api/v1/courses/<course_ref>/rubrics/<rubric_ref>"
ASSOCIATE = "POST /api/v1/courses/<course_ref>/rubric_associations"
BULK_GRADES = (
    "POST /api/v1/courses/<course_ref>/assignments/<assignment_ref>/submissions/update_grades"
)
ASSESS_ONE = "PUT /api/v1/courses/<course_ref>/assignments/<assignment_ref>/submissions/<user_ref>"
WRITES = (CREATE_ASSIGNMENT, CREATE_RUBRIC, UPDATE_RUBRIC, ASSOCIATE, BULK_GRADES, ASSESS_ONE)


def writes(w: World) -> dict[str, int]:
    by_endpoint: dict[str, int] = w.sb.stats()["by_endpoint"]
    return {name: by_endpoint.get(name, 0) for name in WRITES}


def grade_writes(w: World) -> int:
    counts = writes(w)
    return counts[BULK_GRADES] + counts[ASSESS_ONE]


# --- what Canvas (the sandbox's own state) holds --------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """Everything Canvas held before the tool wrote: results (with ids) and assessments."""

    results: dict[tuple[int, int, int], tuple[float, int]]
    assessments: dict[int, tuple[int, int, dict[str, float | None]]]


def seeded(w: World) -> Seeded:
    state = w.sb.state
    materialize(state)
    with state.lock:
        assessments = {
            a.id: (a.rubric_association_id, a.user_id, {c: r.points for c, r in a.data.items()})
            for a in state.assessments.values()
        }
    return Seeded(w.canvas_results(), assessments)


def carrier_assignments(w: World) -> dict[int, str]:
    """The tool's carriers as Canvas has them (found by the marker): assignment id -> name."""
    state = w.sb.state
    with state.lock:
        return {
            a.id: a.name
            for a in state.assignments.values()
            if a.course_id == int(w.course)
            and a.workflow_state != "deleted"
            and MARKER_PREFIX in (a.description or "")
        }


def grading_associations(w: World, assignment_id: int) -> list[int]:
    state = w.sb.state
    with state.lock:
        return [
            a.id
            for a in state.rubric_associations.values()
            if a.association_type == "Assignment"
            and a.association_id == assignment_id
            and a.purpose == "grading"
            and a.workflow_state == "active"
        ]


def assessment_rows(w: World, assignment_id: int, user: str) -> dict[int, float | None]:
    """The student's rubric assessment on the assignment: outcome id -> points of each row."""
    state = w.sb.state
    [assoc] = grading_associations(w, assignment_id)
    with state.lock:
        rubric = state.rubrics[state.rubric_associations[assoc].rubric_id]
        outcome_of = {c.id: c.learning_outcome_id for c in rubric.criteria}
        for a in state.assessments.values():
            if a.rubric_association_id == assoc and a.user_id == int(user):
                return {
                    int(outcome_of[c] or 0): r.points for c, r in a.data.items() if c in outcome_of
                }
    return {}


def carrier_of_round(w: World, round_: int) -> int:
    [carrier] = [c for c in w.carriers() if c.round == round_]
    assert carrier.canvas_assignment_id is not None
    return int(carrier.canvas_assignment_id)


def assert_delivered_exactly(w: World, before: Seeded) -> None:
    """Every item delivered; Canvas holds exactly each item's score on its round's carrier, one
    carrier per round (no twins), each with one grading association; the trap never fired; and
    everything Canvas held before (results with their ids, assessments) is unchanged."""
    items = w.items()
    assert [(i.id, i.status, i.last_error) for i in items if i.status != "delivered"] == []
    in_canvas = carrier_assignments(w)
    by_id = {c.id: c for c in w.carriers()}
    assert sorted(in_canvas) == sorted(int(c.canvas_assignment_id or 0) for c in by_id.values())
    assert len({c.round for c in by_id.values()}) == len(in_canvas)  # one carrier per round
    for assignment_id in in_canvas:
        assert len(grading_associations(w, assignment_id)) == 1
    assert w.trap_fired() == 0
    held = w.canvas_results()
    on_carriers = {k: v[0] for k, v in held.items() if k[2] in in_canvas}
    assert on_carriers == {
        (
            int(i.canvas_user_id),
            int(i.canvas_outcome_id),
            int(by_id[i.carrier_id or 0].canvas_assignment_id or 0),
        ): i.points
        for i in items
    }
    assert {k: v for k, v in held.items() if k[2] not in in_canvas} == before.results
    after = seeded(w)
    assert {k: after.assessments[k] for k in before.assessments} == before.assessments


# --- delivering with a hooked client ----------------------------------------------------------


def hooked_client_for(
    w: World,
    hooks: dict[str, Callable[[Any], None]] | None = None,
    made: list[CanvasClient] | None = None,
    **client_options: Any,
) -> Callable[[str], CanvasClient]:
    """The tool's own client for the teacher, with ``hooks[name](result)`` run after the real
    ``name`` call returned (a hook that raises is a failure right after Canvas did the work)."""
    services = w.app.extensions["mp_services"]

    def make(teacher: str) -> CanvasClient:
        client = user_client_factory(w.app, services, w.platform_id, teacher)
        for option, value in client_options.items():
            setattr(client, option, value)
        for name, hook in (hooks or {}).items():
            real = getattr(client, name)

            def wrapped(*a: Any, _real: Any = real, _hook: Any = hook, **kw: Any) -> Any:
                result = _real(*a, **kw)
                _hook(result)
                return result

            setattr(client, name, wrapped)
        if made is not None:
            made.append(client)
        return client

    return make


def make_due_now(w: World) -> None:
    """Skip the backoff wait of pending items (the tests do not sleep through it)."""
    with session_scope(w.app) as db:
        db.execute(
            update(WritebackItem)
            .where(WritebackItem.status == PENDING)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


# --- the tests ------------------------------------------------------------------------------


def test_a_new_row_is_sent_with_every_row_the_student_already_has_on_the_carrier() -> None:
    with world() as w:
        student, other = w.students[0], w.students[1]
        a, b, c = (int(o) for o in w.outcomes[:3])
        before = seeded(w)
        w.score(student, str(a), "3")
        w.score(other, str(a), "2")
        assert w.deliver().delivered == 2
        carrier = carrier_of_round(w, 1)
        first = w.canvas_results()[(int(student), a, carrier)]

        # B and then C on round 1 for the same student: one write each, A's row kept.
        w.score(student, str(b), "4")
        assert w.deliver().delivered == 1
        w.score(student, str(c), "2.5")
        assert w.deliver().delivered == 1
        assert assessment_rows(w, carrier, student) == {a: 3.0, b: 4.0, c: 2.5}
        assert assessment_rows(w, carrier, other) == {a: 2.0}
        assert w.canvas_results()[(int(student), a, carrier)] == first  # same value, same id
        assert [c.round for c in w.carriers()] == [1]
        assert_delivered_exactly(w, before)


def test_nothing_is_written_when_canvas_already_holds_the_value() -> None:
    with world() as w:
        s1, s2 = w.students[2], w.students[3]
        w.score(s1, w.outcomes[0], "3")
        w.score(s2, w.outcomes[0], "4")
        w.score(s2, w.outcomes[1], "1")
        assert w.deliver().delivered == 3
        sent = writes(w)
        # As if a worker died after Canvas wrote but before the rows were marked delivered.
        with session_scope(w.app) as db:
            db.execute(update(WritebackItem).values(status=PENDING, delivered_at=None))
        report = w.deliver()
        [one] = report.passes[:1]
        assert (one.due, one.already_there, one.written, report.delivered) == (3, 3, 0, 3)
        assert writes(w) == sent
        assert all(i.status == "delivered" for i in w.items())


def test_the_teachers_own_rubric_results_and_assessments_are_untouched() -> None:
    with world() as w:
        before = seeded(w)
        # The seeded course's own rubric assignments hold results for these students.
        assert {k[0] for k in before.results} & {int(s) for s in w.students[:4]}
        for s, level in zip(w.students[:4], ("1", "2", "3", "4"), strict=True):
            for outcome in w.outcomes[:2]:
                w.score(s, outcome, level)
        w.score(w.students[0], w.outcomes[0], "4")  # round 2
        assert w.deliver().delivered == 9
        assert_delivered_exactly(w, before)


def test_a_row_canvas_holds_for_an_item_that_gave_up_is_kept_when_the_next_row_is_written() -> None:
    with world(writeback_verify_seconds=0.3, writeback_max_attempts=1) as w:
        student = w.students[4]
        a, b = (int(o) for o in w.outcomes[:2])
        w.sb.knobs(result_delay_ms=800)
        w.score(student, str(a), "3")
        w.deliver()
        [late] = w.items()
        assert late.status == "failed" and "not shown the result yet" in (late.last_error or "")
        carrier = carrier_of_round(w, 1)
        w.sb.knobs(result_delay_ms=0)
        key = (int(student), a, carrier)
        for _ in range(30):  # Canvas's result job runs a moment later
            if key in w.canvas_results():
                break
            time.sleep(0.1)
        assert w.canvas_results()[key][0] == 3.0
        assert assessment_rows(w, carrier, student) == {a: 3.0}

        w.score(student, str(b), "4")
        w.deliver()
        # A's rating is still on the student's carrier assessment (docs/canvas.md §3.5: omitted rows
        # lose it).
        assert assessment_rows(w, carrier, student) == {a: 3.0, b: 4.0}


def _two_deliveries_at_once(w: World) -> tuple[DeliveryReport, DeliveryReport]:
    """The first delivery holds the lease (paused right after it created the carrier) while the
    second one starts; each bounded wait fails the test instead of hanging it."""
    inside, go_on = threading.Event(), threading.Event()

    def pause(_result: Any) -> None:
        if not inside.is_set():
            inside.set()
            assert go_on.wait(10)

    box: dict[str, DeliveryReport] = {}

    def first() -> None:
        box["first"] = w.deliver(client_for=hooked_client_for(w, {"create_assignment": pause}))

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(10)
        second = w.deliver()
    finally:
        go_on.set()
        thread.join(30)
    assert not thread.is_alive()
    return box["first"], second


def test_two_deliveries_of_one_course_at_once_one_runs_and_the_other_is_busy(
    backend_url: str,
) -> None:
    with world(backend_url) as w:
        before = seeded(w)
        for s in w.students[:3]:
            w.score(s, w.outcomes[0], "3")
        first, second = _two_deliveries_at_once(w)
        assert second.busy and second.passes == [] and second.requests == 0
        assert not first.busy and first.delivered == 3
        assert writes(w)[BULK_GRADES] == 1 and writes(w)[ASSESS_ONE] == 0
        assert writes(w)[CREATE_ASSIGNMENT] == 1 and writes(w)[CREATE_RUBRIC] == 1
        assert_delivered_exactly(w, before)

        # Racing for real: whoever loses either finds the lease taken or nothing left to do.
        for s in w.students[3:6]:
            w.score(s, w.outcomes[1], "2")
        barrier = threading.Barrier(2, timeout=10)
        reports: list[DeliveryReport] = []

        def race() -> None:
            barrier.wait()
            reports.append(w.deliver())

        threads = [threading.Thread(target=race) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert len(reports) == 2
        assert sum(r.delivered for r in reports) == 3
        assert sum(1 for r in reports if r.busy or r.delivered == 0) == 1
        assert writes(w)[BULK_GRADES] == 2
        assert_delivered_exactly(w, before)


def test_a_dead_workers_lease_blocks_the_course_until_it_expires() -> None:
    with world() as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        with session_scope(w.app) as db:
            db.add(
                WritebackLease(
                    platform_id=w.platform_id,
                    canvas_course_id=w.course,
                    holder="dead-worker",
                    expires_at=datetime.now(UTC) + timedelta(seconds=60),
                )
            )
        sent = w.sb.stats()["total"]
        assert w.deliver().busy
        assert w.sb.stats()["total"] == sent
        with session_scope(w.app) as db:
            db.execute(
                update(WritebackLease).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        report = w.deliver()
        assert not report.busy and report.delivered == 1
        assert_delivered_exactly(w, before)
