"""Rebuild the district aggregates (``lti_app.models.district``) for some students.

Run at the end of every course sync for that course's students, old and new (the after-sync
hook, in the sync's own transaction), and for everyone by ``flask district refresh``. Never at
request time: the dashboard only reads what this wrote.

A student's level on an account outcome is computed from their evidence on that outcome in
**every** synced course of the tenant (another term's course included: readiness is tracked
across courses and years), plus the tool's own evidence in the courses they are in now,
under the district policy with each piece at its district level (the policy's "district level"
basis: pieces from several courses have no single Canvas course to be scored "as Canvas" in).
Growth ("on track") is :func:`lti_app.mastery.growth.growth` on the same evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from lti_app.db import session_scope
from lti_app.grading.course_mastery import tool_evidence
from lti_app.grading.grid import level_index
from lti_app.mastery.calculation import Basis, Evidence
from lti_app.mastery.growth import GrowthStatus, growth
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    CourseOutcomeResult,
    CourseStudent,
    canvas_id_key,
)
from lti_app.models.district import LEAD_KEYS, DistrictCell, DistrictLevel
from lti_app.models.evidence_version import OwnEvidenceVersion, changes_since
from lti_app.policies.store import EffectivePolicy, effective_policy

ACCOUNT = "Account"
CHUNK = 400  # students per pass (keeps IN lists well below parameter limits)
COURSES_PER_PASS = 200  # courses whose evidence changed, per run of the periodic refresh


@dataclass(frozen=True)
class Membership:
    course_pk: int
    canvas_course_id: str
    canvas_user_id: str
    section_ids: tuple[str, ...]
    account_id: str
    term_id: str


def district_policy(db: Session, platform_id: int) -> EffectivePolicy:
    """The district's policy, with each piece of evidence at its district level."""
    eff = effective_policy(db, platform_id, None)
    return replace(eff, policy=replace(eff.policy, basis=Basis.DISTRICT_LEVEL))


def refresh_course(
    db: Session, platform_id: int, course_pk: int, now: datetime | None = None
) -> int:
    """After a sync of ``course_pk``: its students now and those it had before. Returns how
    many students were refreshed."""
    users = set(
        db.scalars(
            select(DistrictCell.canvas_user_id)
            .where(DistrictCell.platform_id == platform_id, DistrictCell.course_pk == course_pk)
            .distinct()
        )
    )
    users.update(
        db.scalars(select(CourseStudent.canvas_user_id).where(CourseStudent.course_pk == course_pk))
    )
    refresh_students(db, platform_id, users, now)
    return len(users)


def refresh_all(db: Session, platform_id: int, now: datetime | None = None) -> int:
    """Every student of every synced course of the tenant (after migration 0016, or by hand)."""
    users = set(
        db.scalars(
            select(CourseStudent.canvas_user_id)
            .join(CanvasCourse, CanvasCourse.id == CourseStudent.course_pk)
            .where(CanvasCourse.platform_id == platform_id)
        )
    )
    users.update(
        db.scalars(
            select(DistrictLevel.canvas_user_id).where(DistrictLevel.platform_id == platform_id)
        )
    )
    refresh_students(db, platform_id, users, now)
    return len(users)


