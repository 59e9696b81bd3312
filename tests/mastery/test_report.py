"""The course mastery report: JSON shape, CSV rows, hand-computed levels."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from lti_app.mastery.calculation import Evidence, Method, Policy
from lti_app.mastery.report import (
    CSV_FIELDS,
    ReportStudent,
    ReportTarget,
    build_report,
    write_csv,
)
from lti_app.mastery.scales import load_preset

T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(weeks=2)
SCALE = load_preset("marzano_0_4_half")
POLICY = Policy(Method.DECAYING_AVERAGE, 65)
STUDENTS = [
    ReportStudent("812", "Ava Jones", ("Period 2", "Reading Lab")),
    ReportStudent("813", '=HYPERLINK("x")', ("Period 2",)),
]
TARGETS = [ReportTarget("97", "RL.7.2 Central idea"), ReportTarget("98", "W.7.1 Argument")]


def report() -> dict[str, object]:
    evidence = {
        # 2.0 then 3.0 a week later: 0.65 x 3 + 0.35 x 2 = 2.65 -> level 2.5 (floor), not mastered
        ("812", "97"): [Evidence(3.0, T0 + timedelta(weeks=1)), Evidence(2.0, T0)],
        # one 3.5: mastered
        ("812", "98"): [Evidence(3.5, T0)],
    }
    return build_report("1201", SCALE, POLICY, STUDENTS, TARGETS, evidence, NOW)


def test_json_shape_and_hand_computed_levels() -> None:
    r = report()
    assert set(r) == {"course_id", "scale", "students"}
    assert r["course_id"] == "1201"
    scale = r["scale"]
    assert isinstance(scale, dict)
    assert scale["name"] == SCALE.name
    assert scale["levels"][0] == {"value": 0.0, "label": "Not yet", "mastery": False}
    assert scale["levels"][6] == {"value": 3.0, "label": "Proficient", "mastery": True}
    students = r["students"]
    assert isinstance(students, list)
    ava = students[0]
    assert set(ava) == {"canvas_user_id", "name", "sections", "targets"}
    assert ava["canvas_user_id"] == "812"
    assert ava["sections"] == ["Period 2", "Reading Lab"]
    first, second = ava["targets"]
    assert set(first) == {
        "canvas_outcome_id",
        "title",
        "level",
        "label",
        "mastered",
        "evidence_count",
        "canvas_score",
        "growth",
    }
    assert first["canvas_score"] is None  # no Canvas-method scores given
    assert first["canvas_outcome_id"] == "97"
    assert first["level"] == 2.65
    assert first["label"] == "Developing, partial on target content"
    assert first["mastered"] is False
    assert first["evidence_count"] == 2
    assert first["growth"]["first_level"] == 2.0
    assert first["growth"]["change"] == 0.65
    assert first["growth"]["status"] == "on_track"
    assert second["level"] == 3.5
    assert second["mastered"] is True
    assert second["growth"]["status"] == "mastered"
    json.dumps(r)  # serialisable as is


def test_no_evidence_is_null_level_not_zero() -> None:
    none = report()["students"][1]["targets"][0]  # type: ignore[index]
    assert none["level"] is None
    assert none["label"] is None
    assert none["mastered"] is False
    assert none["evidence_count"] == 0
    assert none["growth"]["status"] == "no_evidence"


def test_minimum_evidence_hides_level() -> None:
    strict = Policy(Method.LATEST, minimum_evidence=2)
    r = build_report(
        "1", SCALE, strict, STUDENTS[:1], TARGETS[1:], {("812", "98"): [Evidence(4.0, T0)]}, NOW
    )
    row = r["students"][0]["targets"][0]
    assert row["level"] is None
    assert row["evidence_count"] == 1
    assert row["growth"]["status"] == "not_enough_evidence"


def test_csv_one_row_per_student_and_target_spreadsheet_safe() -> None:
    out = io.StringIO()
    write_csv(report(), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) == len(STUDENTS) * len(TARGETS)
    first = rows[0]
    assert first["canvas_user_id"] == "812"
    assert first["sections"] == "Period 2; Reading Lab"
    assert first["level"] == "2.65"
    assert first["mastered"] == "false"
    assert first["growth"] == "0.65"
    assert rows[1]["level"] == "3.5"
    assert rows[1]["mastered"] == "true"
    # a formula-looking name is kept as text, and empty levels are empty cells
    assert rows[2]["name"] == '\'=HYPERLINK("x")'
    assert rows[2]["level"] == ""
