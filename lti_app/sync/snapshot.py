"""A complete, in-memory picture of one course as Canvas reported it during one sync.

Plain frozen rows keyed by their Canvas ids: ``fetch`` builds one from the API, ``apply`` turns
the database into exactly this picture. Nothing here knows HTTP or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

# Where the course's mastery scale came from.
SCALE_COURSE = "course_proficiency"  # account-level mastery scales on
SCALE_OUTCOMES = "outcome_ratings"  # off (the proficiency endpoint 404s): per-outcome ratings


@dataclass(frozen=True)
class RatingRow:
    points: float
    description: str
    mastery: bool | None = None
    color: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "description": self.description,
            "mastery": self.mastery,
            "color": self.color,
        }


@dataclass(frozen=True)
class OutcomeRow:
    canvas_outcome_id: str
    title: str
    canvas_group_id: str
    group_path: tuple[str, ...] = ()
    display_name: str | None = None
    description: str | None = None
    vendor_guid: str | None = None
    points_possible: float | None = None
    mastery_points: float | None = None
    ratings: tuple[RatingRow, ...] = ()
    calculation_method: str | None = None
    calculation_int: int | None = None


@dataclass(frozen=True)
class SectionRow:
    canvas_section_id: str
    name: str


@dataclass(frozen=True)
class StudentRow:
    canvas_user_id: str
    name: str
    sortable_name: str
    login_id: str | None = None
    section_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResultRow:
    canvas_result_id: str
    canvas_user_id: str
    canvas_outcome_id: str
    alignment: str | None
    canvas_assignment_id: str | None = None
    score: float | None = None
    possible: float | None = None
    percent: float | None = None
    mastery: bool | None = None
    hidden: bool = False
    submitted_or_assessed_at: datetime | None = None


@dataclass(frozen=True)
class AlignmentRow:
    alignment: str
    """Canvas's asset string ("assignment_53"), as in results' links.alignment."""
    name: str | None = None


@dataclass(frozen=True)
class CourseSnapshot:
    canvas_course_id: str
    scale_source: str
    mastery_scale: tuple[RatingRow, ...] | None
    outcomes: dict[str, OutcomeRow] = field(default_factory=dict)
    sections: dict[str, SectionRow] = field(default_factory=dict)
    students: dict[str, StudentRow] = field(default_factory=dict)
    results: dict[str, ResultRow] = field(default_factory=dict)
    alignments: dict[str, AlignmentRow] = field(default_factory=dict)
    """Names of what results were scored on (include[]=alignments), by asset string."""
    course_name: str | None = None
    course_time_zone: str | None = None


def columns(row: object) -> dict[str, Any]:
    """Column values of a row as the models store them (tuples become JSON lists)."""
    out: dict[str, Any] = {}
    for f in fields(row):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        if isinstance(value, tuple):
            value = [v.as_json() if isinstance(v, RatingRow) else v for v in value]
        out[f.name] = value
    return out
