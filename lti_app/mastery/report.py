"""The course mastery report: every student x target with level, mastery and growth.

One shape serves the ``mastery export`` CLI (JSON and CSV) and the teacher's download button,
so district scripts see the same fields wherever they get them::

    {"course_id", "scale": {"name", "levels": [{"value", "label", "mastery"}]},
     "students": [{"canvas_user_id", "name", "sections",
                   "targets": [{"canvas_outcome_id", "title", "level", "label", "mastered",
                                "evidence_count", "canvas_score", "growth"}]}]}

Canvas ids are strings; ``level`` is the value on the district scale (``None``, i.e. JSON
``null``, when there is too little evidence) and ``label`` the label of the level it falls in
(floor, as Canvas rates a rollup). ``canvas_score`` is the tool's Canvas-method score on the
Canvas scale (two decimals; ``null`` where Canvas shows nothing): what Canvas's Learning Mastery
Gradebook shows for the same results. ``growth`` is an object (see :func:`_growth_json`). The CSV
has one row per student and target with the same fields; ``sections`` is joined with "; " and
``growth`` is the change since the first evidence, with the other growth figures in their own
``growth_*`` columns.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from lti_app.mastery.calculation import Evidence, Policy, Result
from lti_app.mastery.growth import Growth, growth
from lti_app.mastery.scales import Scale

__all__ = [
    "CSV_FIELDS",
    "ReportStudent",
    "ReportTarget",
    "build_report",
    "csv_rows",
    "spreadsheet_text",
    "write_csv",
]


@dataclass(frozen=True, slots=True)
class ReportStudent:
    canvas_user_id: str
    name: str
    sections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReportTarget:
    canvas_outcome_id: str
    title: str


# The CSV columns and where each one's value stands in the report (``course_id`` is the
# report's, ``sections`` the student's joined); CSV_FIELDS puts them in order.
_STUDENT_CELLS = ("canvas_user_id", "name")
_TARGET_CELLS = (
    "canvas_outcome_id",
    "title",
    "level",
    "label",
    "mastered",
    "evidence_count",
    "canvas_score",
)
_GROWTH_CELLS = {
    "growth": "change",
    "growth_first_level": "first_level",
    "growth_trend_per_week": "trend_per_week",
    "growth_distance_to_threshold": "distance_to_threshold",
    "growth_projected_date": "projected_date",
    "growth_status": "status",
}
CSV_FIELDS = ("course_id", *_STUDENT_CELLS, "sections", *_TARGET_CELLS, *_GROWTH_CELLS)


def _growth_json(g: Growth) -> dict[str, Any]:
    return {
        "first_level": g.first_level,
        "change": g.change,
        "trend_per_week": g.trend_per_week,
        "distance_to_threshold": g.distance_to_threshold,
        "projected_date": g.projected_date.date().isoformat() if g.projected_date else None,
        "status": g.status.value,
    }


def build_report(
    course_id: str,
    scale: Scale,
    policy: Policy,
    students: Sequence[ReportStudent],
    targets: Sequence[ReportTarget],
    evidence: Mapping[tuple[str, str], Sequence[Evidence]],
    now: datetime,
    *,
    levels: Mapping[tuple[str, str], Result] | None = None,
    canvas_scores: Mapping[tuple[str, str], float | None] | None = None,
) -> dict[str, Any]:
    """The report for one course. ``evidence`` is keyed by (canvas_user_id, canvas_outcome_id);
    a missing key means no evidence. Students and targets keep the order given. ``levels``:
    the current levels when computed in the "as Canvas" basis (a missing key: no level);
    ``canvas_scores``: the Canvas-method score per pair."""
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    out_students: list[dict[str, Any]] = []
    for student in students:
        rows: list[dict[str, Any]] = []
        for target in targets:
            pair = (student.canvas_user_id, target.canvas_outcome_id)
            items = evidence.get(pair, ())
            given = None
            if levels is not None:
                given = levels.get(pair) or Result(None, policy.method, len(items))
            g = growth(items, policy, lo, hi, threshold, now, level=given)
            level = g.current_level
            found = scale.level_for(level) if level is not None else None
            rows.append(
                {
                    "canvas_outcome_id": target.canvas_outcome_id,
                    "title": target.title,
                    "level": level,
                    "label": found.label if found else None,
                    "mastered": g.mastered,
                    "evidence_count": g.evidence_count,
                    "canvas_score": (canvas_scores or {}).get(pair),
                    "growth": _growth_json(g),
                }
            )
        out_students.append(
            {
                "canvas_user_id": student.canvas_user_id,
                "name": student.name,
                "sections": list(student.sections),
                "targets": rows,
            }
        )
    return {
        "course_id": course_id,
        "scale": {
            "name": scale.name,
            "levels": [
                {"value": lv.value, "label": lv.label, "mastery": lv.value >= threshold}
                for lv in scale.levels
            ],
        },
        "students": out_students,
    }


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    return str(value)


def csv_rows(report: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """One flat row per student and target, keyed by :data:`CSV_FIELDS` (in their order)."""
    for student in report["students"]:
        for target in student["targets"]:
            g = target["growth"]
            row = {
                "course_id": _cell(report["course_id"]),
                "sections": "; ".join(student["sections"]),
            }
            row |= {column: _cell(student[column]) for column in _STUDENT_CELLS}
            row |= {column: _cell(target[column]) for column in _TARGET_CELLS}
            row |= {column: _cell(g[key]) for column, key in _GROWTH_CELLS.items()}
            yield {column: row[column] for column in CSV_FIELDS}


def spreadsheet_text(value: str) -> str:
    # A name like "=HYPERLINK(...)" must stay text when a teacher opens the file in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(report: Mapping[str, Any], stream: IO[str]) -> None:
    """The report as CSV (RFC 4180, header row first); text cells are spreadsheet-safe."""
    writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    text = ("name", "sections", "title", "label")
    rows: Iterable[dict[str, str]] = csv_rows(report)
    for row in rows:
        writer.writerow({k: (spreadsheet_text(v) if k in text else v) for k, v in row.items()})
