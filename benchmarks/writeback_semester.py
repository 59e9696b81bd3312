"""The simulated semester of ``writeback.py``: a class scored day by day for 18 weeks, each
day's scores delivered in one batch, against the sandbox with Canvas's re-dating and delayed
result jobs; and the naive one-PUT-per-score tool on the same schedule.

Canvas's clock (the sandbox's) moves a school day per batch; the tool's scores go through the
pathways service as a teacher's would. Ordering is checked the way Canvas's rollups order
results (``submitted_at || assessed_at``, then id): for every student and target, the results
Canvas holds must come in the order of the tool's evidence (the earlier results from Canvas by
their dates, then the tool's scores in the order they were scored).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from canvas_sandbox.results import materialize
from lti_app.canvas.connection import user_client_factory
from lti_app.db import session_scope
from lti_app.models.writeback import DELIVERED, KIND_DEMONSTRATION, PENDING, WritebackItem
from lti_app.policies.store import effective_policy
from lti_app.services import services
from lti_app.writeback.carriers import CarrierKeeper, ratings_for
from tests.writeback.harness import World

WEEKS = 18
SCHOOL_DAYS = WEEKS * 5
PER_PAIR = 4
DELIVERIES_PER_DAY = 3  # a pass left items to retry: the next one runs (backoff skipped)

# (day, student, target) in scoring order
Schedule = list[tuple[int, str, str]]


def schedule(w: World, seed: int) -> Schedule:
    """PER_PAIR scores per student and target on distinct school days, shuffled within a day."""
    rng = random.Random(seed)
    plan = [
        (day, s, o)
        for s in w.students
        for o in w.outcomes
        for day in rng.sample(range(SCHOOL_DAYS), PER_PAIR)
    ]
    rng.shuffle(plan)
    plan.sort(key=lambda p: p[0])
    return plan


def calendar_offset(day: int) -> timedelta:
    """School day n (Monday to Friday) as a distance from the first Monday."""
    return timedelta(days=(day // 5) * 7 + day % 5)


def travel(w: World, start: datetime, day: int) -> None:
    """Canvas's clock: the start of the semester plus the school day (real time keeps running
    within a day, so the result delay still elapses)."""
    real_start = datetime.now(UTC)
    offset = start + calendar_offset(day) - real_start
    w.sb.state.clock = lambda: datetime.now(UTC) + offset


def mismatches(w: World, order: dict[tuple[str, str], list[int]], key_of: Any) -> int:
    """Pairs whose results Canvas orders differently from the tool's evidence.

    ``order``: (student, target) -> the tool's score numbers in scoring order; ``key_of``:
    (student, target, assignment id) -> score number of a result on a carrier, or None for a
    result of Canvas's own (earlier) assignments."""
    state = w.sb.state
    materialize(state)
    rows: dict[tuple[str, str], list[tuple[datetime, int, int | None]]] = defaultdict(list)
    with state.lock:
        for r in state.results.values():
            if r.course_id != int(w.course) or r.workflow_state != "active":
                continue
            if state.alignments[r.alignment_id].workflow_state != "active":
                continue
            pair = (str(r.user_id), str(r.outcome_id))
            rows[pair].append(
                (r.submitted_or_assessed_at, r.id, key_of(pair[0], pair[1], r.assignment_id))
            )
    bad = 0
    for pair in set(order) | set(rows):
        canvas = [n for _, _, n in sorted(rows.get(pair, []), key=lambda x: (x[0], x[1]))]
        earlier = [n for n in canvas if n is None]
        expected: list[int | None] = [*earlier, *order.get(pair, [])]
        if canvas != expected:
            bad += 1
    return bad


