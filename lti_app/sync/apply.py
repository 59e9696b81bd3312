"""Make the database hold exactly one course snapshot: insert, update, delete; in the caller's
transaction, so a sync either replaces the course completely or changes nothing.

Idempotent (applying the same snapshot twice changes no row the second time) and incremental
(only changed columns are written; rows Canvas no longer reports are removed). Results on the
tool's own carrier assignments are flagged ``from_carrier`` here, from the carrier table in the
same transaction, so a carrier registered after a sync is honoured by the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from lti_app.models.canvas import (
    CanvasCourse,
    CarrierAssignment,
    CourseAlignment,
    CourseGradingPeriod,
    CourseObserver,
    CourseOutcome,
    CourseOutcomeResult,
    CourseRollup,
    CourseSection,
    CourseStudent,
)
from lti_app.sync.snapshot import CourseSnapshot, columns


@dataclass
class TableChanges:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class ApplySummary:
    course_pk: int
    tables: dict[str, TableChanges] = field(default_factory=dict)
    scale_changed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    # What was read besides plain rows (snapshot.ReadNotes) and which scale Canvas uses.
    read: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.scale_changed or any(t.changed for t in self.tables.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "changes": {
                name: {"added": t.added, "updated": t.updated, "removed": t.removed}
                for name, t in self.tables.items()
            },
            "scale_changed": self.scale_changed,
            "read": dict(self.read),
        }


def carrier_assignment_ids(db: Session, platform_id: int, canvas_course_id: str) -> set[str]:
    return {
        assignment_id
        for assignment_id in db.scalars(
            select(CarrierAssignment.canvas_assignment_id).where(
                CarrierAssignment.in_course(platform_id, canvas_course_id),
            )
        )
        if assignment_id is not None
    }


# Rows per statement for bulk deletes (keeps IN lists far below parameter limits).
CHUNK = 500


def _by_key(rows: Mapping[str, object]) -> dict[str, dict[str, Any]]:
    return {k: columns(v) for k, v in rows.items()}


def _sync_table(
    db: Session,
    model: Any,
    course_pk: int,
    key: str,
    desired: Mapping[str, dict[str, Any]],
) -> TableChanges:
    """Bulk statements, not one ORM object per row: a course has thousands of results."""
    changes = TableChanges()
    names = sorted(next(iter(desired.values())).keys()) if desired else [key]
    columns = [getattr(model, n) for n in names]
    existing = {
        getattr(row, key): row
        for row in db.execute(select(model.id, *columns).where(model.course_pk == course_pk)).all()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for canvas_id, values in desired.items():
        current = existing.get(canvas_id)
        if current is None:
            inserts.append({"course_pk": course_pk, **values})
        elif any(getattr(current, n) != values[n] for n in names):
            updates.append({"id": current.id, **values})
        else:
            changes.unchanged += 1
    doomed = [row.id for canvas_id, row in existing.items() if canvas_id not in desired]
    for i in range(0, len(doomed), CHUNK):
        db.execute(delete(model).where(model.id.in_(doomed[i : i + CHUNK])))
    if updates:
        db.execute(update(model), updates)  # ORM bulk UPDATE by primary key
    if inserts:
        db.execute(insert(model), inserts)
    changes.added, changes.updated, changes.removed = len(inserts), len(updates), len(doomed)
    return changes


def apply_snapshot(
    db: Session,
    platform_id: int,
    snapshot: CourseSnapshot,
    *,
    synced_at: datetime,
    sync_run_id: int | None = None,
) -> ApplySummary:
    """Replace the stored course with `snapshot`; the caller commits (or rolls back)."""
    course = db.scalar(
        select(CanvasCourse)
        .where(
            CanvasCourse.in_course(platform_id, snapshot.canvas_course_id),
        )
        # Two syncs of one course never interleave their writes (PostgreSQL; SQLite has one
        # writer anyway).
        .with_for_update()
    )
    scale = (
        [r.as_json() for r in snapshot.mastery_scale]
        if snapshot.mastery_scale is not None
        else None
    )
    if course is None:
        course = CanvasCourse(
            platform_id=platform_id,
            canvas_course_id=snapshot.canvas_course_id,
            scale_source=snapshot.scale_source,
            mastery_scale=scale,
            new_decaying_average=snapshot.new_decaying_average,
        )
        db.add(course)
        db.flush()
        scale_changed = True
    else:
        scale_changed = (
            course.scale_source != snapshot.scale_source
            or course.mastery_scale != scale
            or course.new_decaying_average != snapshot.new_decaying_average
        )
        course.scale_source = snapshot.scale_source
        course.mastery_scale = scale
        course.new_decaying_average = snapshot.new_decaying_average
    course.last_synced_at = synced_at
    course.last_sync_run_id = sync_run_id
    if snapshot.course_name is not None and course.name != snapshot.course_name:
        course.name = snapshot.course_name
    if snapshot.course_time_zone is not None and course.time_zone != snapshot.course_time_zone:
        course.time_zone = snapshot.course_time_zone
    for column, value in (
        ("account_id", snapshot.course_account_id),
        ("account_name", snapshot.course_account_name),
        ("account_parent_id", snapshot.course_account_parent_id),
        ("term_id", snapshot.course_term_id),
        ("term_name", snapshot.course_term_name),
    ):
        if value is not None and getattr(course, column) != value:
            setattr(course, column, value)

    carriers = carrier_assignment_ids(db, platform_id, snapshot.canvas_course_id)
    results: dict[str, dict[str, Any]] = {}
    for rid, result in snapshot.results.items():
        values = columns(result)
        values["from_carrier"] = result.canvas_assignment_id in carriers
        results[rid] = values

    summary = ApplySummary(course_pk=course.id, scale_changed=scale_changed)
    # Each course table, its Canvas key column and the rows Canvas has now (in this order).
    tables: tuple[tuple[str, Any, str, Mapping[str, dict[str, Any]]], ...] = (
        ("outcomes", CourseOutcome, "canvas_outcome_id", _by_key(snapshot.outcomes)),
        ("sections", CourseSection, "canvas_section_id", _by_key(snapshot.sections)),
        ("students", CourseStudent, "canvas_user_id", _by_key(snapshot.students)),
        ("results", CourseOutcomeResult, "canvas_result_id", results),
        (
            "rollups",
            CourseRollup,
            "rollup_key",
            {k: {"rollup_key": k, **columns(v)} for k, v in snapshot.rollups.items()},
        ),
        ("alignments", CourseAlignment, "alignment", _by_key(snapshot.alignments)),
        # Who may see which student: a link Canvas no longer reports is deleted, and with it
        # the observer's access to that student.
        ("observers", CourseObserver, "link_key", _by_key(snapshot.observers)),
    )
    for name, model, key, desired in tables:
        summary.tables[name] = _sync_table(db, model, course.id, key, desired)
    if snapshot.grading_periods is not None:  # None: not read this time, the stored stay
        summary.tables["grading_periods"] = _sync_table(
            db,
            CourseGradingPeriod,
            course.id,
            "canvas_grading_period_id",
            _by_key(snapshot.grading_periods),
        )
    summary.counts = {
        "outcomes": len(snapshot.outcomes),
        "sections": len(snapshot.sections),
        "students": len(snapshot.students),
        "results": len(results),
        "carrier_results": sum(1 for v in results.values() if v["from_carrier"]),
        "rollups": len(snapshot.rollups),
        "observers": len(snapshot.observers),
    }
    summary.read = {
        **snapshot.read.as_json(),
        "scale_source": snapshot.scale_source,
        "scale_basis": snapshot.scale_basis,
        "new_decaying_average": snapshot.new_decaying_average,
        "decaying_basis": snapshot.decaying_basis,
    }
    db.flush()
    return summary
