"""``flask --app lti_app evidence import``: a CSV of observations into a synced course, all or
nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from click.testing import Result
from flask import Flask

from lti_app.db import session_scope
from lti_app.evidence import csv_import
from lti_app.models.observation import Observation
from lti_app.models.writeback import WritebackItem
from tests.pathways.conftest import add_platform
from tests.synced_course import Student, Target, write_course

HEADER = "canvas_user_id,canvas_outcome_id,level,note,observed_on\n"


def run(app: Flask, tmp_path: Path, text: str | bytes, *extra: str) -> Result:
    path = tmp_path / "scores.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    args = ["evidence", "import", "--course-id", "101", "--file", str(path), *extra]
    return app.test_cli_runner().invoke(args=args)


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context(), session_scope(app) as db:
        return db.query(Observation).count(), db.query(WritebackItem).count()


def test_import_prints_the_count_and_owes_canvas_each_row(seeded: Flask, tmp_path: Path) -> None:
    result = run(
        seeded,
        tmp_path,
        HEADER + "812,97,3.5,Conference,2026-11-02\n813,97,d,,\n814,98,A,,\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "Imported 3 observations into course 101." in result.stdout
    # nobody of this course is connected to Canvas: said, and the items wait for one
    assert "No teacher of this course is connected to Canvas" in result.stderr
    with seeded.app_context(), session_scope(seeded) as db:
        rows = sorted(
            (o.canvas_user_id, o.level, o.via, o.recorded_by) for o in db.query(Observation)
        )
        assert rows == [
            ("812", 3.5, "cli", "cli"),
            ("813", 2.0, "cli", "cli"),
            ("814", 4.0, "cli", "cli"),
        ]
        keys = sorted(i.idempotency_key.split(":")[0] for i in db.query(WritebackItem))
        assert keys == ["obs", "obs", "obs"]


def test_a_bad_file_lists_every_bad_line_and_stores_nothing(seeded: Flask, tmp_path: Path) -> None:
    future = datetime.now(UTC).date().replace(year=datetime.now(UTC).year + 1).isoformat()
    text = (
        HEADER
        + "812,97,3,,\n"  # good
        + "999,97,3,,\n"  # unknown student
        + "812,555,3,,\n"  # unknown target
        + "812,99,2.7,,\n"  # not on the scale
        + f"812,98,3,,{future}\n"  # in the future
        + "812,97,4,,\n"  # same student, target and day as line 2
        + "812,98,3,too,many,cells\n"
    )
    result = run(seeded, tmp_path, text)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[:6] == [
        "line 3: no student 999 in this course",
        "line 4: no learning target 555 in this course",
        "line 5: the level “2.7” is not on the scale “Marzano 0-4 (half points)”",
        f"line 6: the date observed {future} is in the future",
        "line 7: the same student, target and date as line 2",
        "line 8: 6 cells where the header has 5",
    ]
    assert "scores.csv was not imported and nothing was stored: 6 problems (listed above)." in (
        result.stderr
    )
    assert counts(seeded) == (0, 0)


def test_hostile_files_are_refused(seeded: Flask, tmp_path: Path) -> None:
    huge = HEADER.encode() + b"812,97,3,,\n" * (csv_import.MAX_BYTES // 11 + 1)
    result = run(seeded, tmp_path, huge)
    assert result.exit_code == 1 and "file: the file is larger than 1000 kB" in result.stderr
    result = run(seeded, tmp_path, HEADER.encode() + b"812,97,3,nul\x00here,\n")
    assert result.exit_code == 1 and "line 2: contains control characters" in result.stderr
    # a BOM and CR line ends (old spreadsheets) are fine
    result = run(seeded, tmp_path, ("\ufeff" + HEADER + "812,97,3,,\n").replace("\n", "\r"))
    assert result.exit_code == 0, result.stderr
    assert counts(seeded) == (1, 1)
    result = run(seeded, tmp_path, "")
    assert result.exit_code == 1 and "file: the file is empty" in result.stderr


def test_the_course_is_found_like_mastery_export(seeded: Flask, tmp_path: Path) -> None:
    other = add_platform(seeded)
    write_course(
        seeded,
        other,
        "101",
        synced_at=datetime(2026, 10, 1, tzinfo=UTC),
        students=[Student("888", "Yan Else")],
        targets=[Target("97", "Y")],
    )
    result = run(seeded, tmp_path, HEADER + "888,97,3,,\n")
    assert result.exit_code == 1
    assert "exists in several Canvas instances" in result.stderr
    result = run(
        seeded, tmp_path, HEADER + "888,97,3,,\n", "--canvas-url", "https://other.canvas.example"
    )
    assert result.exit_code == 0, result.stderr
    with seeded.app_context(), session_scope(seeded) as db:
        assert db.query(Observation).one().platform_id == other
    result = run(
        seeded, tmp_path, HEADER + "812,97,3,,\n", "--canvas-url", "https://nowhere.example"
    )
    assert (
        result.exit_code == 1
        and "has not been synced from https://nowhere.example" in result.stderr
    )
