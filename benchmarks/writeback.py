"""Write-back benchmark: a whole class scored at once, and a simulated semester, delivered to
Canvas, each against the naive tool that sends one PUT per score.

    .venv/bin/python benchmarks/writeback.py            # both parts (a few minutes)
    .venv/bin/python benchmarks/writeback.py --only class      # 35 x 10 with 0, 2, 6 earlier
    .venv/bin/python benchmarks/writeback.py --only semester   # 30 x 12 over 18 weeks
    .venv/bin/python benchmarks/writeback.py --quick    # 10 x 4, a smoke run
    .venv/bin/python benchmarks/writeback.py --help     # sizes, latency, result delay

**The class at once** (35 x 10, run with 0, 2 and 6 earlier results per pair):

Each side gets a fresh Canvas sandbox (werkzeug, threaded, on 127.0.0.1, in this process) holding
a synthetic course (``canvas_sandbox.generator``: 35 students, 10 outcomes, each student already
with ``--prior`` rubric results per outcome from earlier assignments), and the tool on SQLite in
a temp dir, connected the way the write-back tests connect it (``tests.writeback.harness``: the
tenant's API key, the teacher's OAuth token from the sandbox's code flow, the real sync). Set-up
runs without injected latency; then the sandbox gets ``--latency-ms`` (30) per API request and
``--result-delay-ms`` (500): Canvas writes outcome results in a background job, so a result
shows up in ``outcome_results`` that long after its assessment. Throttling is the sandbox
default (Canvas's 600 high-water bucket per token, 10 units/s).

1. **ours**: 35 x 10 demonstrations are chosen, submitted and scored through
   ``lti_app.pathways.service`` (which commits one outbox row per score; not timed), then
   ``deliver_course`` runs: the round-1 carrier assignment and its rubric, one read of what
   Canvas holds, one bulk ``update_grades`` with every row per student, Progress polling, and
   read-backs until every result shows its value. Timed until every item is ``delivered`` (a
   pass that leaves items to retry is followed by the next, after their backoff).
2. **naive**: the same carrier set up by the same code (``CarrierKeeper``), then one
   ``PUT .../submissions/:user_id`` per student per target, each with a single-row
   ``rubric_assessment`` (``CanvasClient.assess_submission``), sequentially on one token, then
   ``outcome_results`` read back on the same schedule as ours until all 350 results show their
   value. A single-row assessment replaces the student's whole assessment (docs/canvas.md
   §3.5): the benchmark counts the rubric rows the carrier's assessments keep at the end, and
   the outcome results Canvas holds.

Requests and throttled responses are the sandbox's own counts (``/_sandbox/stats``), from the
moment before delivery (ours) or the carrier set-up (naive) to the end of the read-back.

**The semester** (``writeback_semester``): 30 students x 12 targets, 4 scores per pair on
distinct school days over 18 weeks, each day's scores delivered in one batch with Canvas's
clock moved a school day per batch (re-dating and the result delay on): Canvas requests per
delivered result, carriers created, throttled responses, and pairs whose results Canvas orders
differently from the tool's evidence (must be 0); the naive tool on the same schedule.

Results also go to benchmarks/results/writeback.json. Every wait is bounded; an alarm ends the
run after 15 minutes. A missed target is reported, not an error: the exit status is non-zero
only when the run itself fails.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform as pyplatform
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import write_result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "writeback.json"
HARD_LIMIT_SECONDS = 900
TARGET_FEWER = 10.0  # at most a tenth of the naive requests
# Delivery calls in all: the first, then more for items a pass left to retry, each after
# their backoff (the production first retry is 30 s; a normal run needs one call).
MAX_DELIVERIES = 3
MAX_RETRY_WAIT = 30.0

sys.path.insert(0, str(ROOT))

import writeback_semester as semester  # noqa: E402
from sqlalchemy import select  # noqa: E402

from canvas_sandbox.config import SandboxConfig  # noqa: E402
from canvas_sandbox.generator import synthetic_course  # noqa: E402
from lti_app.canvas.connection import user_client_factory  # noqa: E402
from lti_app.db import session_scope  # noqa: E402
from lti_app.models.canvas import CourseOutcome, synced_course  # noqa: E402
from lti_app.models.writeback import DELIVERED, KIND_DEMONSTRATION, PENDING  # noqa: E402
from lti_app.policies.store import effective_policy  # noqa: E402
from lti_app.services import services  # noqa: E402
from lti_app.writeback.carriers import CarrierKeeper, ratings_for  # noqa: E402
from lti_app.writeback.delivery import (  # noqa: E402
    MAX_VERIFY_READS,
    VERIFY_FIRST_DELAY,
    VERIFY_MAX_DELAY,
)
from tests.conftest import close_app, make_app  # noqa: E402
from tests.sync.sandbox_server import running_sandbox  # noqa: E402
from tests.writeback.harness import World, connect_teacher, sync  # noqa: E402

# (student, outcome) -> the level scored, as the teacher types it
Scores = dict[tuple[str, str], str]


@contextmanager
def bench_world(args: argparse.Namespace, workdir: Path) -> Iterator[World]:
    """A fresh sandbox with the synthetic course, the tool connected and synced; then the
    measured conditions (latency, delayed results) switched on."""
    workdir.mkdir()
    with running_sandbox(SandboxConfig(latency_ms=0, result_delay_ms=0)) as sb:
        ids = synthetic_course(sb.state, args.students, args.targets, args.prior, seed=args.seed)
        # Production timeouts and waits (config/defaults.toml), not the tests' short ones.
        app = make_app(f"sqlite:///{workdir / 'wb.sqlite3'}", workdir, log_level="WARNING")
        try:
            platform_id = connect_teacher(app, sb, ids.teacher)
            course, teacher = str(ids.course), str(ids.teacher)
            sync(app, platform_id, course, teacher)
            sb.knobs(latency_ms=args.latency_ms, result_delay_ms=args.result_delay_ms)
            yield World(
                sb=sb,
                app=app,
                platform_id=platform_id,
                course=course,
                teacher=teacher,
                students=[str(s) for s in ids.students],
                outcomes=[str(o) for o in ids.outcomes],
            )
        finally:
            close_app(app)


def choose_scores(w: World, seed: int) -> Scores:
    """One level of the course's district scale per student and target (seeded)."""
    with session_scope(w.app) as db:
        values = effective_policy(db, w.platform_id, w.course).scale.values
    rng = random.Random(seed)
    return {(s, o): f"{rng.choice(values):g}" for s in w.students for o in w.outcomes}


