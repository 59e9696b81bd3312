"""Which pairs' own evidence changed, and in what order: a version per course and, per
(student, target), the course version of its last change.

Every transaction that adds, changes or deletes a demonstration, observation or override bumps
its course's version and stamps each changed pair with it, as the last statements before its
commit (session events on the unit of work and on INSERT, UPDATE and DELETE statements: no
writer can forget it). The bump is an upsert of the course's one row, so it holds that row's
lock until the commit ends: versions are given out in commit order, and a reader that sees
version V sees every pair stamped V or lower. The class grid
uses it to re-read only the pairs changed since the version it last read
(``grading.own_records``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Index, Integer, and_, event, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from lti_app.db import Base, insert_or_update
from lti_app.models.key_columns import (
    CourseRow,
    StudentTargetRow,
    course_unique,
    student_target_unique,
)
from lti_app.models.observation import Observation
from lti_app.models.pathways import Demonstration, MasteryOverride

#: The tables whose rows are the tool's own evidence.
EVIDENCE_MODELS = (Demonstration, Observation, MasteryOverride)

_PENDING = "own_evidence_changed"
"""``session.info`` key: the pairs the transaction changed, stamped at its commit."""

_STAMPS_PER_STATEMENT = 500  # 5 parameters a pair: well under SQLite's and psycopg's limits

Course = tuple[int, str]
Pair = tuple[str, str]


class OwnEvidenceVersion(CourseRow, Base):
    """One row a course: how many evidence-changing transactions it has had, and up to which
    of them the district aggregates count (``district.aggregate.refresh_changed_evidence``)."""

    __tablename__ = "own_evidence_version"
    __table_args__ = (course_unique("uq_own_evidence_version_course"),)

    version: Mapped[int] = mapped_column(Integer)
    district_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OwnEvidencePairVersion(StudentTargetRow, Base):
    """One row a (student, target) whose evidence ever changed: the course version of its
    last change."""

    __tablename__ = "own_evidence_pair_version"
    __table_args__ = (
        student_target_unique("uq_own_evidence_pair_version"),
        Index("ix_own_evidence_pair_version_since", "platform_id", "canvas_course_id", "version"),
    )

    version: Mapped[int] = mapped_column(Integer)


def course_version(db: Session, platform_id: int, canvas_course_id: str) -> int:
    """The course's evidence version (0: never changed since versions were kept)."""
    found = db.scalar(
        select(OwnEvidenceVersion.version).where(
            OwnEvidenceVersion.in_course(platform_id, canvas_course_id)
        )
    )
    return int(found or 0)


def changes_since(
    db: Session, platform_id: int, canvas_course_id: str, version: int
) -> tuple[int, set[Pair]]:
    """The course's version now and the pairs stamped after ``version``, in one statement
    (one snapshot: every pair stamped up to the version it gives is among them)."""
    v, p = OwnEvidenceVersion, OwnEvidencePairVersion
    rows = db.execute(
        select(v.version, p.canvas_user_id, p.canvas_outcome_id)
        .outerjoin(
            p,
            and_(
                p.platform_id == v.platform_id,
                p.canvas_course_id == v.canvas_course_id,
                p.version > version,
            ),
        )
        .where(v.in_course(platform_id, canvas_course_id))
    ).all()
    if not rows:
        return 0, set()
    return int(rows[0][0]), {(uid, oid) for _, uid, oid in rows if uid is not None}


@event.listens_for(Session, "before_flush")
def _collect(db: Session, _context: Any, _instances: Any) -> None:
    """Note the pairs this flush changes (their keys are still loaded before it)."""
    changed: dict[Course, set[Pair]] = db.info.setdefault(_PENDING, defaultdict(set))
    # Only evidence rows are looked at (a sync flushes thousands of others).
    edited = (r for r in db.dirty if isinstance(r, EVIDENCE_MODELS) and db.is_modified(r))
    for row in (*db.new, *edited, *db.deleted):
        if isinstance(row, EVIDENCE_MODELS):
            changed[(row.platform_id, row.canvas_course_id)].add(
                (row.canvas_user_id, row.canvas_outcome_id)
            )


@event.listens_for(Session, "before_commit")
def _stamp_at_commit(db: Session) -> None:
    """Stamp what the transaction changed as its last statements: the course's version row is
    locked from here to the end of the commit only, so writers of one course queue for the
    commit alone, not for each other's whole transactions."""
    db.flush()  # the commit's own flush comes after this hook: its pairs must be noted first
    stamp(db, db.info.pop(_PENDING, None) or {})


@event.listens_for(Session, "after_transaction_end")
def _forget(db: Session, transaction: Any) -> None:
    """A rolled-back transaction changed nothing."""
    if transaction.parent is None:
        db.info.pop(_PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE statement on an evidence table (not the unit of work): the
    pairs of the rows it names or will match are noted for the commit's stamp."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    model = mapper.class_ if mapper is not None else None
    if model not in EVIDENCE_MODELS:
        return
    assert model is not None
    keys = (
        model.platform_id,
        model.canvas_course_id,
        model.canvas_user_id,
        model.canvas_outcome_id,
    )
    changed: dict[Course, set[Pair]] = state.session.info.setdefault(_PENDING, defaultdict(set))
    statement: Any = state.statement
    if state.is_insert:
        given: Any = state.parameters
        rows: list[Mapping[str, Any]] = [given] if isinstance(given, dict) else list(given or [])
        if not rows:
            rows = [dict(statement.compile().params)]
        for row in rows:
            try:
                pid, course, uid, oid = (row[k.key] for k in keys)
            except KeyError:
                raise TypeError(
                    f"An insert into {model.__tablename__} must give its key columns as "
                    "parameters (one dict a row), so the pairs it changes are stamped."
                ) from None
            changed[(pid, course)].add((uid, oid))
    else:
        # The rows it will match, read first in the same transaction (a moved key column is
        # not supported: no writer changes which student or target a row is about).
        where = statement.whereclause
        found = select(*keys) if where is None else select(*keys).where(where)
        for pid, course, uid, oid in state.session.execute(found):
            changed[(pid, course)].add((uid, oid))


def stamp(db: Session, changed: Mapping[Course, Iterable[Pair]]) -> None:
    """Bump each changed course's version and stamp its changed pairs with it, courses in one
    order (two writers never wait on each other's courses crosswise)."""
    for (platform_id, course_id), pairs in sorted(changed.items()):
        bump = insert_or_update(db, OwnEvidenceVersion).values(
            platform_id=platform_id, canvas_course_id=course_id, version=1
        )
        bump = bump.on_conflict_do_update(
            index_elements=["platform_id", "canvas_course_id"],
            set_={"version": OwnEvidenceVersion.version + 1},
        ).returning(OwnEvidenceVersion.version)
        version = db.connection().execute(bump).scalar_one()
        ordered = sorted(set(pairs))
        for start in range(0, len(ordered), _STAMPS_PER_STATEMENT):
            upsert = insert_or_update(db, OwnEvidencePairVersion).values(
                [
                    {
                        "platform_id": platform_id,
                        "canvas_course_id": course_id,
                        "canvas_user_id": uid,
                        "canvas_outcome_id": oid,
                        "version": version,
                    }
                    for uid, oid in ordered[start : start + _STAMPS_PER_STATEMENT]
                ]
            )
            upsert = upsert.on_conflict_do_update(
                index_elements=[
                    "platform_id",
                    "canvas_course_id",
                    "canvas_user_id",
                    "canvas_outcome_id",
                ],
                set_={"version": upsert.excluded.version},
            )
            db.connection().execute(upsert)
