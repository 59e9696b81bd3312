"""Write-back under faults, against the Canvas sandbox: 5xx answers, timeouts, throttling and an
access token expiring mid-delivery end with everything delivered exactly once; permanent
failures are shown with a reason, transient ones retry with growing waits; and a worker dying
right after Canvas did something (created the carrier, its rubric, the grades) leaves nothing
the next delivery duplicates or destroys.

Each fault is injected for real: the sandbox's knobs, its own state (tokens), or the tool's
own client raising right after the real call returned (``hooked_client_for``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.errors import CanvasUnavailable
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken, CourseOutcome
from lti_app.models.writeback import FAILED, PENDING, WritebackItem
from lti_app.writeback import carriers, outbox
from lti_app.writeback.delivery import DeliveryReport
from tests.writeback.harness import World, connect_teacher, world
from tests.writeback.test_invariants import (
    ASSESS_ONE,
    BULK_GRADES,
    CREATE_ASSIGNMENT,
    CREATE_RUBRIC,
    UPDATE_RUBRIC,
    assert_delivered_exactly,
    assessment_rows,
    carrier_of_round,
    hooked_client_for,
    make_due_now,
    seeded,
    writes,
)

MAX_ROUNDS = 10


class WorkerDied(BaseException):
    """The worker process ended here (not an ``Exception``: the pass cannot record it)."""


def die(_result: Any) -> None:
    raise WorkerDied


def score_some(w: World) -> None:
    """Three students on two targets (a bulk write on round 1), one reassessment (round 2,
    a single-student write)."""
    s1, s2, s3 = w.students[:3]
    t1, t2 = w.outcomes[:2]
    w.score(s1, t1, "3")
    w.score(s1, t2, "2")
    w.score(s2, t1, "4")
    w.score(s3, t2, "1.5")
    w.score(s1, t1, "4")


def pending(w: World) -> list[WritebackItem]:
    return [i for i in w.items() if i.status == PENDING]


def drain(
    w: World,
    client_for: Callable[[str], CanvasClient] | None = None,
    settle: float = 0.0,
) -> list[DeliveryReport]:
    """Deliver until nothing is pending (at most MAX_ROUNDS), skipping the backoff waits;
    ``settle`` lets requests Canvas is still working on finish before the next round."""
    reports = []
    for _ in range(MAX_ROUNDS):
        reports.append(w.deliver(client_for=client_for))
        if not pending(w):
            break
        time.sleep(settle)
        make_due_now(w)
    assert pending(w) == [], [(r.passes, r.busy) for r in reports]
    return reports


# --- 1. faults during delivery ----------------------------------------------------------------

# Short sandbox stalls and client backoff keep each fault test to a few seconds. The seeds are
# ones whose faults hit the writes that are never retried in the client (the POSTs), so the
# delivery itself has to recover, not only the client's retries of reads.
FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"error_rate": 0.3, "fault_seed": 3},
    "504": {"timeout_rate": 0.3, "timeout_mode": "504", "timeout_sleep_s": 0.05, "fault_seed": 4},
    # Stalls past the client's 0.5 s read timeout, then Canvas does the work anyway (seed 8:
    # a rubric POST and a bulk grading POST among them).
    "hang": {"timeout_rate": 0.3, "timeout_mode": "hang", "timeout_sleep_s": 0.7, "fault_seed": 8},
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_during_delivery_end_with_everything_delivered_once(
    fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The retry wait (5 s) is longer than any stall, as in production (30 s vs a 10 s timeout):
    # a request Canvas finishes after the client gave up is done before the next attempt
    # (test_a_post_canvas_finishes_late_... covers the other order). A carrier POST that failed
    # is only looked for, not sent again, for the grace period: short here, as the test skips
    # the retry waits.
    monkeypatch.setattr(carriers, "POST_GRACE", timedelta(seconds=0.3))
    with world(writeback_retry_seconds=5) as w:
        before = seeded(w)
        score_some(w)
        knobs = FAULTS[fault]
        w.sb.knobs(**knobs)
        client_for = hooked_client_for(w, backoff_base=0.05)
        reports = drain(w, client_for, settle=float(knobs.get("timeout_sleep_s", 0)) + 0.35)
        w.sb.knobs(error_rate=0.0, timeout_rate=0.0)
        stats = w.sb.stats()
        assert stats["injected_errors"] + stats["injected_timeouts"] > 0
        assert sum(p.retrying for r in reports for p in r.passes) > 0  # a pass had to retry
        assert_delivered_exactly(w, before)
        assert sum(r.delivered for r in reports) == 5


@pytest.mark.parametrize("status", [403, 429])
def test_throttling_during_delivery_ends_with_everything_delivered_once(status: int) -> None:
    with world(writeback_retry_seconds=5) as w:
        before = seeded(w)
        score_some(w)
        # A small bucket the tool's own sequential requests overflow (each costs 40 of 100).
        w.sb.knobs(
            bucket_high_water=100,
            upfront_cost=50,
            request_cost=40,
            row_cost=0,
            bucket_outflow=100,
            throttle_status=status,
        )
        # No pacing ahead of the bucket (as when another app spends the same token's bucket)
        # and a short client backoff, so the throttled answers themselves are what is handled
        # (long enough for the bucket to drain within the client's retries on a busy machine).
        made: list[CanvasClient] = []
        client_for = hooked_client_for(w, made=made, pace_below=0.0, backoff_base=0.3)
        drain(w, client_for=client_for)
        w.sb.knobs(throttle_enabled=False)
        assert w.sb.stats()["throttled"] > 0
        assert sum(c.stats.snapshot().get("throttled", 0) for c in made) > 0
        assert_delivered_exactly(w, before)


def test_an_access_token_expiring_mid_delivery_is_refreshed_once() -> None:
    with world() as w:
        before = seeded(w)
        score_some(w)
        state = w.sb.state
        expired: list[bool] = []

        def expire(_result: Any) -> None:
            # Once, after the first rubric: Canvas stops accepting the token before its stated
            # expiry (revoked early, clock skew).
            if expired:
                return
            expired.append(True)
            with state.lock:
                for t in state.access_tokens.values():
                    if t.refresh_hash and t.user_id == int(w.teacher):
                        t.expires_at = state.now() - timedelta(seconds=1)

        with session_scope(w.app) as db:
            stored = db.scalars(select(CanvasApiToken)).one().access_token_encrypted
        made: list[CanvasClient] = []
        reports = drain(w, hooked_client_for(w, {"create_rubric": expire}, made=made))
        assert sum(r.delivered for r in reports) == 5
        assert sum(c.stats.snapshot().get("refreshes", 0) for c in made) == 1
        with session_scope(w.app) as db:
            assert db.scalars(select(CanvasApiToken)).one().access_token_encrypted != stored
        assert_delivered_exactly(w, before)

        # The refreshed token was kept: the next delivery needs no refresh.
        w.score(w.students[3], w.outcomes[0], "2")
        made.clear()
        assert w.deliver(client_for=hooked_client_for(w, made=made)).delivered == 1
        assert sum(c.stats.snapshot().get("refreshes", 0) for c in made) == 0
        assert_delivered_exactly(w, before)


# --- 2. permanent and transient failures ------------------------------------------------------


def statuses(w: World) -> list[tuple[str, int, str | None]]:
    return [(i.status, i.attempts, i.last_error) for i in w.items()]


def retry_all(w: World) -> int:
    with session_scope(w.app) as db:
        return outbox.retry(db, w.platform_id, w.course)


def test_a_revoked_token_fails_at_once_with_the_reason_and_reconnecting_then_retry_delivers() -> (
    None
):
    with world() as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[0], "2")
        state = w.sb.state
        with state.lock:  # the teacher revoked the tool's access in Canvas
            for t in state.access_tokens.values():
                if t.refresh_hash and t.user_id == int(w.teacher):
                    t.revoked = True
                    state.refresh_tokens.pop(t.refresh_hash, None)
        report = w.deliver()
        assert report.passes[0].failed == 2
        for status, attempts, reason in statuses(w):
            assert (status, attempts) == (FAILED, 1)
            assert "Reconnect to Canvas" in (reason or "")
        assert w.deliver().requests == 0  # failed items are not retried on their own

        connect_teacher(w.app, w.sb, int(w.teacher))
        assert retry_all(w) == 2
        assert w.deliver().delivered == 2
        assert_delivered_exactly(w, before)


def test_a_teacher_not_connected_fails_with_the_reason_and_a_retry_after_connecting_delivers() -> (
    None
):
    with world() as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[1], "4")
        with session_scope(w.app) as db:
            db.execute(delete(CanvasApiToken))
        sent = w.sb.stats()["total"]
        w.deliver()
        [(status, attempts, reason)] = statuses(w)
        assert (status, attempts) == (FAILED, 1)
        assert "connected to Canvas" in (reason or "")
        assert w.sb.stats()["total"] == sent  # nothing was sent without a connection

        connect_teacher(w.app, w.sb, int(w.teacher))
        assert retry_all(w) == 1
        assert w.deliver().delivered == 1
        assert_delivered_exactly(w, before)


def test_a_target_removed_from_the_course_fails_alone_and_the_others_are_delivered() -> None:
    with world() as w:
        gone, kept = w.outcomes[0], w.outcomes[1]
        w.score(w.students[0], gone, "3")
        w.score(w.students[0], kept, "2")
        with session_scope(w.app) as db:  # what a sync does once the outcome is unlinked
            db.execute(delete(CourseOutcome).where(CourseOutcome.canvas_outcome_id == gone))
        w.deliver()
        by_outcome = {i.canvas_outcome_id: (i.status, i.attempts, i.last_error) for i in w.items()}
        assert by_outcome[kept] == ("delivered", 0, None)
        status, attempts, reason = by_outcome[gone]
        assert (status, attempts) == (FAILED, 1)
        assert "no longer in the course" in (reason or "")
        carrier = carrier_of_round(w, 1)
        held = w.canvas_results()
        assert (int(w.students[0]), int(gone), carrier) not in held
        assert held[(int(w.students[0]), int(kept), carrier)][0] == 2.0


def test_transient_failures_back_off_longer_each_time_then_fail_and_a_retry_delivers() -> None:
    base = 2.0
    with world(writeback_max_attempts=3, writeback_retry_seconds=base) as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[0], "1")
        w.sb.knobs(error_rate=1.0)
        client_for = hooked_client_for(w, backoff_base=0.01)
        waits = []
        for attempt in (1, 2):
            started = datetime.now(UTC)
            report = w.deliver(client_for=client_for)
            assert report.passes[0].retrying == 2
            assert report.passes[-1].due == 0  # not due again before its wait is over
            items = w.items()
            assert {(i.status, i.attempts) for i in items} == {(PENDING, attempt)}
            assert {i.last_error for i in items} == {
                "Canvas did not answer reliably; the tool will try again."
            }
            waits.append(min(i.next_attempt_at for i in items) - started)
            make_due_now(w)
        assert timedelta(seconds=base * 0.9) <= waits[0] <= timedelta(seconds=base * 1.5)
        assert waits[1] >= waits[0] + timedelta(seconds=base * 0.9)  # the wait doubled
        w.deliver(client_for=client_for)
        assert {(s, a) for s, a, _ in statuses(w)} == {(FAILED, 3)}
        assert w.deliver(client_for=client_for).requests == 0

        w.sb.knobs(error_rate=0.0)
        assert retry_all(w) == 2
        assert {(s, a, e) for s, a, e in statuses(w)} == {(PENDING, 0, None)}
        assert w.deliver().delivered == 2
        assert_delivered_exactly(w, before)


# --- 3. a worker dying right after Canvas did something ---------------------------------------


def test_a_worker_dying_after_creating_the_carrier_leaves_no_twin(backend_url: str) -> None:
    with world(backend_url) as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[0], "4")
        with pytest.raises(WorkerDied):
            w.deliver(client_for=hooked_client_for(w, {"create_assignment": die}))
        [carrier] = w.carriers()
        assert carrier.canvas_assignment_id is None  # Canvas has it; the tool never saved it
        assert writes(w)[CREATE_ASSIGNMENT] == 1

        assert w.deliver().delivered == 2
        assert writes(w)[CREATE_ASSIGNMENT] == 1  # found by its marker, not created again
        assert_delivered_exactly(w, before)


def test_a_worker_dying_after_creating_the_rubric_adopts_it_and_never_posts_a_second(
    backend_url: str,
) -> None:
    with world(backend_url) as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[1], "2")
        with pytest.raises(WorkerDied):
            w.deliver(client_for=hooked_client_for(w, {"create_rubric": die}))
        [carrier] = w.carriers()
        assert carrier.canvas_assignment_id is not None and carrier.rubric_association_id is None
        assert writes(w)[CREATE_RUBRIC] == 1

        assert w.deliver().delivered == 2
        assert writes(w)[CREATE_RUBRIC] == 1  # another POST would be the trap (docs/canvas.md §3.6)
        assert w.trap_fired() == 0
        assert_delivered_exactly(w, before)


@pytest.mark.parametrize(
    ("students", "write", "endpoint"),
    [(3, "update_grades", BULK_GRADES), (1, "assess_submission", ASSESS_ONE)],
)
def test_a_worker_dying_after_the_grades_were_written_does_not_write_them_again(
    students: int, write: str, endpoint: str
) -> None:
    with world() as w:
        before = seeded(w)
        for s in w.students[:students]:
            w.score(s, w.outcomes[2], "3")
        with pytest.raises(WorkerDied):
            w.deliver(client_for=hooked_client_for(w, {write: die}))
        assert all(i.status == PENDING for i in w.items())
        sent = writes(w)
        assert (sent[BULK_GRADES], sent[ASSESS_ONE]) == (
            (1, 0) if endpoint == BULK_GRADES else (0, 1)
        )

        report = w.deliver()
        first = report.passes[0]
        assert (first.due, first.already_there, first.written) == (students, students, 0)
        assert writes(w) == sent  # nothing written again
        assert_delivered_exactly(w, before)


def test_a_lost_answer_to_the_bulk_grading_post_is_retried_without_writing_again() -> None:
    def lost(_result: Any) -> None:  # Canvas ran the job; its answer never arrived
        raise CanvasUnavailable("Canvas failed POST update_grades; try again later.", status=502)

    with world(writeback_retry_seconds=5) as w:
        before = seeded(w)
        for s in w.students[:3]:
            w.score(s, w.outcomes[3], "2")
        w.deliver(client_for=hooked_client_for(w, {"update_grades": lost}))
        assert {(i.status, i.attempts) for i in w.items()} == {(PENDING, 1)}
        sent = writes(w)
        assert sent[BULK_GRADES] == 1
        make_due_now(w)
        first = w.deliver().passes[0]
        assert (first.due, first.already_there, first.written) == (3, 3, 0)
        assert writes(w) == sent
        assert_delivered_exactly(w, before)


# --- a write whose answer was lost, finished by Canvas only after the next attempt looked -----


def late_post_client_for(w: World, post: str, look: str) -> Callable[[str], CanvasClient]:
    """The first ``post`` times out in the client (nothing reached Canvas yet) but Canvas
    carries it out later: right after the next attempt's ``look`` at Canvas returned, i.e.
    between the tool's check for an earlier write and its own new one."""
    base = hooked_client_for(w)
    late: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    sent: list[bool] = []

    def make(teacher: str) -> CanvasClient:
        client = base(teacher)
        real_post, real_look = getattr(client, post), getattr(client, look)

        def timed_out(*args: Any, **kwargs: Any) -> Any:
            if sent:
                return real_post(*args, **kwargs)
            sent.append(True)
            late.append((args, kwargs))
            raise CanvasUnavailable("Canvas did not answer POST (ReadTimeout).")

        def looked(*args: Any, **kwargs: Any) -> Any:
            seen = real_look(*args, **kwargs)
            while late:
                first_args, first_kwargs = late.pop()
                real_post(*first_args, **first_kwargs)  # the first request lands now
            return seen

        setattr(client, post, timed_out)
        setattr(client, look, looked)
        return client

    return make