def points_of(w: World, scores: Scores) -> dict[tuple[str, str], float]:
    """The Canvas points each level is written as (the course's mapping)."""
    with session_scope(w.app) as db:
        mapping = effective_policy(db, w.platform_id, w.course).mapping
    return {key: mapping.to_canvas_points(float(level)) for key, level in scores.items()}


def on_assignment(w: World, assignment_id: str) -> dict[tuple[str, str], float]:
    """The outcome results Canvas holds on one assignment: (student, outcome) -> score."""
    return {
        (str(user), str(outcome)): score
        for (user, outcome, aid), (score, _rid) in w.canvas_results().items()
        if str(aid) == assignment_id
    }


def rubric_rows_kept(w: World, assignment_id: str) -> int:
    """Rated rows in the assessments of the assignment's grading association: what the rubric
    (SpeedGrader, the submission's grade) still shows."""
    state = w.sb.state
    with state.lock:
        associations = {
            a.id
            for a in state.rubric_associations.values()
            if a.association_type == "Assignment"
            and str(a.association_id) == assignment_id
            and a.workflow_state == "active"
        }
        return sum(
            1
            for assessment in state.assessments.values()
            if assessment.rubric_association_id in associations
            for row in assessment.data.values()
            if row.points is not None
        )


def matching(held: dict[tuple[str, str], float], want: dict[tuple[str, str], float]) -> int:
    return sum(1 for key, points in want.items() if abs(held.get(key, -1.0) - points) <= 1e-6)


def sandbox_counts(w: World) -> dict[str, Any]:
    stats = w.sb.stats()
    return {
        "requests": stats["total"],
        "throttled": stats["throttled"],
        "by_endpoint": stats["by_endpoint"],
        "by_status": stats["by_status"],
    }


