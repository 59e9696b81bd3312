"""Wiring: a synced course's Canvas results, through the course's policy, into levels.

The one place that turns stored rows (``lti_app.models.canvas``) into domain evidence
(``lti_app.mastery``): the export CLI, the teacher's download and the admin's preview all call
it, so they can never disagree about which results count or how they map.

Which Canvas results become evidence: not hidden, not on the tool's own carrier assignments
(that evidence is the tool's own and is counted from its own records), with a score and a time.
A result's level is the policy's mapping applied to ``score`` of ``possible``.

The tool's own evidence joins it everywhere: scored demonstrations and the teacher overrides in
force (``lti_app.pathways.service``) and the teacher's observations (``lti_app.evidence``), so
the export, the preview, the grid and the drill-down all compute the same level from the same
evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, literal_column, select, union_all
from sqlalchemy.orm import Session

from lti_app.evidence.observations import observation_rows
from lti_app.grading import canvas_parity
from lti_app.mastery.calculation import (
    Basis,
    Evidence,
    Policy,
    SourceKind,
)
from lti_app.mastery.canvas_rollup import CanvasScoring, ScoredResult
from lti_app.mastery.mapping import AnyMapping
from lti_app.mastery.own_evidence import OwnRecord, own_item
from lti_app.mastery.report import ReportStudent, ReportTarget, build_report
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcomeResult,
    CourseSection,
    CourseStudent,
    canvas_id_key,
    outcomes_in_outline,
    synced_course,
)
from lti_app.pathways import service as pathways_service

__all__ = [
    "CourseData",
    "CourseNotSynced",
    "Preview",
    "PreviewChange",
    "course_report",
    "evidence_of",
    "load",
    "preview",
    "tool_evidence",
    "tool_records",
]


class CourseNotSynced(LookupError):
    """The course has never completed a sync for this platform."""


@dataclass(frozen=True)
class CourseData:
    course: CanvasCourse
    students: list[ReportStudent]
    targets: list[ReportTarget]
    results: list[CourseOutcomeResult]
    tool: dict[tuple[str, str], list[Evidence]] = field(default_factory=dict)
    """The tool's own evidence (demonstrations, observations, overrides in force), see
    :func:`tool_evidence`."""
    scorings: dict[str, CanvasScoring] = field(default_factory=dict)
    """What Canvas's rollup uses per outcome (``canvas_parity.scorings``)."""
    canvas_rows: dict[tuple[str, str], list[tuple[str, ScoredResult]]] = field(default_factory=dict)
    """Visible non-carrier Canvas results as the "as Canvas" basis reads them."""
    canvas_scores: dict[tuple[str, str], float | None] = field(default_factory=dict)
    """The tool's Canvas-method score per pair (what Canvas shows), for ``canvas_score``."""


def tool_records(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    canvas_user_id: str | None = None,
    pairs: Collection[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], tuple[OwnRecord, ...]]:
    """The tool's own evidence rows per (canvas_user_id, outcome id), for the whole course, for
    one student or for some ``pairs``, in one query: scored demonstrations, then observations,
    then the overrides in force, each oldest first (the order :func:`tool_evidence` gives
    them). Equal records make equal evidence, so they also tell whether a pair's evidence
    changed."""
    sources = (
        pathways_service.scored_rows(platform_id, canvas_course_id, canvas_user_id),
        observation_rows(platform_id, canvas_course_id, canvas_user_id),
        pathways_service.override_rows(platform_id, canvas_course_id, canvas_user_id),
    )
    # The source's rank as a constant written into the SQL (a bound parameter in a UNION has
    # no type PostgreSQL can infer).
    both = union_all(
        *(
            q.add_columns(literal_column(str(rank), Integer).label("rank"))
            for rank, q in enumerate(sources)
        )
    ).subquery()
    query = select(
        both.c.rank,
        both.c.id,
        both.c.canvas_user_id,
        both.c.canvas_outcome_id,
        both.c.level,
        both.c.at,
        both.c.reason,
    ).order_by(both.c.rank, both.c.at, both.c.id)
    if pairs is not None:  # their students and targets here, the pairs themselves below
        query = query.where(
            both.c.canvas_user_id.in_(sorted({uid for uid, _ in pairs})),
            both.c.canvas_outcome_id.in_(sorted({oid for _, oid in pairs})),
        )
    out: dict[tuple[str, str], list[OwnRecord]] = defaultdict(list)
    for rank, row_id, uid, oid, level, at, reason in db.execute(query):
        if pairs is not None and (uid, oid) not in pairs:
            continue
        if level is not None and at is not None:  # left out by the query; the types allow it
            out[(uid, oid)].append((_KINDS[rank], row_id, level, at, reason))
    return {pair: tuple(records) for pair, records in out.items()}


_KINDS = (SourceKind.DEMONSTRATION, SourceKind.OBSERVATION, SourceKind.OVERRIDE)
"""The sources of :func:`tool_records`, by rank."""


