"""The outbox: what the tool owes Canvas, written in the scoring transaction, and its status
for the teacher (pending, delivered, failed with the reason) with a retry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.orm import Session

from lti_app.mastery.mapping import MappingError
from lti_app.models.canvas import CarrierAssignment
from lti_app.models.key_columns import StudentTargetRow
from lti_app.models.pathways import Demonstration
from lti_app.models.writeback import (
    DELIVERED,
    FAILED,
    KIND_DEMONSTRATION,
    PENDING,
    WritebackItem,
)
from lti_app.policies.store import EffectivePolicy

# Canvas shows the row comment with the result; it names the pathway, never the teacher's note
# (which may be private feedback) and never more than a line.
COMMENT_LIMIT = 250


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue_demonstration(
    db: Session, demo: Demonstration, eff: EffectivePolicy
) -> WritebackItem | None:
    """Owe Canvas this scored demonstration, in the caller's transaction (see
    :func:`enqueue_result`)."""
    if demo.score is None:
        raise ValueError("only a scored demonstration is written back")
    label = eff.scale.level(demo.score).label
    return enqueue_result(
        db,
        eff,
        OwedResult.of(
            demo,
            demo.score,
            key=f"demo:{demo.id}",
            comment=f"{demo.title}, attempt {demo.attempt}: {label} (Mastery Pathways)",
            teacher_canvas_user_id=demo.scored_by or "",
            demonstration_id=demo.id,
        ),
    )


@dataclass(frozen=True)
class OwedResult:
    """One piece of the tool's evidence that Canvas should hold as an outcome result: a scored
    demonstration (``demo:<id>``), a teacher's observation (``obs:<id>``) or an override the
    teacher chose to send (``override:<id>``)."""

    platform_id: int
    canvas_course_id: str
    canvas_user_id: str
    canvas_outcome_id: str
    level: float
    key: str
    comment: str
    teacher_canvas_user_id: str
    demonstration_id: int | None = None

    @classmethod
    def of(
        cls,
        row: StudentTargetRow,
        level: float,
        *,
        key: str,
        comment: str,
        teacher_canvas_user_id: str,
        demonstration_id: int | None = None,
    ) -> OwedResult:
        """The result owed for ``row``'s student and target, at ``level``."""
        return cls(
            **row.student_target(),
            level=level,
            key=key,
            comment=comment,
            teacher_canvas_user_id=teacher_canvas_user_id,
            demonstration_id=demonstration_id,
        )


def enqueue_result(db: Session, eff: EffectivePolicy, owed: OwedResult) -> WritebackItem | None:
    """Owe Canvas this result, in the caller's transaction (see :func:`enqueue_results`)."""
    return enqueue_results(db, eff, [owed])[0]


# Keys per IN (...) query (well below SQLite's and PostgreSQL's parameter limits).
_CHUNK = 500


