"""The standards-based progress report: for each student, each learning target (grouped as in
Canvas) with its level at the end of a period, the change over the period, the evidence in the
period and the teacher's comment; the scale's levels as the legend.

"As of" a moment means the evidence dated up to that moment only, run through the same engine
as every other page (``drill.level_result``: the policy's method in the district-level basis,
``canvas_parity`` in the "as Canvas" basis). The level at the start of the period is computed
the same way from the evidence before it, so the change is what happened during the period.

The periods are the course's Canvas grading periods (read in sync, docs/canvas.md §12) or any
date range the reader types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.grading import canvas_parity
from lti_app.grading.course_mastery import course_row, tool_evidence
from lti_app.grading.drill import level_result
from lti_app.grading.grid import (
    GridStudent,
    GridTarget,
    canvas_evidence,
    course_roster,
    grid_targets,
    level_index,
)
from lti_app.mastery.calculation import Basis, Evidence, Policy, Result, ordered, ruby_round2
from lti_app.mastery.canvas_rollup import CanvasScoring, ScoredResult
from lti_app.mastery.mapping import AnyMapping
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import CanvasCourse, CourseGradingPeriod
from lti_app.models.key_columns import StudentTarget
from lti_app.models.report import ReportComment

Pair = tuple[str, str]
COMMENT_MAX = 2000


class UnknownPeriod(LookupError):
    """The period asked for is neither one of the course's grading periods nor a valid range."""


class UnknownStudent(LookupError):
    """The student is not on the course's synced roster."""


@dataclass(frozen=True)
class Period:
    key: str
    """``gp:<Canvas id>`` or ``range:<start>:<end>`` (dates, both days included)."""
    title: str
    start: datetime | None
    """Evidence dated up to this is before the period (None: from the very first)."""
    end: datetime
    """Evidence dated up to and including this counts for the level at the period's end: a
    period holds ``start < at <= end``, as Canvas places dates (docs/canvas.md §12.1)."""
    closed: bool = False

    @property
    def is_range(self) -> bool:
        return self.key.startswith("range:")


@dataclass(frozen=True)
class TargetLine:
    target: GridTarget
    level: float | None
    level_index: int | None
    start_level: float | None
    change: float | None
    """Level at the end minus level at the start, both as computed (None without both)."""
    evidence: int
    """Pieces of evidence dated within the period."""
    comment: str


@dataclass(frozen=True)
class TargetGroup:
    name: str
    lines: list[TargetLine]


@dataclass(frozen=True)
class StudentReport:
    student: GridStudent
    groups: list[TargetGroup]


@dataclass(frozen=True)
class Report:
    course: CanvasCourse
    period: Period
    sections: list[tuple[str, str]]
    students: list[StudentReport]


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


def course_periods(db: Session, course_pk: int) -> list[Period]:
    """The course's grading periods as synced from Canvas, in start-date order."""
    rows = db.scalars(
        select(CourseGradingPeriod)
        .where(CourseGradingPeriod.course_pk == course_pk)
        .order_by(CourseGradingPeriod.start_date, CourseGradingPeriod.canvas_grading_period_id)
    )
    return [
        Period(f"gp:{p.canvas_grading_period_id}", p.title, p.start_date, p.end_date, p.is_closed)
        for p in rows
    ]


def range_period(start: date, end: date, title: str) -> Period:
    """A typed date range, both days included (UTC days, as the evidence times are stored)."""
    if end < start:
        raise UnknownPeriod("the range ends before it starts")
    begin = datetime.combine(start, time.min, UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)
    return Period(f"range:{start.isoformat()}:{end.isoformat()}", title, begin, finish)


def parse_range(key: str, title: str) -> Period:
    """``range:YYYY-MM-DD:YYYY-MM-DD`` back into a period."""
    try:
        _, start, end = key.split(":")
        return range_period(date.fromisoformat(start), date.fromisoformat(end), title)
    except ValueError as exc:
        raise UnknownPeriod(key) from exc


def choose_period(periods: Sequence[Period], key: str | None, now: datetime) -> Period | None:
    """The period named by ``key``; without one, the grading period ``now`` falls in, else the
    latest that has started, else the first. None when the course has none and none is named."""
    if key:
        found = next((p for p in periods if p.key == key), None)
        if found is None:
            raise UnknownPeriod(key)
        return found
    if not periods:
        return None
    current = [p for p in periods if (p.start is None or p.start <= now) and now <= p.end]
    if current:
        return current[0]
    started = [p for p in periods if p.start is None or p.start <= now]
    return started[-1] if started else periods[0]


# --------------------------------------------------------------------------------------------
# Levels as of a moment
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    """Everything the levels are computed from, read once for the course or one student."""

    items: dict[Pair, list[Evidence]]
    """Canvas and tool evidence per pair, in Canvas order."""
    rows: Mapping[Pair, Sequence[tuple[str, ScoredResult]]]
    """The "as Canvas" basis: Canvas results as its rollup reads them (empty otherwise)."""
    tool: Mapping[Pair, Sequence[Evidence]]


