"""Progress report benchmark: a class set (35 students x 12 targets) as print HTML and as PDF.

    .venv/bin/python benchmarks/report.py           # SQLite, 5 timed requests of each
    .venv/bin/python benchmarks/report.py --quick   # 2 of each

The course is the grid benchmark's synthetic one (``benchmarks/grid.py``'s ``seed``: seeded
``random.Random``, Canvas results spread over a term, demonstrations and overrides) with 12
learning targets instead of 40, and one grading period over its first 45 days. A teacher's
launch session authenticates with the X-Launch-Token header, as a cookie-less browser does.

Timed, in process through the whole Flask app (WSGI, no socket), after one warm-up of each:

* ``print_html``: ``GET /s/<handle>/report/print?period=...``: the class set's print view
  (levels as of the period's end and start for every student and target, then the page);
* ``pdf``: ``GET /s/<handle>/report/report.pdf?period=...``: the same content laid out by
  WeasyPrint; its page count is checked (one page per student).

Target: the PDF's p50 under 10 s on this machine, printed beside the HTML time. Results go to
benchmarks/results/report.json. The run is bounded (an alarm ends it after 240 s).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform as pyplatform
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grid as grid_bench
from _report import write_result

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "report.json"
HARD_LIMIT_SECONDS = 240
TARGETS = 12
RESULTS_N = 2400  # the grid benchmark's density: 8,000 results over 40 targets
TARGET_PDF_SECONDS = 10.0

sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402

from lti_app import create_app  # noqa: E402
from lti_app.db import Base, session_scope  # noqa: E402
from lti_app.models.canvas import CanvasCourse, CourseGradingPeriod  # noqa: E402


def _alarm(_signum: int, _frame: Any) -> None:
    raise SystemExit(f"benchmark aborted: over {HARD_LIMIT_SECONDS} s")


def add_period(app: Any) -> str:
    """One grading period over the first 45 days of the course's term."""
    start = datetime(2026, 9, 1, tzinfo=UTC)
    with app.app_context(), session_scope(app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        db.add(
            CourseGradingPeriod(
                course_pk=course.id,
                canvas_grading_period_id="501",
                title="Quarter 1",
                start_date=start,
                end_date=start + timedelta(days=45),
                is_closed=True,
            )
        )
    return "gp:501"


def timed(app: Any, path: str, secret: str, n: int) -> tuple[list[float], list[float], bytes]:
    """Wall and CPU seconds per request (after one warm-up: templates compiled, fonts loaded),
    and the last body."""
    client = app.test_client()
    headers = {"X-Launch-Token": secret}
    body = b""
    times: list[float] = []
    cpu: list[float] = []
    for i in range(n + 1):
        t, c = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        body = response.get_data()
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code}")
        if i:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return times, cpu, body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 timed requests of each, not 5")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HARD_LIMIT_SECONDS)
    logging.disable(logging.INFO)
    n = 2 if args.quick else 5
    started = time.perf_counter()
    grid_bench.TARGETS, grid_bench.RESULTS_N = TARGETS, RESULTS_N
    students = grid_bench.STUDENTS
    print(
        f"Progress report class set: {students} students x {TARGETS} targets "
        f"({RESULTS_N} results); {n} timed requests of each",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        app = create_app(
            {
                "app_env": "testing",
                "database_url": f"sqlite:///{tmp / 'report.sqlite3'}",
                "public_base_url": "https://tool.bench.example",
                "secret_key": "bench-secret-key-" + "x" * 32,
                "instance_path": str(tmp / "instance"),
                "log_level": "WARNING",
            }
        )
        Base.metadata.create_all(app.extensions["db_engine"])
        handle, secret = grid_bench.seed(app).split(" ")
        period = add_period(app)
        base = f"/s/{handle}/report"
        html_times, html_cpu, html = timed(app, f"{base}/print?period={period}", secret, n)
        pdf_times, pdf_cpu, pdf = timed(app, f"{base}/report.pdf?period={period}", secret, n)
        app.extensions["db_engine"].dispose()
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    html_p50, pdf_p50 = statistics.median(html_times), statistics.median(pdf_times)
    ok = pdf_p50 < TARGET_PDF_SECONDS and pages == students
    result: dict[str, Any] = {
        "benchmark": "report",
        "course": {"students": students, "targets": TARGETS, "results": RESULTS_N},
        "print_html": {
            "p50_s": round(html_p50, 3),
            "cpu_p50_s": round(statistics.median(html_cpu), 3),
            "max_s": round(max(html_times), 3),
            "kb": round(len(html) / 1024, 1),
        },
        "pdf": {
            "p50_s": round(pdf_p50, 3),
            "cpu_p50_s": round(statistics.median(pdf_cpu), 3),
            "max_s": round(max(pdf_times), 3),
            "kb": round(len(pdf) / 1024, 1),
            "pages": pages,
        },
        "target_pdf_seconds": TARGET_PDF_SECONDS,
        "pass": ok,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": pyplatform.python_version(),
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }
    print()
    print(f"{'output':<12} {'p50 s':>8} {'CPU p50 s':>10} {'max s':>8} {'KB':>8} {'pages':>6}")
    for name, figures in (("print HTML", result["print_html"]), ("PDF", result["pdf"])):
        print(
            f"{name:<12} {figures['p50_s']:>8.3f} {figures['cpu_p50_s']:>10.3f} "
            f"{figures['max_s']:>8.3f} {figures['kb']:>8.1f} {figures.get('pages', '-'):>6}"
        )
    print(
        f"\n  [{'PASS' if ok else 'FAIL'}] class set PDF p50 {pdf_p50:.2f} s < "
        f"{TARGET_PDF_SECONDS:g} s with {pages} pages for {students} students "
        f"(print HTML {html_p50:.2f} s; load average {result['load_average_1m']} on "
        f"{result['cpus']} CPUs)"
    )
    write_result(RESULTS, result, None)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