def run_ours(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with bench_world(args, workdir) as w:
        scores = choose_scores(w, args.seed)
        want = points_of(w, scores)
        t_score = time.perf_counter()
        for (student, outcome), level in scores.items():
            w.score(student, outcome, level)
        scoring_s = time.perf_counter() - t_score
        w.sb.runtime.stats.reset()
        deliveries: list[dict[str, int]] = []
        t0 = time.perf_counter()
        for _ in range(MAX_DELIVERIES):
            report = w.deliver()
            deliveries.append(
                {
                    "passes": len(report.passes),
                    "delivered": report.delivered,
                    "client_requests": report.requests,
                }
            )
            pending = [i for i in w.items() if i.status == PENDING]
            if not pending:
                break
            # Retries wait for their backoff: sleep until the first is due (bounded).
            due = min(i.next_attempt_at for i in pending)
            if due.tzinfo is None:  # SQLite hands back naive UTC
                due = due.replace(tzinfo=UTC)
            wait = (due - datetime.now(UTC)).total_seconds()
            time.sleep(min(max(wait, 0.0), MAX_RETRY_WAIT))
        wall = time.perf_counter() - t0
        counts = sandbox_counts(w)
        items = w.items()
        carriers = w.carriers()
        held: dict[tuple[str, str], float] = {}
        rows = 0
        for carrier in carriers:
            if carrier.canvas_assignment_id is not None:
                held.update(on_assignment(w, carrier.canvas_assignment_id))
                rows += rubric_rows_kept(w, carrier.canvas_assignment_id)
        return {
            **counts,
            "wall_s": wall,
            "scoring_s": scoring_s,
            "deliveries": deliveries,
            "items": len(items),
            "delivered": sum(1 for i in items if i.status == DELIVERED),
            "carriers": len(carriers),
            "results_in_canvas": matching(held, want),
            "rubric_rows_kept": rows,
            "associations_destroyed": w.trap_fired(),
        }


def _targets(w: World) -> dict[str, str]:
    """The course's targets as the tool synced them (outcome id -> title)."""
    with session_scope(w.app) as db:
        course = synced_course(db, w.platform_id, w.course)
        assert course is not None
        rows = db.execute(
            select(CourseOutcome.canvas_outcome_id, CourseOutcome.title)
            .where(CourseOutcome.course_pk == course.id)
            .order_by(CourseOutcome.id)
        ).all()
    return {str(oid): str(title) for oid, title in rows}


def run_naive(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with bench_world(args, workdir) as w:
        want = points_of(w, choose_scores(w, args.seed))
        with session_scope(w.app) as db:
            ratings = ratings_for(effective_policy(db, w.platform_id, w.course))
        targets = _targets(w)
        with w.app.app_context():
            client = user_client_factory(w.app, services(), w.platform_id, w.teacher)
        w.sb.runtime.stats.reset()
        reads = 0
        t0 = time.perf_counter()
        with client:
            keeper = CarrierKeeper(w.app, client, w.platform_id, w.course, targets, ratings)
            carrier = keeper.ensure(KIND_DEMONSTRATION, 1, set(w.outcomes))
            for student in w.students:
                for outcome in w.outcomes:
                    client.assess_submission(
                        w.course,
                        carrier.assignment_id,
                        student,
                        {carrier.criteria[outcome]: {"points": want[(student, outcome)]}},
                    )
            writes_s = time.perf_counter() - t0
            # Read back on our schedule, until every write shows its value or the wait is over.
            delay = VERIFY_FIRST_DELAY
            deadline = time.monotonic() + args.naive_wait
            seen = 0
            for _ in range(MAX_VERIFY_READS):
                time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
                held = {
                    (r.user_id, r.outcome_id): r.score
                    for r in client.outcome_results(
                        w.course, user_ids=w.students, outcome_ids=w.outcomes, include_hidden=True
                    )
                    if str(r.assignment_id) == carrier.assignment_id and r.score is not None
                }
                reads += 1
                seen = matching(held, want)
                if seen == len(want) or time.monotonic() >= deadline:
                    break
                delay = min(delay * 2, VERIFY_MAX_DELAY)
        wall = time.perf_counter() - t0
        counts = sandbox_counts(w)
        return {
            **counts,
            "wall_s": wall,
            "writes_s": writes_s,
            "read_backs": reads,
            "verified": seen == len(want),
            "seen_by_read_back": seen,
            "results_in_canvas": matching(on_assignment(w, carrier.assignment_id), want),
            "rubric_rows_kept": rubric_rows_kept(w, carrier.assignment_id),
            "associations_destroyed": w.trap_fired(),
        }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="10 students x 4 targets")
    ap.add_argument("--students", type=int, default=35)
    ap.add_argument("--targets", type=int, default=10)
    ap.add_argument(
        "--prior", type=int, default=2, help="earlier results per student and target (2)"
    )
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--result-delay-ms", type=int, default=500)
    ap.add_argument(
        "--naive-wait", type=float, default=60.0, help="longest naive read-back, seconds (60)"
    )
    ap.add_argument(
        "--priors", default="0,2,6", help="earlier results per pair for the class case (0,2,6)"
    )
    ap.add_argument("--only", choices=("class", "semester"), default=None)
    ap.add_argument("--semester-students", type=int, default=30)
    ap.add_argument("--semester-targets", type=int, default=12)
    ap.add_argument("--semester-prior", type=int, default=2)
    ap.add_argument("--seed", type=int, default=41)
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args(argv)
    try:
        args.priors = [int(p) for p in str(args.priors).split(",") if p.strip()]
    except ValueError:
        ap.error("--priors takes comma-separated whole numbers")
    if args.quick:
        args.students, args.targets = 10, 4
        args.semester_students, args.semester_targets = 6, 3
    if min(args.students, args.targets) <= 0 or min(args.prior, args.latency_ms) < 0:
        ap.error("sizes must be positive, latency and prior results not negative")
    if args.result_delay_ms < 0 or args.naive_wait <= 0:
        ap.error("the result delay must not be negative, the naive wait must be positive")
    return args


def table(result: dict[str, Any]) -> tuple[list[str], list[tuple[str, bool]]]:
    """The side-by-side table (metric | ours | naive | target | pass/fail) and the verdicts."""
    ours, naive = result["ours"], result["naive"]
    scored = result["scored"]
    limit = naive["requests"] / TARGET_FEWER
    ratio = naive["requests"] / max(1, ours["requests"])
    checks = [
        (
            f"Canvas requests {ours['requests']} <= naive / {TARGET_FEWER:g} "
            f"({limit:.1f}); {ratio:.1f}x fewer",
            ours["requests"] <= limit,
        ),
        (f"throttled responses {ours['throttled']} == 0", ours["throttled"] == 0),
        (
            f"every scored level in Canvas and on the rubric: {ours['results_in_canvas']} "
            f"results, {ours['rubric_rows_kept']} rubric rows of {scored}",
            ours["results_in_canvas"] == scored and ours["rubric_rows_kept"] == scored,
        ),
    ]
    naive_wall = f"{naive['wall_s']:.2f}" + ("" if naive["verified"] else " (not verified)")
    rows = [
        ("Canvas requests", ours["requests"], naive["requests"], f"<= {limit:.1f}", checks[0][1]),
        ("wall time until verified (s)", f"{ours['wall_s']:.2f}", naive_wall, "", None),
        ("throttled responses", ours["throttled"], naive["throttled"], "0", checks[1][1]),
        (
            "results in Canvas with the scored value",
            ours["results_in_canvas"],
            naive["results_in_canvas"],
            f"{scored}",
            None,
        ),
        (
            "rubric rows kept on the carrier",
            ours["rubric_rows_kept"],
            naive["rubric_rows_kept"],
            f"{scored}",
            checks[2][1],
        ),
        (
            "grading associations destroyed",
            ours["associations_destroyed"],
            naive["associations_destroyed"],
            "0",
            None,
        ),
    ]
    lines = [
        f"{'metric':42}{'ours':>10}{'naive':>22}   {'target':<12}pass/fail",
        "-" * 96,
    ]
    for name, a, b, target, ok in rows:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        lines.append(f"{name:42}{a!s:>10}{b!s:>22}   {target:<12}{verdict}")
    return lines, checks


def class_case(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], bool]:
    """The class scored at once, ours and naive, for ``args.prior`` earlier results."""
    scored = args.students * args.targets
    result: dict[str, Any] = {
        "course": {"students": args.students, "targets": args.targets, "prior": args.prior},
        "scored": scored,
    }
    ours = run_ours(args, tmp / f"ours-{args.prior}")
    result["ours"] = ours
    print(
        f"  ours:  {ours['requests']} requests, {ours['wall_s']:.2f} s, "
        f"{ours['delivered']}/{ours['items']} delivered; scoring took "
        f"{ours['scoring_s']:.1f} s (not timed)",
        flush=True,
    )
    naive = run_naive(args, tmp / f"naive-{args.prior}")
    result["naive"] = naive
    print(
        f"  naive: {naive['requests']} requests, {naive['wall_s']:.2f} s "
        f"({naive['writes_s']:.2f} s writing; read back {naive['read_backs']}x)",
        flush=True,
    )
    lines, checks = table(result)
    result["verdicts"] = dict(checks)
    print()
    print("\n".join(lines))
    print()
    print(f"  ours by endpoint:  {ours['by_endpoint']}")
    print(f"  naive by endpoint: {naive['by_endpoint']}")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    return result, all(ok for _, ok in checks)


