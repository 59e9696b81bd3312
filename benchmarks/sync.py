"""Course sync benchmark: requests and wall time of our sync vs a typical canvasapi script.

    .venv/bin/python benchmarks/sync.py            # 35 x 40 x 6, then 150 x 60 x 8
    .venv/bin/python benchmarks/sync.py --quick    # a smaller course, for a smoke run

Synthetic courses (canvas_sandbox.generator) are served by the Canvas sandbox over loopback
HTTP with 30 ms injected latency per API request and the sandbox's default throttle bucket
(Canvas's 600 high-water, 10 units/s). In the same run:

1. ours: `flask --app lti_app canvas sync` (the CLI, in-process, SQLite in a temp dir): every
   list at per_page=100, one call per list, Canvas's own rollups (one page per 100 students),
   the course and the root account's features (which scale Canvas uses), plus the roster
   re-read that guards the result pages; everything applied in one transaction. Run on the
   main course (35 students x 40 outcomes x 6 results) and on a large one (150 x 60 x 8).
2. a district script written with `canvasapi` the way districts write it (default page size,
   an outcome fetch per link, outcome results per student), on the main course.

Printed: requests made vs the minimum possible (ceil(results/100) + ceil(students/100) for the
rollups + the fixed reads, from the page counts of every list the course needs), wall time vs
requests x latency, throttled responses (counted by the sandbox), and the ratio of the
canvasapi script's requests to ours. Results also go to benchmarks/results/sync.json. The run
is bounded (an alarm ends it after 15 minutes). The large course is paced by the throttle
bucket, not by latency: its result pages cost more than the bucket drains, so the benchmark
prints the bucket's own floor beside requests x latency.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing
import os
import platform as pyplatform
import signal
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _report import write_result
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "sync.json"
HARD_LIMIT_SECONDS = 900
PER_PAGE = 100
TARGET_EXTRA_REQUESTS = 2
LARGE_COURSE = (150, 60, 8)  # students, outcomes, results per pair
TARGET_FEWER = 5.0
TARGET_WALL_RATIO = 1.3

sys.path.insert(0, str(ROOT))

from canvas_sandbox.app import create_sandbox  # noqa: E402
from canvas_sandbox.config import SandboxConfig  # noqa: E402
from canvas_sandbox.generator import synthetic_course  # noqa: E402
from canvas_sandbox.outcomes import course_links  # noqa: E402
from canvas_sandbox.results import course_results  # noqa: E402
from canvas_sandbox.state import SandboxState  # noqa: E402
from canvas_sandbox.tokens import mint_token  # noqa: E402
from lti_app import create_app  # noqa: E402
from lti_app.db import Base  # noqa: E402


def pages(n: int) -> int:
    """Requests to read a list of n items at per_page=100 (an empty list still takes one)."""
    return max(1, math.ceil(n / PER_PAGE))


def minimum_requests(state: SandboxState, course_id: int) -> dict[str, int]:
    links = course_links(state, course_id)
    groups = {g.id for g in state.outcome_groups.values() if g.context_id == course_id}
    enrollments = [
        e
        for e in state.enrollments_in(course_id)
        if e.type == "StudentEnrollment" and e.workflow_state == "active"
    ]
    sections = [s for s in state.sections.values() if s.course_id == course_id]
    # Every result the sync reads: hidden ones too (it counts them).
    results = course_results(state, course_id, include_hidden=True)
    students = {e.user_id for e in enrollments}
    return {
        "outcome_group_links": pages(len(links)),
        "outcome_groups": pages(len(groups)),
        "outcome_proficiency": 1,
        "sections": pages(len(sections)),
        # read twice: before the results and after them (the roster guard)
        "enrollments": 2 * pages(len(enrollments)),
        "course": 1,  # its root account, for the root account's features
        "root_account_features": 1,
        "outcome_rollups": pages(len(students)),  # Canvas pages rollups by student
        "outcome_results": pages(len(results)),
    }


def throttle_floor(state: SandboxState, course_id: int, config: SandboxConfig) -> float:
    """Seconds any client needs for the sync's reads under the sandbox's bucket: each page
    costs request_cost + row_cost per row, the bucket drains at bucket_outflow per second and
    holds bucket_high_water before it refuses (the result pages dominate)."""
    results = len(course_results(state, course_id, include_hidden=True))
    students = len(state.students_of(course_id))
    rows = results + students * 3  # results, rollups, the roster twice
    cost = sum(minimum_requests(state, course_id).values()) * config.request_cost
    cost += rows * config.row_cost
    return max(0.0, cost - config.bucket_high_water) / config.bucket_outflow


def _sandbox_child(
    conn: Any, courses: list[tuple[int, int, int]], seed: int, latency_ms: int
) -> None:
    """The sandbox in its own process (its request handling must not share our GIL)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = SandboxState()
    made = [synthetic_course(state, s, o, r, seed=seed + i) for i, (s, o, r) in enumerate(courses)]
    config = SandboxConfig(latency_ms=latency_ms)
    app = create_sandbox(config, state)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    config.base_url = f"http://127.0.0.1:{server.server_port}"
    conn.send(
        {
            "url": config.base_url,
            "courses": [
                {
                    "course": ids.course,
                    # One token per run: each has its own throttle bucket, as a teacher would.
                    "tokens": [mint_token(state, ids.teacher, ttl=None) for _ in range(4)],
                    "minimum": minimum_requests(state, ids.course),
                    "results": len(course_results(state, ids.course, include_hidden=True)),
                    "throttle_floor_s": throttle_floor(state, ids.course, config),
                }
                for ids in made
            ],
        }
    )
    conn.close()
    server.serve_forever()


