"""The drill-down: one student and target, every piece of evidence, the calculation in
words, the growth chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.evidence.observations import observed_days
from lti_app.grading import canvas_parity
from lti_app.grading.course_mastery import course_row, tool_evidence
from lti_app.grading.grid import (
    GridStudent,
    GridTarget,
    UnknownPair,
    canvas_evidence,
    grid_targets,
    level_index,
)
from lti_app.mastery.calculation import (
    Basis,
    Evidence,
    Policy,
    Result,
    SourceKind,
    current_level,
    ordered,
)
from lti_app.mastery.growth import Growth, growth
from lti_app.mastery.mapping import AnyMapping
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import (
    CanvasCourse,
    CourseAlignment,
    CourseOutcomeResult,
    CourseStudent,
)
from lti_app.translatable import Text, _l


@dataclass(frozen=True, slots=True)
class DrillEvidence:
    evidence: Evidence
    level_index: int | None
    source: str
    """In words: "Canvas: assignment 53 (3 of 4 points)", "Demonstration", "Teacher override"."""
    counts: bool
    """Used for the current level (evidence before a superseded override no longer counts)."""
    canvas_path: str | None = None
    """The assignment's page in Canvas ("/courses/11/assignments/53"), on the course's Canvas."""


@dataclass(frozen=True)
class Drill:
    course: CanvasCourse
    student: GridStudent
    target: GridTarget
    evidence: list[DrillEvidence]
    """Oldest first, in the order the calculation uses (Canvas order)."""
    result: Result
    growth: Growth
    level_index: int | None
    canvas_differs: bool = False
    """Canvas's own score for this pair differs from the tool's Canvas-method score."""
    canvas_shows: float | None = None
    """Canvas's score where it differs (None: Canvas shows nothing)."""


def drilldown(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    canvas_user_id: str,
    canvas_outcome_id: str,
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
    now: datetime,
) -> Drill:
    """One student and target of a synced course: evidence, calculation and growth."""
    course = course_row(db, platform_id, canvas_course_id)
    srow = db.execute(
        select(
            CourseStudent.canvas_user_id,
            CourseStudent.name,
            CourseStudent.sortable_name,
            CourseStudent.section_ids,
        ).where(
            CourseStudent.course_pk == course.id,
            CourseStudent.canvas_user_id == canvas_user_id,
        )
    ).one_or_none()
    target = next(
        (t for t in grid_targets(db, course.id) if t.canvas_outcome_id == canvas_outcome_id), None
    )
    if srow is None or target is None:
        raise UnknownPair(canvas_user_id, canvas_outcome_id)
    student = GridStudent(srow[0], srow[1], srow[2], tuple(srow[3]))
    # Where each Canvas result came from, for the evidence table.
    origin = {
        f"canvas:{rid}": (assignment, alignment, score, possible)
        for rid, assignment, alignment, score, possible in db.execute(
            select(
                CourseOutcomeResult.canvas_result_id,
                CourseOutcomeResult.canvas_assignment_id,
                CourseOutcomeResult.alignment,
                CourseOutcomeResult.score,
                CourseOutcomeResult.possible,
            ).where(
                CourseOutcomeResult.course_pk == course.id,
                CourseOutcomeResult.canvas_user_id == canvas_user_id,
                CourseOutcomeResult.canvas_outcome_id == canvas_outcome_id,
            )
        )
    }
    observed = {
        f"obs:{o.id}": o.observed_on
        for o in observed_days(db, platform_id, canvas_course_id, canvas_user_id, canvas_outcome_id)
    }
    key = (canvas_user_id, canvas_outcome_id)
    canvas = canvas_evidence(db, course.id, mapping, canvas_user_id, canvas_outcome_id)
    tool = tool_evidence(db, platform_id, canvas_course_id, canvas_user_id)
    items = [*canvas.get(key, []), *tool.get(key, [])]
    wanted = {alignment for _, alignment, _, _ in origin.values() if alignment}
    names = (
        dict(
            db.execute(
                select(CourseAlignment.alignment, CourseAlignment.name).where(
                    CourseAlignment.course_pk == course.id,
                    CourseAlignment.alignment.in_(sorted(wanted)),
                )
            ).all()
        )
        if wanted
        else {}
    )
    given = _basis_results(db, course, policy, mapping, tool, canvas_user_id, canvas_outcome_id)
    drill = _build_drill(
        course, student, target, items, scale, policy, now, origin, given, names, observed
    )
    differ = canvas_parity.differences(
        db, course, canvas_user_id=canvas_user_id, canvas_outcome_id=canvas_outcome_id
    )
    if key in differ:
        drill = replace(drill, canvas_differs=True, canvas_shows=differ[key])
    return drill