def tool_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Scored demonstrations, observations and the overrides in force, per (canvas_user_id,
    outcome id), for the whole course or for one student (:func:`tool_records`)."""
    return {
        pair: [own_item(*record) for record in records]
        for pair, records in tool_records(db, platform_id, canvas_course_id, canvas_user_id).items()
    }


def load(db: Session, platform_id: int, canvas_course_id: str) -> CourseData:
    """The synced course of this platform (tenant-scoped), its roster, targets and results."""
    course = course_row(db, platform_id, canvas_course_id)
    sections = {
        s.canvas_section_id: s.name
        for s in db.scalars(select(CourseSection).where(CourseSection.course_pk == course.id))
    }
    students = [
        ReportStudent(
            canvas_user_id=s.canvas_user_id,
            name=s.name,
            sections=tuple(sections.get(i, i) for i in s.section_ids),
        )
        for s in db.scalars(
            select(CourseStudent)
            .where(CourseStudent.course_pk == course.id)
            .order_by(CourseStudent.sortable_name, CourseStudent.canvas_user_id)
        )
    ]
    targets = [
        ReportTarget(o.canvas_outcome_id, o.title) for o in outcomes_in_outline(db, course.id)
    ]
    results = list(
        db.scalars(select(CourseOutcomeResult).where(CourseOutcomeResult.course_pk == course.id))
    )
    tool = tool_evidence(db, platform_id, canvas_course_id)
    return CourseData(
        course,
        students,
        targets,
        results,
        tool,
        canvas_parity.scorings(db, course),
        canvas_parity.canvas_results(db, course.id, with_carriers=False),
        canvas_parity.canvas_scores(db, course),
    )


def evidence_of(
    results: list[CourseOutcomeResult], mapping: AnyMapping
) -> dict[tuple[str, str], list[Evidence]]:
    """Evidence per (canvas_user_id, canvas_outcome_id), in the stored (Canvas) order."""
    out: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for r in sorted(results, key=lambda r: canvas_id_key(r.canvas_result_id)):
        if r.hidden or r.from_carrier or r.score is None or r.submitted_or_assessed_at is None:
            continue
        level = mapping.to_level(r.score, r.possible)
        if level is None:
            continue
        out[(r.canvas_user_id, r.canvas_outcome_id)].append(
            Evidence(level, r.submitted_or_assessed_at, id=f"canvas:{r.canvas_result_id}")
        )
    return out


def course_report(
    data: CourseData, scale: Scale, policy: Policy, mapping: AnyMapping, now: datetime
) -> dict[str, Any]:
    """The course report under ``policy``: in the "as Canvas" basis the levels come from
    ``canvas_parity`` (growth's first level and trend still from each piece's district level)."""
    levels = None
    if policy.basis is Basis.CANVAS:
        computed = canvas_parity.basis_levels_from(
            data.canvas_rows, data.scorings, data.tool, policy, mapping
        )
        levels = {pair: level.result for pair, level in computed.items()}
    return build_report(
        data.course.canvas_course_id,
        scale,
        policy,
        data.students,
        data.targets,
        merge_evidence(evidence_of(data.results, mapping), data.tool),
        now,
        levels=levels,
        canvas_scores=data.canvas_scores,
    )


@dataclass(frozen=True)
class PreviewChange:
    student: str
    target: str
    before: float | None
    before_label: str | None
    after: float | None
    after_label: str | None


@dataclass(frozen=True)
class Preview:
    pairs: int
    changed: int
    mastered_before: int
    mastered_after: int
    newly_mastered: int
    no_longer_mastered: int
    changes: list[PreviewChange]


def preview(before: dict[str, Any], after: dict[str, Any], limit: int = 25) -> Preview:
    """What a policy change would do to one course: two reports of the same course compared."""
    changes: list[PreviewChange] = []
    pairs = changed = m_before = m_after = newly = lost = 0
    for sb, sa in zip(before["students"], after["students"], strict=True):
        for tb, ta in zip(sb["targets"], sa["targets"], strict=True):
            pairs += 1
            m_before += tb["mastered"]
            m_after += ta["mastered"]
            newly += ta["mastered"] and not tb["mastered"]
            lost += tb["mastered"] and not ta["mastered"]
            if tb["level"] != ta["level"] or tb["label"] != ta["label"]:
                changed += 1
                changes.append(
                    PreviewChange(
                        sb["name"], tb["title"], tb["level"], tb["label"], ta["level"], ta["label"]
                    )
                )

    def size(c: PreviewChange) -> float:
        if c.before is None or c.after is None:
            return float("inf")
        return abs(c.after - c.before)

    changes.sort(key=size, reverse=True)
    return Preview(pairs, changed, m_before, m_after, newly, lost, changes[:limit])


ExtraEvidence = Mapping[tuple[str, str], Sequence[Evidence]]


def course_row(db: Session, platform_id: int, canvas_course_id: str) -> CanvasCourse:
    """The platform's synced course (tenant-scoped); CourseNotSynced before its first sync."""
    course = synced_course(db, platform_id, canvas_course_id)
    if course is None:
        raise CourseNotSynced(canvas_course_id)
    return course


def merge_evidence(
    canvas: dict[tuple[str, str], list[Evidence]], extra: ExtraEvidence | None
) -> dict[tuple[str, str], list[Evidence]]:
    if extra:
        for key, items in extra.items():
            canvas.setdefault(key, []).extend(items)
    return canvas