@contextmanager
def sandbox_process(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_sandbox_child,
        args=(child, courses_of(args), args.seed, args.latency_ms),
        daemon=True,
    )
    proc.start()
    try:
        deadline = time.monotonic() + 240
        while not parent.poll(0.2):
            if not proc.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the sandbox did not start")
        yield parent.recv()
    finally:
        proc.terminate()
        proc.join(timeout=10)


def _admin(url: str, path: str, method: str = "GET") -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the loopback sandbox
        url + path, method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        data: dict[str, Any] = json.loads(response.read())
    return data


def api_stats(url: str) -> dict[str, Any]:
    return _admin(url, "/_sandbox/stats")


def reset_stats(url: str) -> None:
    _admin(url, "/_sandbox/stats/reset", "POST")


def run_ours(
    url: str, tokens: list[str], course_id: int, workdir: Path, *, resync: bool = True
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "app_env": "development",
            "database_url": f"sqlite:///{workdir / 'sync.sqlite3'}",
            "public_base_url": "https://tool.bench",
            "secret_key": "bench-" + "x" * 40,
            "instance_path": str(workdir / "instance"),
            "log_level": "WARNING",
        }
    )
    Base.metadata.create_all(app.extensions["db_engine"])
    runner = app.test_cli_runner()

    def args(token: str) -> list[str]:
        return [
            "canvas",
            "sync",
            "--canvas-url",
            url,
            "--token",
            token,
            "--course-id",
            str(course_id),
        ]

    reset_stats(url)
    t0 = time.perf_counter()
    result = runner.invoke(args=args(tokens[0]))
    wall = time.perf_counter() - t0
    stats = api_stats(url)
    if result.exit_code != 0:
        raise SystemExit(f"our sync failed: {result.output}")
    # A second sync of the unchanged course (what the nightly job mostly does); a fresh
    # token, so it does not inherit the first run's throttle bucket.
    wall_again = None
    if resync:
        t1 = time.perf_counter()
        again = runner.invoke(args=args(tokens[1]))
        wall_again = time.perf_counter() - t1
        if again.exit_code != 0 or "results +0 ~0 -0" not in again.output:
            raise SystemExit(f"the second sync was not a no-op: {again.output}")
    app.extensions["db_engine"].dispose()
    summary = [ln for ln in result.output.splitlines() if ln.startswith("Synced course")]
    return {
        "wall_s": wall,
        "wall_resync_s": wall_again,
        "summary": summary[0] if summary else "",
        "requests": stats["total"],
        "throttled": stats["throttled"],
        "by_endpoint": stats["by_endpoint"],
    }


