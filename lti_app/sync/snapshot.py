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
SCALE_OUTCOMES = "outcome_ratings"  # off: each outcome's own ratings and points

# How the tool knows which of the two Canvas uses (docs/canvas.md §6.9).
BASIS_FLAG = "root_account_flag"  # read account_level_mastery_scales at the root account
BASIS_ROLLUPS = "rollups"  # inferred: Canvas's own rollups fit one scale and not the other
BASIS_OUTCOMES = "outcome_scoring"  # inferred: an outcome's scoring differs from the course scale
BASIS_ANSWER = "proficiency_answer"  # only whether outcome_proficiency answered (not proof)


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
    # The outcome's owner ("Account" for the district's own, shared by every course that
    # links it: the district dashboard keys targets by outcome id across courses).
    context_type: str | None = None
    context_id: str | None = None


@dataclass(frozen=True)
class SectionRow:
    canvas_section_id: str
    name: str


@dataclass(frozen=True)
class GradingPeriodRow:
    canvas_grading_period_id: str
    title: str
    start_date: datetime
    end_date: datetime
    close_date: datetime | None = None
    weight: float | None = None
    is_closed: bool = False


@dataclass(frozen=True)
class StudentRow:
    canvas_user_id: str
    name: str
    sortable_name: str
    login_id: str | None = None
    section_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ObserverRow:
    """An observer linked to a student of the course (an active ObserverEnrollment)."""

    link_key: str
    observer_user_id: str
    student_user_id: str


def observer_key(observer_user_id: str, student_user_id: str) -> str:
    return f"{observer_user_id}:{student_user_id}"


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
class RollupRow:
    """Canvas's own Learning Mastery Gradebook score for one student and outcome."""

    canvas_user_id: str
    canvas_outcome_id: str
    score: float | None
    count: int = 0


def rollup_key(canvas_user_id: str, canvas_outcome_id: str) -> str:
    return f"{canvas_user_id}:{canvas_outcome_id}"


@dataclass(frozen=True)
class ReadNotes:
    """What a sync read that is not a plain row: kept or skipped, counted for the sync page."""

    new_quizzes_results: int = 0
    hidden_results: int = 0
    other_alignment_results: int = 0  # aligned to a quiz, a discussion...: kept
    outcomes_linked_twice: int = 0  # kept once, under the first group
    results_of_students_who_left: int = 0  # skipped
    students_who_left: int = 0
    students_who_joined: int = 0  # their results arrive with the next sync
    results_of_unlinked_outcomes: int = 0  # deleted or unlinked outcomes: skipped
    rollups_read: bool = False
    rollup_users: int = 0
    # Pairs where Canvas's rollup differs from the tool's Canvas-method score for the same
    # results: 0 when the tool reproduces Canvas; otherwise a fact about that Canvas.
    rollup_disagreements: int = 0

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
    course_account_id: str | None = None
    course_account_name: str | None = None
    course_account_parent_id: str | None = None
    course_term_id: str | None = None
    course_term_name: str | None = None
    rollups: dict[str, RollupRow] = field(default_factory=dict)
    scale_basis: str = BASIS_ANSWER
    # outcomes_new_decaying_average_calculation: a stored standard_decaying_average runs as such
    new_decaying_average: bool = False
    decaying_basis: str = BASIS_ANSWER
    read: ReadNotes = field(default_factory=ReadNotes)
    observers: dict[str, ObserverRow] = field(default_factory=dict)
    """Observers of the course's students, by ``observer_key``."""
    grading_periods: dict[str, GradingPeriodRow] | None = None
    """None: not read this time (the stored periods are kept)."""


def columns(row: object) -> dict[str, Any]:
    """Column values of a row as the models store them (tuples become JSON lists)."""
    out: dict[str, Any] = {}
    for f in fields(row):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        if isinstance(value, tuple):
            value = [v.as_json() if isinstance(v, RatingRow) else v for v in value]
        out[f.name] = value
    return out