def refresh_changed_evidence(app: Flask) -> int:
    """The students whose own evidence (demonstrations, observations, overrides) changed since
    the aggregates last counted it, each course's in its own transaction (the periodic job
    ``district.setup.TASK_EVIDENCE``: a teacher's override reaches the dashboard within a
    minute, not at the next sync). Returns how many students were refreshed.

    Each course's evidence version (``models.evidence_version``) is given out in commit order,
    so every pair stamped up to the version read here is committed and read; the course's
    ``district_version`` then moves up to it, never down (two runs at once redo work, no
    harm)."""
    with session_scope(app) as db:
        pending = db.execute(
            select(
                OwnEvidenceVersion.id,
                OwnEvidenceVersion.platform_id,
                OwnEvidenceVersion.canvas_course_id,
                OwnEvidenceVersion.version,
                OwnEvidenceVersion.district_version,
            )
            .where(OwnEvidenceVersion.version > OwnEvidenceVersion.district_version)
            .order_by(OwnEvidenceVersion.id)
            .limit(COURSES_PER_PASS)
        ).all()
    refreshed = 0
    for row_id, platform_id, course_id, version, counted in pending:
        with session_scope(app) as db:
            # Pairs stamped after ``version`` too: refreshed now and again next pass.
            _now, pairs = changes_since(db, platform_id, course_id, counted)
            users = {uid for uid, _ in pairs}
            refresh_students(db, platform_id, users)
            db.execute(
                update(OwnEvidenceVersion)
                .where(
                    OwnEvidenceVersion.id == row_id,
                    OwnEvidenceVersion.district_version < version,
                )
                .values(district_version=version)
            )
            refreshed += len(users)
    return refreshed


