"""What the district dashboard shows, read from the aggregates (never from results).

Every figure counts a student once per target: at the district level straight from
``district_level`` (one row per student and target), below it from ``district_cell`` with
``COUNT(DISTINCT canvas_user_id)`` (a student in two courses of one school that both assess a
target has one level on it, so they land in one level's count once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    CourseSection,
    CourseStudent,
    outline_key,
    target_name,
)
from lti_app.models.district import DistrictCell, DistrictLevel, Lead

ACCOUNT = "Account"


@dataclass(frozen=True)
class Scope:
    """Which students a view counts: filters (term) and the drill-down's place."""

    term_id: str | None = None
    account_id: str | None = None
    course_pk: int | None = None
    section_id: str | None = None
    schools: frozenset[str] | None = None
    """A school admin's reach (:func:`schools_in_reach`); None: every school."""

    @property
    def whole_district(self) -> bool:
        return self == Scope()


class Shares:
    """The share mastered and on track of what a row counts (``counted``)."""

    mastered: int
    on_track: int

    @property
    def counted(self) -> int:
        raise NotImplementedError

    @property
    def share_mastered(self) -> float:
        return self.mastered / self.counted if self.counted else 0.0

    @property
    def share_on_track(self) -> float:
        return self.on_track / self.counted if self.counted else 0.0


@dataclass
class TargetRow(Shares):
    canvas_outcome_id: str
    name: str
    counts: list[int]
    """Students per level of the district scale (lowest first), then those with no level."""
    mastered: int = 0
    on_track: int = 0

    @property
    def students(self) -> int:
        return sum(self.counts)

    @property
    def counted(self) -> int:
        return self.students


@dataclass
class GroupRow(Shares):
    """One school, course or section: its students and their (student, target) pairs."""

    key: str
    name: str
    students: int = 0
    pairs: int = 0
    mastered: int = 0
    on_track: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return self.pairs


def account_targets(db: Session, platform_id: int) -> dict[str, str]:
    """The tenant's account outcomes linked in any synced course, in outline order: id ->
    name (one target however many courses link it)."""
    rows = db.execute(
        select(
            CourseOutcome.canvas_outcome_id,
            func.min(CourseOutcome.title),
            func.min(CourseOutcome.display_name),
            func.min(CourseOutcome.id),
        )
        .join(CanvasCourse, CanvasCourse.id == CourseOutcome.course_pk)
        .where(CanvasCourse.platform_id == platform_id, CourseOutcome.context_type == ACCOUNT)
        .group_by(CourseOutcome.canvas_outcome_id)
    ).all()
    paths = dict(
        db.execute(
            select(CourseOutcome.id, CourseOutcome.group_path).where(
                CourseOutcome.id.in_([r[3] for r in rows])
            )
        ).all()
    )
    ordered = sorted(rows, key=lambda r: outline_key(paths.get(r[3]) or [], r[1], r[0]))
    return {oid: target_name(title, friendly) for oid, title, friendly, _ in ordered}


def _scoped(query: Any, platform_id: int, scope: Scope) -> Any:
    """``query`` (a select over ``district_cell``) narrowed to the tenant and the scope."""
    c = DistrictCell
    query = query.where(c.platform_id == platform_id)
    if scope.term_id is not None:
        query = query.where(c.term_id == scope.term_id)
    if scope.account_id is not None:
        query = query.where(c.account_id == scope.account_id)
    if scope.course_pk is not None:
        query = query.where(c.course_pk == scope.course_pk)
    if scope.section_id is not None:
        query = query.where(c.canvas_section_id == scope.section_id)
    if scope.schools is not None:
        query = query.where(c.account_id.in_(sorted(scope.schools)))
    return query