def semester_case(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    sargs = semester.semester_args(args)
    with bench_world(sargs, tmp / "semester-ours") as w:
        ours = semester.run_ours(w, args.seed)
    print(
        f"  ours:  {ours['requests']} requests for {ours['delivered']} results over "
        f"{ours['school_days_with_scores']} daily batches ({ours['delivery_wall_s']:.1f} s "
        f"delivering, {ours['scoring_s']:.1f} s scoring)",
        flush=True,
    )
    with bench_world(sargs, tmp / "semester-naive") as w:
        naive = semester.run_naive(w, args.seed, semester.targets_of(w))
    print(f"  naive: {naive['requests']} requests ({naive['wall_s']:.1f} s)", flush=True)
    checks = [
        (
            f"ordering mismatches {ours['ordering_mismatches']} of {ours['pairs']} pairs == 0",
            ours["ordering_mismatches"] == 0,
        ),
        (
            f"every score delivered: {ours['delivered']} of {ours['scores']}",
            ours["delivered"] == ours["scores"],
        ),
        (f"throttled responses {ours['throttled']} == 0", ours["throttled"] == 0),
    ]
    rows = [
        ("Canvas requests", ours["requests"], naive["requests"]),
        (
            "requests per delivered result",
            f"{ours['requests_per_result']:.2f}",
            f"{naive['requests_per_result']:.2f}",
        ),
        ("carriers created", ours["carriers"], naive["carriers"]),
        ("throttled responses", ours["throttled"], naive["throttled"]),
        (
            "pairs Canvas orders unlike the tool",
            ours["ordering_mismatches"],
            naive["ordering_mismatches"],
        ),
    ]
    print()
    print(f"{'metric':42}{'ours':>10}{'naive':>12}")
    print("-" * 64)
    for name, a, b in rows:
        print(f"{name:42}{a!s:>10}{b!s:>12}")
    print()
    print(f"  ours by endpoint: {ours['by_endpoint']}")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    return {"ours": ours, "naive": naive, "verdicts": dict(checks)}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    started = time.monotonic()
    signal.alarm(HARD_LIMIT_SECONDS)
    print(
        f"Write-back benchmark: Python {pyplatform.python_version()}; {args.latency_ms} ms "
        f"latency per request, results {args.result_delay_ms} ms after an assessment; default "
        f"throttle bucket; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    result: dict[str, Any] = {
        "benchmark": "write-back: deliver_course vs one single-row PUT per score",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": pyplatform.python_version(),
            "platform": pyplatform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
        },
        "latency_ms": args.latency_ms,
        "result_delay_ms": args.result_delay_ms,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "class"):
            result["class"] = {}
            for prior in args.priors:
                args.prior = prior
                print(
                    f"\n== {args.students} students x {args.targets} targets scored at once, "
                    f"{prior} earlier results per pair ==",
                    flush=True,
                )
                one, _ok = class_case(args, Path(tmp))
                result["class"][str(prior)] = one
        if args.only in (None, "semester"):
            print(
                f"\n== semester: {args.semester_students} students x {args.semester_targets} "
                f"targets, {semester.PER_PAIR} scores per pair over {semester.WEEKS} weeks, "
                f"daily batches ==",
                flush=True,
            )
            result["semester"] = semester_case(args, Path(tmp))
    signal.alarm(0)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    write_result(args.output, result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