def _canvas(url: str, token: str) -> Any:
    from canvasapi import Canvas

    warnings.filterwarnings("ignore", module="canvasapi")  # "use https" for the loopback URL
    canvas = Canvas(url, token)
    session = canvas._Canvas__requester._session
    plain_request = session.request

    def with_timeout(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", (3.05, 30))  # canvasapi sets none; every call gets one
        return plain_request(*args, **kwargs)

    session.request = with_timeout
    return canvas


def run_canvasapi(url: str, token: str, course_id: int, grid_students: int) -> dict[str, Any]:
    """District scripts as they are written: canvasapi's defaults (per_page=100), the course,
    its outcome links and then each outcome (for its ratings), groups, sections, enrollments;
    then results (A) per student, and (B) per student and outcome (the grid a standards
    report walks). (B) is run for the first `grid_students` students and scaled to the class:
    run whole it takes minutes and Canvas's default bucket throttles it."""
    canvas = _canvas(url, token)
    t0 = time.perf_counter()
    course = canvas.get_course(course_id)
    links = list(course.get_all_outcome_links_in_context())
    outcomes = [canvas.get_outcome(link.outcome["id"]) for link in links]
    groups = list(course.get_outcome_groups_in_context())
    sections = list(course.get_sections())
    enrollments = list(course.get_enrollments(type=["StudentEnrollment"], state=["active"]))
    students = sorted({e.user_id for e in enrollments})
    setup = time.perf_counter() - t0
    setup_requests = api_stats(url)["total"]
    results: list[Any] = []
    for student in students:
        results.extend(course.get_outcome_results(user_ids=[student]))
    wall = time.perf_counter() - t0
    per_student = api_stats(url)
    # (B) on a slice of the class, scaled: requests and time per student are uniform here.
    sample = students[:grid_students]
    t1 = time.perf_counter()
    grid: list[Any] = []
    for student in sample:
        for outcome in outcomes:
            grid.extend(course.get_outcome_results(user_ids=[student], outcome_ids=[outcome.id]))
    grid_wall = time.perf_counter() - t1
    grid_requests = api_stats(url)["total"] - per_student["total"]
    scale = len(students) / max(1, len(sample))
    return {
        "counts": {
            "outcomes": len(outcomes),
            "groups": len(groups),
            "sections": len(sections),
            "students": len(students),
            "results": len(results),
        },
        "per_student": {
            "requests": per_student["total"],
            "throttled": per_student["throttled"],
            "wall_s": wall,
        },
        "per_student_outcome": {
            "measured_students": len(sample),
            "measured_requests": grid_requests,
            "measured_wall_s": grid_wall,
            "results_read": len(grid),
            # the whole class: setup, then the grid for every student
            "requests": setup_requests + round(grid_requests * scale),
            "wall_s": setup + grid_wall * scale,
            "scaled": True,
        },
    }


def courses_of(args: argparse.Namespace) -> list[tuple[int, int, int]]:
    main_course = (args.students, args.outcomes, args.results)
    return [main_course] if args.no_large else [main_course, LARGE_COURSE]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="10 students x 10 outcomes x 3")
    ap.add_argument("--students", type=int, default=35)
    ap.add_argument("--outcomes", type=int, default=40)
    ap.add_argument("--results", type=int, default=6, help="results per student and outcome")
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--no-canvasapi", action="store_true", help="skip the canvasapi baseline")
    ap.add_argument(
        "--no-large", action="store_true", help="skip the 150 x 60 x 8 course (--quick skips it)"
    )
    ap.add_argument(
        "--grid-students", type=int, default=5, help="students the per-outcome grid runs for (5)"
    )
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args(argv)
    if args.quick:
        args.students, args.outcomes, args.results = 10, 10, 3
        args.no_large = True
    if min(args.students, args.outcomes, args.results) <= 0 or args.latency_ms < 0:
        ap.error("counts must be positive")
    return args