def target_rows(
    db: Session, platform_id: int, scope: Scope, levels: int, only: set[str] | None = None
) -> list[TargetRow]:
    """Per account target: students per level (``levels`` levels, then "no level"), mastered
    and on track. ``only``: these targets (a course's own)."""
    # District-wide: one row per student and target already; below, the cells that stand
    # for their (student, target) in the scope.
    t: Any = DistrictLevel if scope.whole_district else DistrictCell
    query = select(
        t.canvas_outcome_id,
        t.level_index,
        func.count(),
        func.sum(case((t.mastered, 1), else_=0)),
        func.sum(case((t.on_track, 1), else_=0)),
    ).group_by(t.canvas_outcome_id, t.level_index)
    if scope.whole_district:
        query = query.where(t.platform_id == platform_id)
    else:
        query = _scoped(query, platform_id, scope)
        once = _pair_lead(scope)
        if once is not None:
            query = query.where(_has(once))
    names = account_targets(db, platform_id)
    rows: dict[str, TargetRow] = {}
    for oid, index, count, mastered, on_track in db.execute(query).all():
        if only is not None and oid not in only:
            continue
        row = rows.get(oid)
        if row is None:
            row = rows[oid] = TargetRow(oid, names.get(oid, f"outcome {oid}"), [0] * (levels + 1))
        slot = index if isinstance(index, int) and 0 <= index < levels else levels
        row.counts[slot] += int(count or 0)
        row.mastered += int(mastered or 0)
        row.on_track += int(on_track or 0)
    order = {oid: i for i, oid in enumerate(names)}
    return sorted(rows.values(), key=lambda r: (order.get(r.canvas_outcome_id, len(order)), r.name))


def _has(lead: Lead) -> Any:
    return DistrictCell.leads.op("&")(int(lead)) != 0


def _pair_lead(scope: Scope) -> Lead | None:
    """The lead that picks one cell per (student, target) in ``scope`` (None: cells are
    unique there already, one per section)."""
    if scope.section_id is not None:
        return None
    if scope.course_pk is not None:
        return Lead.COURSE
    if scope.account_id is not None or scope.schools is not None:
        # A reach of several schools counts a student in two of them once in each.
        return Lead.SCHOOL_TERM if scope.term_id is not None else Lead.SCHOOL
    return Lead.TERM


#: grouping -> (column, one cell per (student, target) in a group, one cell per student)
_GROUPINGS: dict[str, tuple[str, Lead | None, Lead]] = {
    "account": ("account_id", Lead.SCHOOL, Lead.STUDENT_SCHOOL),
    "account_term": ("account_id", Lead.SCHOOL_TERM, Lead.STUDENT_SCHOOL_TERM),
    "course": ("course_pk", Lead.COURSE, Lead.STUDENT_COURSE),
    "section": ("canvas_section_id", None, Lead.STUDENT_SECTION),
}


def group_rows(db: Session, platform_id: int, scope: Scope, by: str) -> list[GroupRow]:
    """Schools (``by="account"``), courses (``"course"``) or sections (``"section"``) in the
    scope, each with its students and the share of their (student, target) pairs mastered and
    on track; a student counted once per group and target (one pass over the cells, the
    leads marking which cell stands for whom)."""
    c = DistrictCell
    grouping = "account_term" if by == "account" and scope.term_id is not None else by
    column, pair, student = _GROUPINGS[grouping]
    key = getattr(c, column)

    def counted(condition: Any) -> Any:
        both = condition if pair is None else and_(_has(pair), condition)
        return func.sum(case((both, 1), else_=0))

    query = _scoped(
        select(
            key,
            func.sum(case((_has(student), 1), else_=0)),
            counted(true()),
            counted(c.mastered),
            counted(c.on_track),
        ).group_by(key),
        platform_id,
        scope,
    )
    out = [
        GroupRow(str(k), str(k), int(students or 0), int(n or 0), int(m or 0), int(o or 0))
        for k, students, n, m, o in db.execute(query).all()
    ]
    _name(db, platform_id, scope, by, out)
    return sorted(out, key=lambda g: (g.name.casefold(), g.key))


