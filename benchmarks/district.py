"""District benchmark: `canvas sync-account` over a generated district, against the floor.

    .venv/bin/python benchmarks/district.py                  # 200 courses x 30 x 20 x 6
    .venv/bin/python benchmarks/district.py --courses 8      # a smaller district, same shape
    .venv/bin/python benchmarks/district.py --database-url postgresql+psycopg://...
    .venv/bin/python benchmarks/district.py --dashboard-only --database-url URL   # no sync
    .venv/bin/python benchmarks/district.py --dashboard-only --seed-direct --database-url URL

The sandbox (its own process) serves `canvas_sandbox.generator.synthetic_district`: schools
under one district account, every course on the district's 20 account-level outcomes, with
30 ms latency per API request and Canvas's default throttle bucket (600 units, leaking 10/s;
each request costs 1 unit plus 0.05 per row returned). The tool runs `canvas sync-account`
in this process on SQLite (or the given database) with the in-process workers.

Printed beside each other: requests made vs the fewest possible (every list read once at
per_page=100, plus the account's course list); wall time vs the floor the throttle and
pagination allow, the larger of (fewest requests x latency / 3 in flight) and (total cost
above the bucket's 600 / 10 units per second) (target <= 1.3x); failed courses (target 0),
results lost (Canvas's count minus the database's; target 0), throttled responses, and the
tool process's peak RSS; then the district dashboard's server time p50/p95 at district and
school level (target p50 <= 300 ms, read from the aggregates the sync built).

``--dashboard-only`` times the dashboard over an already-synced database (its aggregates are
built first when missing, timed: ``flask district refresh`` does the same); with
``--seed-direct`` the generated district's rows are first written straight into that (empty)
database, bypassing Canvas. Results also go to benchmarks/results/district.json. Bounded by
an alarm (--limit seconds).
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import platform as pyplatform
import re
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _dashboard import (
    TARGET_P50_MS,
    aggregates_present,
    busiest_platform,
    refresh,
    seed_direct,
    time_dashboard,
)
from _report import write_result
from sync import PER_PAGE, api_stats, minimum_requests, reset_stats
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "district.json"
TARGET_WALL_RATIO = 1.3
IN_FLIGHT = 3  # the client's requests in flight per token

sys.path.insert(0, str(ROOT))

from canvas_sandbox.app import create_sandbox  # noqa: E402
from canvas_sandbox.config import SandboxConfig  # noqa: E402
from canvas_sandbox.generator import synthetic_district  # noqa: E402
from canvas_sandbox.outcomes import course_links  # noqa: E402
from canvas_sandbox.results import course_results  # noqa: E402
from canvas_sandbox.state import SandboxState  # noqa: E402
from canvas_sandbox.tokens import mint_token  # noqa: E402
from lti_app import create_app  # noqa: E402
from lti_app.db import Base  # noqa: E402


def _rows(state: SandboxState, course: int) -> int:
    """Rows a course sync reads (each costs the throttle 0.05 units)."""
    groups = sum(1 for g in state.outcome_groups.values() if g.context_id == course)
    return (
        len(course_links(state, course))
        + groups
        + sum(1 for s in state.sections.values() if s.course_id == course)
        + len(state.students_of(course))
        + len(course_results(state, course))
    )


def _sandbox_child(conn: Any, args: dict[str, int]) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    state = SandboxState()
    made = synthetic_district(
        state,
        courses=args["courses"],
        students=args["students"],
        outcomes=args["outcomes"],
        results_per_pair=args["results"],
        schools=args["schools"],
    )
    config = SandboxConfig(latency_ms=args["latency_ms"])
    app = create_sandbox(config, state)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    config.base_url = f"http://127.0.0.1:{server.server_port}"
    minimum = sum(sum(minimum_requests(state, c).values()) for c in made.courses)
    conn.send(
        {
            "url": config.base_url,
            "account": made.account,
            "token": mint_token(state, made.admin, ttl=None),
            "minimum_requests": minimum + max(1, math.ceil(len(made.courses) / PER_PAGE)),
            "rows": sum(_rows(state, c) for c in made.courses) + len(made.courses),
            "results": sum(len(course_results(state, c)) for c in made.courses),
            "config": config.as_dict(),
        }
    )
    conn.close()
    server.serve_forever()


@contextmanager
def sandbox_process(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    sizes = {k: getattr(args, k) for k in ("courses", "students", "outcomes", "results")}
    sizes.update(schools=args.schools, latency_ms=args.latency_ms)
    proc = ctx.Process(target=_sandbox_child, args=(child, sizes), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 900
        while not parent.poll(0.5):
            if not proc.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the sandbox did not start")
        yield parent.recv()
    finally:
        proc.terminate()
        proc.join(timeout=10)


def floor_seconds(sb: dict[str, Any], latency_s: float) -> dict[str, float]:
    config = sb["config"]
    cost = sb["minimum_requests"] * config["request_cost"] + sb["rows"] * config["row_cost"]
    by_latency = sb["minimum_requests"] * latency_s / IN_FLIGHT
    by_throttle = max(0.0, cost - config["bucket_high_water"]) / config["bucket_outflow"]
    return {
        "cost_units": cost,
        "by_latency_s": by_latency,
        "by_throttle_s": by_throttle,
        "floor_s": max(by_latency, by_throttle),
    }


def tool_app(database_url: str, workdir: Path) -> Any:
    app = create_app(
        {
            "app_env": "development",
            "database_url": database_url,
            "public_base_url": "https://tool.bench",
            "secret_key": "bench-" + "x" * 40,
            "instance_path": str(workdir / "instance"),
            "log_level": "WARNING",
        }
    )
    Base.metadata.create_all(app.extensions["db_engine"])
    return app


def dashboard_checks(dashboard: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (
            f"dashboard at {level} level: p50 {dashboard[level]['p50_ms']:.0f} ms, "
            f"p95 {dashboard[level]['p95_ms']:.0f} ms (target p50 <= {TARGET_P50_MS:.0f} ms)",
            dashboard[level]["p50_ms"] <= TARGET_P50_MS,
        )
        for level in ("district", "school")
    ]


def dashboard_only(args: argparse.Namespace) -> int:
    """Time the dashboard over an already-synced database (or one seeded directly)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        app = tool_app(args.database_url, Path(tmp))
        built: dict[str, Any] = {}
        if args.seed_direct:
            t0 = time.perf_counter()
            platform_id = seed_direct(
                app,
                courses=args.courses,
                students=args.students,
                outcomes=args.outcomes,
                results=args.results,
                schools=args.schools,
            )
            built["seeded_seconds"] = round(time.perf_counter() - t0, 1)
        else:
            platform_id = busiest_platform(app)
        if args.seed_direct or not aggregates_present(app, platform_id):
            built["refresh"] = refresh(app, platform_id)
        dashboard = time_dashboard(app, platform_id, args.rounds)
        app.extensions["db_engine"].dispose()
    checks = dashboard_checks(dashboard)
    print(f"Dashboard over {args.database_url.split(':')[0]}: {built}")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    result = {
        "benchmark": "district dashboard over an already-synced database",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "built": built,
        "dashboard": dashboard,
        "verdicts": {text: ok for text, ok in checks},
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }
    write_result(args.output.with_name("district_dashboard.json"), result, None)
    return 0