def refresh_students(
    db: Session, platform_id: int, users: Iterable[str], now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    eff = district_policy(db, platform_id)
    for chunk in _chunks(sorted(set(users)), CHUNK):
        _refresh(db, platform_id, chunk, eff, now)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_tenant(query: Any, course_pk: Any, platform_id: int) -> Any:
    """``query`` over rows of synced courses (``course_pk``), kept to the tenant's courses."""
    return query.join(CanvasCourse, CanvasCourse.id == course_pk).where(
        CanvasCourse.platform_id == platform_id
    )


def memberships(db: Session, platform_id: int, users: Sequence[str]) -> list[Membership]:
    """Where these students are now: every synced course of the tenant that lists them."""
    columns = select(
        CourseStudent.course_pk,
        CanvasCourse.canvas_course_id,
        CourseStudent.canvas_user_id,
        CourseStudent.section_ids,
        CanvasCourse.account_id,
        CanvasCourse.term_id,
    )
    rows = db.execute(
        in_tenant(columns, CourseStudent.course_pk, platform_id).where(
            CanvasCourse.last_synced_at.is_not(None), CourseStudent.canvas_user_id.in_(users)
        )
    ).all()
    return [
        Membership(pk, cid, uid, tuple(sections or ()), account or "", term or "")
        for pk, cid, uid, sections, account, term in rows
    ]


def account_targets(db: Session, course_pks: Iterable[int]) -> dict[int, list[str]]:
    """The account outcomes each course links (course outcomes are not district targets)."""
    out: dict[int, list[str]] = defaultdict(list)
    pks = sorted(set(course_pks))
    for i in range(0, len(pks), CHUNK):
        for pk, oid in db.execute(
            select(CourseOutcome.course_pk, CourseOutcome.canvas_outcome_id).where(
                CourseOutcome.course_pk.in_(pks[i : i + CHUNK]),
                CourseOutcome.context_type == ACCOUNT,
            )
        ):
            out[pk].append(oid)
    return out


def canvas_evidence(
    db: Session,
    platform_id: int,
    users: Sequence[str],
    outcomes: Sequence[str],
    eff: EffectivePolicy,
) -> dict[tuple[str, str], list[tuple[Evidence, int]]]:
    """Each (student, outcome)'s counted Canvas results in every synced course of the tenant,
    at their district level, in Canvas order, with the course they were earned in."""
    if not users or not outcomes:
        return {}
    r = CourseOutcomeResult
    columns = select(
        r.canvas_result_id,
        r.canvas_user_id,
        r.canvas_outcome_id,
        r.score,
        r.possible,
        r.submitted_or_assessed_at,
        r.course_pk,
    )
    counted = in_tenant(columns, r.course_pk, platform_id).where(
        r.canvas_user_id.in_(users),
        r.canvas_outcome_id.in_(outcomes),
        r.hidden.is_(False),
        r.from_carrier.is_(False),
        r.score.is_not(None),
        r.submitted_or_assessed_at.is_not(None),
    )
    rows = db.execute(counted).all()
    out: dict[tuple[str, str], list[tuple[Evidence, int]]] = defaultdict(list)
    to_level = eff.mapping.to_level
    for rid, uid, oid, score, possible, at, course_pk in sorted(
        rows, key=lambda row: canvas_id_key(row[0])
    ):
        level = to_level(score, possible) if score is not None else None
        if level is not None and at is not None:
            out[(uid, oid)].append((Evidence(level, at, id=f"canvas:{rid}"), course_pk))
    return out


def mark_leads(cells: list[dict[str, Any]]) -> None:
    """Set each cell's ``leads``: the first cell of each key (``LEAD_KEYS``) stands for it.
    ``cells`` holds every cell of its students, so the choice is complete per student."""
    seen: dict[int, set[tuple[Any, ...]]] = {lead: set() for lead in LEAD_KEYS}
    for cell in cells:
        bits = 0
        for lead, columns in LEAD_KEYS.items():
            key = tuple(cell[c] for c in columns)
            if key not in seen[lead]:
                seen[lead].add(key)
                bits |= lead
        cell["leads"] = bits


def _refresh(
    db: Session, platform_id: int, users: Sequence[str], eff: EffectivePolicy, now: datetime
) -> None:
    members = memberships(db, platform_id, users)
    targets = account_targets(db, (m.course_pk for m in members))
    pairs = {(m.canvas_user_id, oid) for m in members for oid in targets.get(m.course_pk, ())}
    outcomes = sorted({oid for _, oid in pairs})
    evidence: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for key, found in canvas_evidence(db, platform_id, users, outcomes, eff).items():
        evidence[key].extend(e for e, _ in found)
    wanted = set(users)
    for canvas_course_id in sorted({m.canvas_course_id for m in members}):
        for key, items in tool_evidence(db, platform_id, canvas_course_id).items():
            if key[0] in wanted and key in pairs:
                evidence[key].extend(items)

    scale, policy = eff.scale, eff.policy
    lo, hi, threshold, values = (
        scale.min_value,
        scale.max_value,
        scale.mastery_threshold,
        scale.values,
    )
    levels: list[dict[str, Any]] = []
    state: dict[tuple[str, str], tuple[int | None, bool, bool]] = {}
    for uid, oid in sorted(pairs):
        g = growth(evidence.get((uid, oid), ()), policy, lo, hi, threshold, now)
        index = level_index(values, g.current_level) if g.current_level is not None else None
        on_track = g.status is GrowthStatus.ON_TRACK
        state[(uid, oid)] = (index, g.mastered, on_track)
        levels.append(
            {
                "platform_id": platform_id,
                "canvas_user_id": uid,
                "canvas_outcome_id": oid,
                "level": g.current_level,
                "level_index": index,
                "mastered": g.mastered,
                "on_track": on_track,
                "evidence_count": g.evidence_count,
                "updated_at": now,
            }
        )
    cells: list[dict[str, Any]] = []
    for m in members:
        for oid in targets.get(m.course_pk, ()):
            index, mastered, on_track = state[(m.canvas_user_id, oid)]
            for section in m.section_ids or ("",):
                cells.append(
                    {
                        "platform_id": platform_id,
                        "course_pk": m.course_pk,
                        "canvas_section_id": section,
                        "account_id": m.account_id,
                        "term_id": m.term_id,
                        "canvas_user_id": m.canvas_user_id,
                        "canvas_outcome_id": oid,
                        "level_index": index,
                        "mastered": mastered,
                        "on_track": on_track,
                    }
                )
    mark_leads(cells)
    for model in (DistrictLevel, DistrictCell):
        db.execute(
            delete(model).where(model.platform_id == platform_id, model.canvas_user_id.in_(users))
        )
    if levels:
        db.execute(insert(DistrictLevel), levels)
    if cells:
        db.execute(insert(DistrictCell), cells)