def run_verdicts(name: str, run: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (
            f"{name}: requests {run['requests']} <= minimum {run['minimum_requests']} + "
            f"{TARGET_EXTRA_REQUESTS}",
            run["requests"] <= run["minimum_requests"] + TARGET_EXTRA_REQUESTS,
        ),
        (
            f"{name}: wall {run['wall_s']:.2f} s <= {TARGET_WALL_RATIO} x requests x latency "
            f"({TARGET_WALL_RATIO} x {run['requests_x_latency_s']:.2f} s = "
            f"{TARGET_WALL_RATIO * run['requests_x_latency_s']:.2f} s)",
            run["wall_s"] <= TARGET_WALL_RATIO * run["requests_x_latency_s"],
        ),
        (f"{name}: throttled responses {run['throttled']} == 0", run["throttled"] == 0),
    ]


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    ours = result["ours"]
    checks = run_verdicts("main course", ours)
    large = result.get("large")
    if large:
        name = "150 x 60 x 8"
        checks += [c for c in run_verdicts(name, large) if " wall " not in c[0]]
        bound = max(large["requests_x_latency_s"], large["throttle_floor_s"])
        checks.append(
            (
                f"{name}: wall {large['wall_s']:.2f} s <= {TARGET_WALL_RATIO} x the larger of "
                f"requests x latency and the throttle floor ({bound:.2f} s)",
                large["wall_s"] <= TARGET_WALL_RATIO * bound,
            )
        )
    base = result.get("canvasapi")
    if base:
        for name, label in (
            ("per_student_outcome", "canvasapi, results per student and outcome (scaled)"),
            ("per_student", "canvasapi, results per student"),
        ):
            ratio = base[name]["requests"] / max(1, ours["requests"])
            checks.append(
                (
                    f"{ratio:.1f}x fewer requests than {label} (>= {TARGET_FEWER}x)",
                    ratio >= TARGET_FEWER,
                )
            )
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    started = time.monotonic()
    signal.alarm(HARD_LIMIT_SECONDS)
    latency = args.latency_ms / 1000
    with sandbox_process(args) as sb, tempfile.TemporaryDirectory() as tmp:
        url, main_course = sb["url"], sb["courses"][0]
        minimum = main_course["minimum"]
        print(
            f"Sync benchmark: Python {pyplatform.python_version()}; course of {args.students} "
            f"students x {args.outcomes} outcomes x {args.results} results = "
            f"{main_course['results']} results; {args.latency_ms} ms latency per request; "
            f"default throttle bucket; sandbox in its own process; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
            flush=True,
        )
        result: dict[str, Any] = {
            "benchmark": "course sync: lti_app canvas sync vs a canvasapi district script",
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": {
                "python": pyplatform.python_version(),
                "platform": pyplatform.platform(),
                "cpus": os.cpu_count(),
                "load_average_at_start": os.getloadavg()[0],
            },
            "course": {
                "students": args.students,
                "outcomes": args.outcomes,
                "results_per_pair": args.results,
                "results": main_course["results"],
            },
            "latency_ms": args.latency_ms,
            "minimum_by_list": minimum,
            "minimum_requests": sum(minimum.values()),
        }
        ours = run_ours(url, main_course["tokens"][:2], main_course["course"], Path(tmp) / "a")
        ours["requests_x_latency_s"] = ours["requests"] * latency
        ours["minimum_requests"] = result["minimum_requests"]
        result["ours"] = ours
        print(
            f"  ours:      {ours['requests']} requests (minimum {ours['minimum_requests']}), "
            f"{ours['wall_s']:.2f} s (no-op re-sync {ours['wall_resync_s']:.2f} s), "
            f"{ours['throttled']} throttled",
            flush=True,
        )
        if len(sb["courses"]) > 1:
            big = sb["courses"][1]
            # One sync (its no-op re-sync would take as long again: the bucket sets the pace).
            large = run_ours(url, big["tokens"][:2], big["course"], Path(tmp) / "b", resync=False)
            large["throttle_floor_s"] = big["throttle_floor_s"]
            large["requests_x_latency_s"] = large["requests"] * latency
            large["minimum_requests"] = sum(big["minimum"].values())
            large["minimum_by_list"] = big["minimum"]
            large["course"] = dict(
                zip(("students", "outcomes", "results_per_pair"), LARGE_COURSE, strict=True),
                results=big["results"],
            )
            result["large"] = large
            print(
                f"  ours, {LARGE_COURSE[0]} x {LARGE_COURSE[1]} x {LARGE_COURSE[2]} "
                f"({big['results']} results): {large['requests']} requests (minimum "
                f"{large['minimum_requests']}), {large['wall_s']:.2f} s (requests x latency "
                f"{large['requests_x_latency_s']:.2f} s; the throttle bucket alone needs about "
                f"{large['throttle_floor_s']:.0f} s), {large['throttled']} throttled",
                flush=True,
            )
        if not args.no_canvasapi:
            reset_stats(url)
            base = run_canvasapi(
                url, main_course["tokens"][2], main_course["course"], args.grid_students
            )
            result["canvasapi"] = base
            a, b = base["per_student"], base["per_student_outcome"]
            print(
                f"  canvasapi, results per student: {a['requests']} requests, "
                f"{a['wall_s']:.2f} s, {a['throttled']} throttled, "
                f"{base['counts']['results']} results read",
                flush=True,
            )
            print(
                f"  canvasapi, results per student and outcome: {b['measured_requests']} requests "
                f"in {b['measured_wall_s']:.2f} s for {b['measured_students']} students; for the "
                f"class about {b['requests']} requests and {b['wall_s']:.0f} s (scaled)",
                flush=True,
            )
    checks = verdicts(result)
    result["verdicts"] = dict(checks)
    signal.alarm(0)
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    print()
    print(f"  minimum possible requests: {result['minimum_requests']}  ({minimum})")
    print(f"  ours by endpoint: {result['ours']['by_endpoint']}")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    write_result(args.output, result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