def _name(db: Session, platform_id: int, scope: Scope, by: str, rows: list[GroupRow]) -> None:
    if by == "course":
        courses = {
            str(row.id): row
            for row in db.scalars(
                select(CanvasCourse).where(
                    CanvasCourse.platform_id == platform_id,
                    CanvasCourse.id.in_([int(r.key) for r in rows]),
                )
            )
        }
        for r in rows:
            course = courses.get(r.key)
            if course is not None:
                r.name = course.name or f"course {course.canvas_course_id}"
                r.extra = {"canvas_course_id": course.canvas_course_id}
    elif by == "section" and scope.course_pk is not None:
        names = dict(
            db.execute(
                select(CourseSection.canvas_section_id, CourseSection.name).where(
                    CourseSection.course_pk == scope.course_pk
                )
            ).all()
        )
        for r in rows:
            r.name = names.get(r.key, r.key)
    # Schools are named by the views (the words are the reader's language).


def terms(db: Session, platform_id: int) -> list[tuple[str, str]]:
    """(term id, name) of the tenant's synced courses, for the filter."""
    rows = db.execute(
        select(CanvasCourse.term_id, func.min(CanvasCourse.term_name))
        .where(CanvasCourse.platform_id == platform_id, CanvasCourse.term_id.is_not(None))
        .group_by(CanvasCourse.term_id)
    ).all()
    return sorted(((str(t), str(n or t)) for t, n in rows), key=lambda x: x[1].casefold())


def school_names(db: Session, platform_id: int) -> dict[str, str]:
    """Each school's (sub-account's) name as Canvas gave it with its courses (a course synced
    before names were read has none: its school is named by its id)."""
    rows = db.execute(
        select(CanvasCourse.account_id, func.max(CanvasCourse.account_name))
        .where(
            CanvasCourse.platform_id == platform_id,
            CanvasCourse.account_id.is_not(None),
            CanvasCourse.account_name.is_not(None),
        )
        .group_by(CanvasCourse.account_id)
    ).all()
    return {str(account): str(name) for account, name in rows if name}


def schools_in_reach(db: Session, platform_id: int, account_id: str) -> frozenset[str]:
    """The schools an admin of the (sub-)account ``account_id`` sees: that account itself and
    every account directly under it that has synced courses (a region's schools)."""
    rows = db.scalars(
        select(CanvasCourse.account_id)
        .where(
            CanvasCourse.platform_id == platform_id,
            or_(
                CanvasCourse.account_id == account_id,
                CanvasCourse.account_parent_id == account_id,
            ),
        )
        .distinct()
    )
    return frozenset(str(a) for a in rows if a)


def school_known(db: Session, platform_id: int, account_id: str) -> bool:
    return (
        db.scalar(
            select(func.count())
            .select_from(CanvasCourse)
            .where(CanvasCourse.platform_id == platform_id, CanvasCourse.account_id == account_id)
        )
        or 0
    ) > 0


@dataclass(frozen=True)
class ClassGrid:
    students: list[tuple[str, str]]
    """(canvas user id, name) in roster order."""
    targets: list[tuple[str, str]]
    levels: dict[tuple[str, str], tuple[float | None, int | None]]
    """(user, outcome) -> (district level, level index)."""


def class_grid(db: Session, platform_id: int, course: CanvasCourse) -> ClassGrid:
    """A course's students on its account targets, at their district levels (read-only)."""
    students = [
        (uid, name)
        for uid, name in db.execute(
            select(CourseStudent.canvas_user_id, CourseStudent.name)
            .where(CourseStudent.course_pk == course.id)
            .order_by(CourseStudent.sortable_name, CourseStudent.canvas_user_id)
        )
    ]
    linked = set(
        db.scalars(
            select(CourseOutcome.canvas_outcome_id).where(
                CourseOutcome.course_pk == course.id, CourseOutcome.context_type == ACCOUNT
            )
        )
    )
    names = account_targets(db, platform_id)
    targets = [(oid, name) for oid, name in names.items() if oid in linked]
    users = [uid for uid, _ in students]
    levels: dict[tuple[str, str], tuple[float | None, int | None]] = {}
    if users and targets:
        t = DistrictLevel
        for uid, oid, level, index in db.execute(
            select(t.canvas_user_id, t.canvas_outcome_id, t.level, t.level_index).where(
                t.platform_id == platform_id,
                t.canvas_user_id.in_(users),
                t.canvas_outcome_id.in_(linked),
            )
        ):
            levels[(uid, oid)] = (level, index)
    return ClassGrid(students, targets, levels)