def run_ours(w: World, seed: int) -> dict[str, Any]:
    plan = schedule(w, seed)
    start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    order: dict[tuple[str, str], list[int]] = defaultdict(list)
    demo_number: dict[int, int] = {}
    w.sb.runtime.stats.reset()
    wall = scoring = 0.0
    days = sorted({d for d, _, _ in plan})
    for number, (day, student, outcome) in enumerate(plan):
        if number == 0 or plan[number - 1][0] != day:
            travel(w, start, day)
        t = time.perf_counter()
        demo = w.score(student, outcome, str(1 + (number % 4)))
        scoring += time.perf_counter() - t
        demo_number[demo] = number
        order[(student, outcome)].append(number)
        last_of_day = number + 1 == len(plan) or plan[number + 1][0] != day
        if last_of_day:
            t = time.perf_counter()
            for _ in range(DELIVERIES_PER_DAY):
                w.deliver()
                if not _pending(w):
                    break
                _due_now(w)
            wall += time.perf_counter() - t
    stats = w.sb.stats()
    items = w.items()
    carriers = {c.id: c.canvas_assignment_id for c in w.carriers()}
    by_slot = {
        (i.canvas_user_id, i.canvas_outcome_id, carriers.get(i.carrier_id or 0)): i
        for i in items
        if i.status == DELIVERED
    }

    def key_of(user: str, outcome: str, assignment: int) -> int | None:
        item = by_slot.get((user, outcome, str(assignment)))
        if item is None or item.demonstration_id is None:
            return None
        return demo_number.get(item.demonstration_id)

    delivered = sum(1 for i in items if i.status == DELIVERED)
    return {
        "scores": len(plan),
        "school_days_with_scores": len(days),
        "delivered": delivered,
        "requests": stats["total"],
        "requests_per_result": stats["total"] / max(delivered, 1),
        "throttled": stats["throttled"],
        "carriers": len(carriers),
        "most_per_pair": PER_PAIR,
        "ordering_mismatches": mismatches(w, order, key_of),
        "pairs": len(order),
        "delivery_wall_s": wall,
        "scoring_s": scoring,
        "by_endpoint": stats["by_endpoint"],
    }


def run_naive(w: World, seed: int, targets: dict[str, str]) -> dict[str, Any]:
    """One single-row PUT per score, on the carrier of the score's number for its pair (what a
    tool that ignores re-dating and whole-assessment saves would do), on the same schedule."""
    plan = schedule(w, seed)
    start = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    with session_scope(w.app) as db:
        eff = effective_policy(db, w.platform_id, w.course)
        ratings = ratings_for(eff)
        levels = eff.mapping
    with w.app.app_context():
        client = user_client_factory(w.app, services(), w.platform_id, w.teacher)
    order: dict[tuple[str, str], list[int]] = defaultdict(list)
    carrier_of: dict[int, Any] = {}
    placed: dict[tuple[str, str, str], int] = {}
    w.sb.runtime.stats.reset()
    t0 = time.perf_counter()
    with client:
        keeper = CarrierKeeper(w.app, client, w.platform_id, w.course, targets, ratings)
        for number, (day, student, outcome) in enumerate(plan):
            if number == 0 or plan[number - 1][0] != day:
                travel(w, start, day)
            nth = len(order[(student, outcome)]) + 1
            order[(student, outcome)].append(number)
            if nth not in carrier_of:
                carrier_of[nth] = keeper.ensure(KIND_DEMONSTRATION, nth, set(w.outcomes))
            carrier = carrier_of[nth]
            points = levels.to_canvas_points(float(1 + (number % 4)))
            client.assess_submission(
                w.course,
                carrier.assignment_id,
                student,
                {carrier.criteria[outcome]: {"points": points}},
            )
            placed[(student, outcome, carrier.assignment_id)] = number
    wall = time.perf_counter() - t0
    stats = w.sb.stats()

    def key_of(user: str, outcome: str, assignment: int) -> int | None:
        return placed.get((user, outcome, str(assignment)))

    return {
        "scores": len(plan),
        "requests": stats["total"],
        "requests_per_result": stats["total"] / max(len(plan), 1),
        "throttled": stats["throttled"],
        "carriers": len(carrier_of),
        "ordering_mismatches": mismatches(w, order, key_of),
        "pairs": len(order),
        "wall_s": wall,
    }


def _pending(w: World) -> bool:
    return any(i.status == PENDING for i in w.items())


def _due_now(w: World) -> None:
    from sqlalchemy import update

    with session_scope(w.app) as db:
        db.execute(
            update(WritebackItem)
            .where(WritebackItem.status == PENDING)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def targets_of(w: World) -> dict[str, str]:
    from lti_app.models.canvas import CourseOutcome, synced_course

    with session_scope(w.app) as db:
        course = synced_course(db, w.platform_id, w.course)
        assert course is not None
        rows = db.execute(
            select(CourseOutcome.canvas_outcome_id, CourseOutcome.title)
            .where(CourseOutcome.course_pk == course.id)
            .order_by(CourseOutcome.id)
        ).all()
    return {str(oid): str(title) for oid, title in rows}


def semester_args(args: argparse.Namespace) -> argparse.Namespace:
    """The semester's course: ``--semester-students`` x ``--semester-targets``."""
    out = argparse.Namespace(**vars(args))
    out.students, out.targets = args.semester_students, args.semester_targets
    out.prior = args.semester_prior
    return out


__all__ = ["run_naive", "run_ours", "semester_args", "targets_of"]
