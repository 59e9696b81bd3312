"""Quick-evidence import benchmark: a semester's observations for one course from one CSV file.

    .venv/bin/python benchmarks/evidence_import.py

A synced course (written straight into the sync tables of a fresh SQLite database; not timed):
30 students x 12 learning targets. The file: 4 observations per student and target on 4
different days (1,440 rows, with notes), the column layout of ``evidence import``.

* ours: ``flask --app lti_app evidence import`` (through the CLI runner, in-process): the file
  is checked as a whole, then every observation and its write-back item are stored in one
  batch (``outbox.enqueue_results``: a few queries and one flush).
* baseline, in the same run on a second fresh database: the same rows stored one at a time,
  each observation flushed and owed on its own (``outbox.enqueue_result``: its existing-key
  and round queries and a flush per row), as the first version of the import did; the
  baseline does not even check the rows.

Both end with the same rows and write-back items (checked). Best of 3 runs each. Results go to
benchmarks/results/evidence_import.json.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _report import write_result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

from lti_app.db import session_scope  # noqa: E402
from lti_app.models.observation import Observation  # noqa: E402
from lti_app.models.writeback import WritebackItem  # noqa: E402
from lti_app.policies.store import effective_policy  # noqa: E402
from lti_app.writeback.outbox import OwedResult, enqueue_result  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.pathways.conftest import add_platform  # noqa: E402
from tests.synced_course import Student, Target, write_course  # noqa: E402

STUDENTS, TARGETS, PER_PAIR = 30, 12, 4
COURSE = "101"
RESULTS = ROOT / "benchmarks" / "results" / "evidence_import.json"


def course(tmp: Path) -> tuple[Flask, int]:
    app = make_app(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp)
    pid = add_platform(app)
    write_course(
        app,
        pid,
        COURSE,
        synced_at=datetime(2026, 9, 1, tzinfo=UTC),
        students=[Student(str(1000 + s), f"Student {s:02d}") for s in range(STUDENTS)],
        targets=[Target(str(500 + t), f"T.{t:02d} Target") for t in range(TARGETS)],
    )
    return app, pid


def rows() -> list[tuple[str, str, str, str, str]]:
    first = datetime.now(UTC).date() - timedelta(weeks=20)  # every day observed is past
    return [
        (
            str(1000 + s),
            str(500 + t),
            ("2", "2.5", "3", "3.5")[k],
            f"Conference {k + 1}",
            (first + timedelta(weeks=4 * k + t % 4)).isoformat(),
        )
        for s in range(STUDENTS)
        for t in range(TARGETS)
        for k in range(PER_PAIR)
    ]


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context(), session_scope(app) as db:
        return db.query(Observation).count(), db.query(WritebackItem).count()


def ours(tmp: Path) -> float:
    app, _ = course(tmp)
    path = tmp / "scores.csv"
    path.write_text(
        "canvas_user_id,canvas_outcome_id,level,note,observed_on\n"
        + "".join(",".join(r) + "\n" for r in rows()),
        encoding="utf-8",
    )
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(
        args=["evidence", "import", "--course-id", COURSE, "--file", str(path)]
    )
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert counts(app) == (len(rows()),) * 2
    app.extensions["db_engine"].dispose()
    return elapsed


def row_by_row(tmp: Path) -> float:
    """Each observation stored and owed on its own (a flush and the outbox's queries per row),
    as the first version did; the rows are not even checked here."""
    app, pid = course(tmp)
    started = time.perf_counter()
    with app.app_context(), session_scope(app) as db:
        eff = effective_policy(db, pid, COURSE)
        now = datetime.now(UTC)
        for uid, oid, level, note, day in rows():
            obs = Observation(
                platform_id=pid,
                canvas_course_id=COURSE,
                canvas_user_id=uid,
                canvas_outcome_id=oid,
                level=float(level),
                note=note,
                observed_on=date.fromisoformat(day),
                recorded_at=now,
                recorded_by="cli",
                via="cli",
            )
            db.add(obs)
            db.flush()
            owed = OwedResult(pid, COURSE, uid, oid, float(level), f"obs:{obs.id}", note, "")
            enqueue_result(db, eff, owed)
    elapsed = time.perf_counter() - started
    assert counts(app) == (len(rows()),) * 2
    app.extensions["db_engine"].dispose()
    return elapsed


def main() -> None:
    began = time.monotonic()
    best: dict[str, float] = {}
    for name, run in (("ours", ours), ("row_by_row", row_by_row)):
        times = []
        for _ in range(3):
            with tempfile.TemporaryDirectory() as tmp:
                times.append(run(Path(tmp)))
        best[name] = min(times)
    n = len(rows())
    print(
        f"Quick evidence import, SQLite: {n:,} rows ({STUDENTS} students x {TARGETS} targets x "
        f"{PER_PAIR}), best of 3"
    )
    print(
        f"  ours (evidence import)          {best['ours']:6.2f} s  "
        f"({1000 * best['ours'] / n:.2f} ms per row)"
    )
    print(
        f"  baseline: row by row            {best['row_by_row']:6.2f} s  "
        f"({1000 * best['row_by_row'] / n:.2f} ms per row)"
    )
    print(f"  ratio                           {best['row_by_row'] / best['ours']:6.1f} x")
    write_result(
        RESULTS,
        {
            "rows": n,
            "ours_seconds": round(best["ours"], 3),
            "row_by_row_seconds": round(best["row_by_row"], 3),
            "elapsed_seconds": round(time.monotonic() - began, 1),
        },
        None,
    )


if __name__ == "__main__":
    main()