def enqueue_results(
    db: Session, eff: EffectivePolicy, owed: Sequence[OwedResult]
) -> list[WritebackItem | None]:
    """Owe Canvas these results of one course, in the caller's transaction, in this order.

    Each one's round is the student's next free result slot for the target, whatever the
    evidence's source: every piece is its own Canvas result, in the order the tool recorded
    them. Idempotent: a key already owed adds nothing (its item is returned). None for a
    level the mapping cannot express in Canvas points (a scale/mapping mismatch the settings
    page already reports). A few queries for the whole batch, one flush.
    """
    if not owed:
        return []
    platform_id, course_id = owed[0].platform_id, owed[0].canvas_course_id
    if any((o.platform_id, o.canvas_course_id) != (platform_id, course_id) for o in owed):
        raise ValueError("one course per batch")
    keys = [o.key for o in owed]
    existing: dict[str, WritebackItem] = {}
    for at in range(0, len(keys), _CHUNK):
        existing |= {
            i.idempotency_key: i
            for i in db.scalars(
                select(WritebackItem).where(
                    WritebackItem.platform_id == platform_id,
                    WritebackItem.idempotency_key.in_(keys[at : at + _CHUNK]),
                )
            )
        }
    users = sorted({o.canvas_user_id for o in owed})
    used: dict[tuple[str, str], int] = {}
    for at in range(0, len(users), _CHUNK):
        for uid, oid, top in db.execute(
            select(
                WritebackItem.canvas_user_id,
                WritebackItem.canvas_outcome_id,
                func.max(WritebackItem.round),
            )
            .where(
                WritebackItem.in_course(platform_id, course_id),
                WritebackItem.canvas_user_id.in_(users[at : at + _CHUNK]),
                WritebackItem.kind == KIND_DEMONSTRATION,
            )
            .group_by(WritebackItem.canvas_user_id, WritebackItem.canvas_outcome_id)
        ):
            used[(uid, oid)] = int(top or 0)
    out: list[WritebackItem | None] = []
    now = _now()
    for o in owed:
        if o.key in existing:
            out.append(existing[o.key])
            continue
        try:
            points = eff.mapping.to_canvas_points(o.level)
        except MappingError:
            out.append(None)
            continue
        pair = (o.canvas_user_id, o.canvas_outcome_id)
        used[pair] = used.get(pair, 0) + 1
        item = WritebackItem(
            platform_id=platform_id,
            canvas_course_id=course_id,
            canvas_user_id=o.canvas_user_id,
            canvas_outcome_id=o.canvas_outcome_id,
            kind=KIND_DEMONSTRATION,
            round=used[pair],
            idempotency_key=o.key,
            demonstration_id=o.demonstration_id,
            level=o.level,
            label=eff.scale.level(o.level).label[:200],
            points=points,
            comment=o.comment[:COMMENT_LIMIT],
            teacher_canvas_user_id=o.teacher_canvas_user_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        db.add(item)
        existing[o.key] = item
        out.append(item)
    db.flush()
    return out


SOURCES = {"demo": "demonstration", "obs": "observation", "override": "override"}


def source_of(key: str) -> str:
    """What an item carries, from its idempotency key (``demo:``, ``obs:``, ``override:``)."""
    return SOURCES.get(key.split(":", 1)[0], "result")


def retry(
    db: Session, platform_id: int, canvas_course_id: str, item_ids: list[int] | None = None
) -> int:
    """Send failed items again (all of the course's, or the ones named); returns how many."""
    query = (
        update(WritebackItem)
        .where(
            WritebackItem.in_course(platform_id, canvas_course_id),
            WritebackItem.status == FAILED,
        )
        .values(status=PENDING, attempts=0, next_attempt_at=_now(), last_error=None)
    )
    if item_ids is not None:
        query = query.where(WritebackItem.id.in_(item_ids))
    return int(getattr(db.execute(query), "rowcount", 0) or 0)


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Delay before attempt ``attempts + 1``: base, 2x base, 4x base... at most 30 minutes."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 1800.0))


# --- what the teacher sees ------------------------------------------------------------------


@dataclass(frozen=True)
class CourseStatus:
    pending: int
    delivered: int
    failed: int
    # The batch in flight: what is pending plus what was settled (delivered or failed) since
    # the oldest pending item was created. A progress bar shows done / total.
    batch_total: int
    batch_done: int

    @property
    def total(self) -> int:
        return self.pending + self.delivered + self.failed

    @property
    def batch_percent(self) -> int:
        return 100 if not self.batch_total else int(100 * self.batch_done / self.batch_total)


def count_in_state(platform_id: int, canvas_course_id: str, status: str) -> ScalarSelect[int]:
    """The course's items in ``status``, as a subquery for a one-statement summary."""
    return (
        select(func.count())
        .where(
            WritebackItem.in_course(platform_id, canvas_course_id), WritebackItem.status == status
        )
        .scalar_subquery()
    )


def course_status(db: Session, platform_id: int, canvas_course_id: str) -> CourseStatus:
    scope = WritebackItem.in_course(platform_id, canvas_course_id)
    counts = dict(
        db.execute(
            select(WritebackItem.status, func.count()).where(scope).group_by(WritebackItem.status)
        ).all()
    )
    oldest = db.scalar(
        select(func.min(WritebackItem.created_at)).where(scope, WritebackItem.status == PENDING)
    )
    batch_total = batch_done = 0
    if oldest is not None:
        # Something has been pending since ``oldest``: every item settled since then was pending
        # then or came later, so it belongs to this batch (counting by creation instead would
        # shrink the batch as its oldest items are delivered, and the bar would not move).
        batch_done = int(
            db.scalar(
                select(func.count()).where(
                    scope, WritebackItem.status != PENDING, WritebackItem.updated_at >= oldest
                )
            )
            or 0
        )
        batch_total = counts.get(PENDING, 0) + batch_done
    return CourseStatus(
        pending=counts.get(PENDING, 0),
        delivered=counts.get(DELIVERED, 0),
        failed=counts.get(FAILED, 0),
        batch_total=batch_total,
        batch_done=batch_done,
    )


def course_items(db: Session, platform_id: int, canvas_course_id: str) -> list[WritebackItem]:
    """Every item of the course, newest first (the status table)."""
    return list(
        db.scalars(
            select(WritebackItem)
            .where(
                WritebackItem.in_course(platform_id, canvas_course_id),
            )
            .order_by(WritebackItem.created_at.desc(), WritebackItem.id.desc())
        )
    )


def carrier_repairs(db: Session, platform_id: int, canvas_course_id: str) -> list[tuple[str, str]]:
    """(carrier name, what the tool last repaired on it in Canvas), for the teacher."""
    rows = db.execute(
        select(CarrierAssignment.name, CarrierAssignment.repair_note)
        .where(
            CarrierAssignment.in_course(platform_id, canvas_course_id),
            CarrierAssignment.repair_note.is_not(None),
        )
        .order_by(CarrierAssignment.round)
    ).all()
    return [(str(name), str(note)) for name, note in rows]