@pytest.mark.parametrize(
    # The next attempt looks through the course's assignments listing (the carrier by its
    # marker; its rubric, in the assignment's JSON).
    ("post", "look"),
    [("create_assignment", "assignments"), ("create_rubric", "assignments")],
)
def test_a_post_canvas_finishes_late_is_adopted_not_duplicated(
    post: str, look: str, backend_url: str
) -> None:
    # The POST is remembered on the carrier row: until Canvas shows what it asked for (or the
    # grace period is over) the next attempts only look, and adopt it once it is there.
    with world(backend_url) as w:
        before = seeded(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[0], "2")
        drain(w, late_post_client_for(w, post, look))
        assert_delivered_exactly(w, before)


def test_a_target_linked_later_extends_the_rubric_in_place_even_after_a_crash() -> None:
    from canvas_sandbox import outcomes as sandbox_outcomes
    from tests.writeback.harness import sync

    with world() as w:
        before = seeded(w)
        first, second = w.students[:2]
        w.score(first, w.outcomes[0], "3")
        w.score(second, w.outcomes[0], "2")
        assert w.deliver().delivered == 2
        carrier = carrier_of_round(w, 1)
        kept = {k: v for k, v in w.canvas_results().items() if k[2] == carrier}

        # The teacher links a new outcome in Canvas; the next sync makes it a target.
        state = w.sb.state
        new = sandbox_outcomes.create_outcome(
            state, "Course", int(w.course), "Speaking", ratings=[("Mastery", 4.0), ("Not", 1.0)]
        )
        sandbox_outcomes.link_outcome(
            state, sandbox_outcomes.root_group(state, "Course", int(w.course)), new
        )
        sync(w.app, w.platform_id, w.course, w.teacher)
        w.score(first, str(new.id), "4")

        with pytest.raises(WorkerDied):  # right after Canvas took the extended rubric
            w.deliver(client_for=hooked_client_for(w, {"update_rubric": die}))
        assert w.deliver().delivered == 1
        sent = writes(w)
        assert sent[CREATE_RUBRIC] == 1 and sent[UPDATE_RUBRIC] >= 1  # in place, never a POST
        assert carrier_of_round(w, 1) == carrier
        held = w.canvas_results()
        assert {k: held[k] for k in kept} == kept  # same scores, same result ids
        assert held[(int(first), new.id, carrier)][0] == 4.0
        assert assessment_rows(w, carrier, first) == {int(w.outcomes[0]): 3.0, new.id: 4.0}
        assert_delivered_exactly(w, before)