def _read_evidence(
    db: Session,
    platform_id: int,
    course: CanvasCourse,
    policy: Policy,
    mapping: AnyMapping,
    canvas_user_id: str | None,
) -> _Evidence:
    canvas = canvas_evidence(db, course.id, mapping, canvas_user_id)
    tool = tool_evidence(db, platform_id, course.canvas_course_id, canvas_user_id)
    items: dict[Pair, list[Evidence]] = {}
    for pair in set(canvas) | set(tool):
        items[pair] = ordered([*canvas.get(pair, []), *tool.get(pair, [])])
    rows: Mapping[Pair, Sequence[tuple[str, ScoredResult]]] = {}
    if policy.basis is Basis.CANVAS:
        rows = canvas_parity.canvas_results(
            db, course.id, with_carriers=False, canvas_user_id=canvas_user_id
        )
    return _Evidence(items, rows, tool)


def levels_as_of(
    evidence: _Evidence,
    scorings: Mapping[str, CanvasScoring],
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
    moment: datetime | None,
) -> dict[Pair, Result]:
    """Every pair's level from the evidence dated up to ``moment`` (None: before anything)."""

    def upto(at: datetime | None) -> bool:
        return moment is not None and at is not None and at <= moment

    given: dict[Pair, Result] = {}
    if policy.basis is Basis.CANVAS:
        rows = {p: [r for r in rs if upto(r[1].at)] for p, rs in evidence.rows.items()}
        tool = {p: [e for e in es if upto(e.at)] for p, es in evidence.tool.items()}
        computed = canvas_parity.basis_levels_from(
            {p: rs for p, rs in rows.items() if rs}, scorings, tool, policy, mapping
        )
        given = {pair: level.result for pair, level in computed.items()}
    out: dict[Pair, Result] = {}
    for pair, items in evidence.items.items():
        kept = [e for e in items if upto(e.at)]
        out[pair] = level_result(kept, pair, scale, policy, given)
    return out


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def comments(
    db: Session, platform_id: int, canvas_course_id: str, period: str, canvas_user_id: str | None
) -> dict[Pair, str]:
    query = select(
        ReportComment.canvas_user_id, ReportComment.canvas_outcome_id, ReportComment.text
    ).where(
        ReportComment.in_course(platform_id, canvas_course_id),
        ReportComment.period == period,
    )
    if canvas_user_id is not None:
        query = query.where(ReportComment.canvas_user_id == canvas_user_id)
    return {(uid, oid): text for uid, oid, text in db.execute(query)}


def build(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    period: Period,
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
    *,
    canvas_user_id: str | None = None,
    section: str | None = None,
) -> Report:
    """The report of one student (``canvas_user_id``), one section or the whole class."""
    course = course_row(db, platform_id, canvas_course_id)
    sections, students = course_roster(db, course.id, canvas_user_id)
    if canvas_user_id is not None and not students:
        raise UnknownStudent(canvas_user_id)
    if section:
        students = [s for s in students if section in s.section_ids]
    targets = grid_targets(db, course.id)
    evidence = _read_evidence(db, platform_id, course, policy, mapping, canvas_user_id)
    scorings = canvas_parity.scorings(db, course) if policy.basis is Basis.CANVAS else {}
    at_end = levels_as_of(evidence, scorings, scale, policy, mapping, period.end)
    at_start = (
        levels_as_of(evidence, scorings, scale, policy, mapping, period.start)
        if period.start is not None
        else {}
    )
    notes = comments(db, platform_id, canvas_course_id, period.key, canvas_user_id)
    reports = [
        StudentReport(
            student,
            _groups(
                student.canvas_user_id, targets, evidence, at_start, at_end, notes, scale, period
            ),
        )
        for student in students
    ]
    return Report(course, period, sections, reports)


def _groups(
    uid: str,
    targets: Sequence[GridTarget],
    evidence: _Evidence,
    at_start: Mapping[Pair, Result],
    at_end: Mapping[Pair, Result],
    notes: Mapping[Pair, str],
    scale: Scale,
    period: Period,
) -> list[TargetGroup]:
    groups: list[TargetGroup] = []
    for target in targets:  # in Canvas's outline order: a group's targets are consecutive
        pair = (uid, target.canvas_outcome_id)
        end = at_end.get(pair)
        start = at_start.get(pair)
        level = end.value if end is not None else None
        before = start.value if start is not None else None
        change = ruby_round2(level - before) if level is not None and before is not None else None
        count = sum(
            1
            for e in evidence.items.get(pair, ())
            if e.at <= period.end and (period.start is None or e.at > period.start)
        )
        line = TargetLine(
            target,
            level,
            None if level is None else level_index(scale.values, level),
            before,
            change,
            count,
            notes.get(pair, ""),
        )
        if not groups or groups[-1].name != target.group:
            groups.append(TargetGroup(target.group, []))
        groups[-1].lines.append(line)
    return groups


# --------------------------------------------------------------------------------------------
# The teacher's comments
# --------------------------------------------------------------------------------------------


def save_comment(db: Session, key: StudentTarget, period: str, text: str, written_by: str) -> None:
    """Write, replace or (with empty text) remove the comment on one student and target for
    one period. The caller has checked that the writer teaches the course and that the student
    and target belong to it."""
    text = text.strip()[:COMMENT_MAX]
    row = db.scalar(
        select(ReportComment).where(
            *(getattr(ReportComment, column) == value for column, value in key.items()),
            ReportComment.period == period,
        )
    )
    if not text:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(ReportComment(**key, period=period, text=text, written_by=written_by))
    else:
        row.text, row.written_by = text, written_by