def run_tool(sb: dict[str, Any], database_url: str, workdir: Path) -> dict[str, Any]:
    app = tool_app(database_url, workdir)
    from sqlalchemy import func, select

    from lti_app.db import session_scope
    from lti_app.models.canvas import CourseOutcomeResult

    reset_stats(sb["url"])
    args = ["canvas", "sync-account", "--canvas-url", sb["url"], "--account-id"]
    t0 = time.perf_counter()
    result = app.test_cli_runner().invoke(args=[*args, str(sb["account"]), "--token", sb["token"]])
    wall = time.perf_counter() - t0
    stats = api_stats(sb["url"])
    with session_scope(app) as db:
        stored = db.scalar(select(func.count()).select_from(CourseOutcomeResult)) or 0
    dashboard = time_dashboard(app, busiest_platform(app))
    app.extensions["db_engine"].dispose()
    summary = re.search(r"(\d+) synced, (\d+) failed, (\d+) not started", result.output)
    if summary is None:
        raise SystemExit(f"sync-account did not finish: {result.output[-2000:]}")
    return {
        "exit_code": result.exit_code,
        "wall_s": wall,
        "requests": stats["total"],
        "throttled": stats["throttled"],
        "synced": int(summary.group(1)),
        "failed": int(summary.group(2)) + int(summary.group(3)),
        "results_stored": stored,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "by_endpoint": stats["by_endpoint"],
        "dashboard": dashboard,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--courses", type=int, default=200)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--outcomes", type=int, default=20)
    ap.add_argument("--results", type=int, default=6, help="results per student and outcome")
    ap.add_argument("--schools", type=int, default=4)
    ap.add_argument("--latency-ms", type=int, default=30)
    ap.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    ap.add_argument("--limit", type=int, default=3 * 3600, help="alarm after this many seconds")
    ap.add_argument("--output", type=Path, default=RESULTS, help="JSON results file")
    ap.add_argument(
        "--dashboard-only",
        action="store_true",
        help="time the dashboard over --database-url, already synced (no sandbox, no sync)",
    )
    ap.add_argument(
        "--seed-direct",
        action="store_true",
        help="with --dashboard-only: first write the generated district into the database",
    )
    ap.add_argument("--rounds", type=int, default=30, help="dashboard requests per level")
    args = ap.parse_args(argv)
    if args.dashboard_only and not args.database_url:
        ap.error("--dashboard-only needs --database-url")
    if min(args.courses, args.students, args.outcomes, args.results, args.schools) <= 0:
        ap.error("counts must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.dashboard_only:
        return dashboard_only(args)
    started = time.monotonic()
    signal.alarm(args.limit)
    with sandbox_process(args) as sb, tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'district.sqlite3'}"
        print(
            f"District benchmark: Python {pyplatform.python_version()}; {args.courses} courses "
            f"x {args.students} students x {args.outcomes} outcomes x {args.results} results = "
            f"{sb['results']} results in {args.schools} schools; {args.latency_ms} ms latency; "
            f"default throttle; database {database_url.split(':')[0]}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        floor = floor_seconds(sb, args.latency_ms / 1000)
        tool = run_tool(sb, database_url, Path(tmp))
    lost = sb["results"] - tool["results_stored"]
    checks = [
        (
            f"requests {tool['requests']} vs fewest possible {sb['minimum_requests']} "
            f"({tool['requests'] / sb['minimum_requests']:.2f}x)",
            True,
        ),
        (
            f"wall {tool['wall_s']:.1f} s vs floor {floor['floor_s']:.1f} s "
            f"(latency {floor['by_latency_s']:.1f} s, throttle {floor['by_throttle_s']:.1f} s "
            f"for {floor['cost_units']:.0f} units): {tool['wall_s'] / floor['floor_s']:.2f}x "
            f"(target <= {TARGET_WALL_RATIO}x)",
            tool["wall_s"] <= TARGET_WALL_RATIO * floor["floor_s"],
        ),
        (f"failed or not started courses {tool['failed']} == 0", tool["failed"] == 0),
        (f"results lost {lost} == 0 ({tool['results_stored']} stored)", lost == 0),
        (f"throttled responses {tool['throttled']}", tool["throttled"] <= 5),
        (f"peak RSS of the tool process {tool['peak_rss_mb']:.0f} MB", True),
        *dashboard_checks(tool["dashboard"]),
    ]
    signal.alarm(0)
    result = {
        "benchmark": "district: lti_app canvas sync-account over a generated district",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "python": pyplatform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "district": {
            "courses": args.courses,
            "students": args.students,
            "outcomes": args.outcomes,
            "results_per_pair": args.results,
            "results": sb["results"],
        },
        "floor": floor,
        "minimum_requests": sb["minimum_requests"],
        "tool": tool,
        "verdicts": {text: ok for text, ok in checks},
        "elapsed_seconds": round(time.monotonic() - started, 1),
    }
    print()
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    write_result(args.output, result, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