def _basis_results(
    db: Session,
    course: CanvasCourse,
    policy: Policy,
    mapping: AnyMapping,
    tool: dict[tuple[str, str], list[Evidence]],
    canvas_user_id: str,
    canvas_outcome_id: str | None = None,
) -> dict[tuple[str, str], Result]:
    """The levels in the "as Canvas" basis (empty in the district-level basis)."""
    if policy.basis is not Basis.CANVAS:
        return {}
    levels = canvas_parity.basis_levels(
        db,
        course,
        policy,
        mapping,
        tool,
        canvas_user_id=canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
        explain=True,
    )
    return {pair: level.result for pair, level in levels.items()}


def student_drills(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    canvas_user_id: str,
    targets: Sequence[GridTarget],
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
    now: datetime,
) -> dict[str, Drill]:
    """:func:`drilldown` for every target of one student, each source read once for that
    student (not once per target): the student's own pages. The evidence table's Canvas
    details (assignment, points) are left out; those pages do not show them."""
    course = course_row(db, platform_id, canvas_course_id)
    canvas = canvas_evidence(db, course.id, mapping, canvas_user_id)
    tool = tool_evidence(db, platform_id, canvas_course_id, canvas_user_id)
    student = GridStudent(canvas_user_id, "", "", ())
    given = _basis_results(db, course, policy, mapping, tool, canvas_user_id)
    out: dict[str, Drill] = {}
    for target in targets:
        key = (canvas_user_id, target.canvas_outcome_id)
        items = [*canvas.get(key, []), *tool.get(key, [])]
        out[target.canvas_outcome_id] = _build_drill(
            course, student, target, items, scale, policy, now, {}, given
        )
    return out


def _build_drill(
    course: CanvasCourse,
    student: GridStudent,
    target: GridTarget,
    evidence: list[Evidence],
    scale: Scale,
    policy: Policy,
    now: datetime,
    origin: dict[str, tuple[str | None, str | None, float | None, float | None]],
    given: dict[tuple[str, str], Result],
    names: dict[str, str | None] | None = None,
    observed: dict[str, date] | None = None,
) -> Drill:
    """Canvas evidence first, then the tool's own, put in Canvas order; the policy's level
    (``given`` in the "as Canvas" basis), which evidence it used, and growth."""
    items = ordered(evidence)
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    key = (student.canvas_user_id, target.canvas_outcome_id)
    result = level_result(items, key, scale, policy, given)
    used = set(result.used_evidence_ids)
    values = scale.values
    rows = [
        DrillEvidence(
            e,
            level_index(values, e.score),
            _source(e, origin.get(e.id or ""), names or {}, (observed or {}).get(e.id or "")),
            e.id in used,
            _canvas_path(course.canvas_course_id, origin.get(e.id or "")),
        )
        for e in items
    ]
    g = growth(items, policy, lo, hi, threshold, now, level=result)
    index = None if result.value is None else level_index(values, result.value)
    return Drill(course, student, target, rows, result, g, index)


def level_result(
    items: Sequence[Evidence],
    key: tuple[str, str],
    scale: Scale,
    policy: Policy,
    given: Mapping[tuple[str, str], Result],
) -> Result:
    """The policy's level of one pair from its evidence (already in Canvas order), or the one
    computed in the "as Canvas" basis (``given``, from :func:`canvas_parity.basis_levels`)."""
    if policy.basis is Basis.CANVAS:
        return given.get(key) or Result(None, policy.method, 0, explanation="no evidence yet")
    return current_level(items, policy, scale.min_value, scale.max_value, scale.mastery_threshold)


def _canvas_path(
    course_id: str, origin: tuple[str | None, str | None, float | None, float | None] | None
) -> str | None:
    """Canvas's own route to an assignment (on the course's Canvas: never a URL from a payload)."""
    assignment = origin[0] if origin else None
    if not assignment or not assignment.isdigit() or not course_id.isdigit():
        return None
    return f"/courses/{course_id}/assignments/{assignment}"


def _source(
    e: Evidence,
    origin: tuple[str | None, str | None, float | None, float | None] | None,
    names: dict[str, str | None],
    observed: date | None = None,
) -> Text:
    """Where a piece of evidence came from, in words the page says in the reader's language."""
    if e.kind is SourceKind.OVERRIDE:
        return _l("Teacher override")
    if e.kind is SourceKind.OBSERVATION:
        if observed:
            return _l("Observed by the teacher on %(day)s", day=observed)
        return _l("Observed by the teacher")
    if e.kind is SourceKind.DEMONSTRATION:
        return _l("Demonstration scored by the teacher")
    if origin is None:
        return _l("Canvas")
    assignment, alignment, score, possible = origin
    name = names.get(alignment) if alignment else None
    if name:
        where = _l("%(name)s (Canvas)", name=name)
    elif assignment:
        where = _l("Canvas assignment %(assignment)s", assignment=assignment)
    elif alignment:
        where = _l("Canvas (%(alignment)s)", alignment=alignment)
    else:
        where = _l("Canvas")
    if score is not None and possible:
        return _l(
            "%(where)s: %(score)s of %(possible)s points",
            where=where,
            score=score,
            possible=possible,
        )
    return where
