"""The outbox side of a delivery pass: which items are due (and in which order they may go),
where the tool already wrote, and what each attempt did to each item (written, delivered,
retrying with backoff, failed with the reason). ``delivery`` does the Canvas side."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select

from lti_app.canvas.connection import find_token
from lti_app.db import session_scope
from lti_app.models.canvas import CarrierAssignment, CourseOutcome, synced_course
from lti_app.models.writeback import (
    DELIVERED,
    FAILED,
    KIND_DEMONSTRATION,
    PENDING,
    WritebackItem,
)
from lti_app.settings import Settings
from lti_app.writeback.outbox import backoff

# Items per pass (a pass of a huge backlog ends and the next one continues).
MAX_ITEMS_PER_PASS = 2000
# A write sent this long ago whose result is still not in Canvas is not waited for again.
RECENT_WRITE_SECONDS = 600.0


@dataclass
class PassReport:
    due: int = 0
    already_there: int = 0
    written: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    requests: int = 0


@dataclass(frozen=True)
class Due:
    id: int
    user: str
    outcome: str
    kind: str
    round: int
    points: float
    comment: str | None
    teacher: str
    attempts: int
    carrier_id: int | None = None
    written_at: datetime | None = None  # a write was sent: Canvas may hold it (or soon will)

    @property
    def written(self) -> bool:
        return self.written_at is not None


@dataclass(frozen=True)
class Held:
    score: float
    at: datetime | None


# (user, outcome, assignment id) -> what Canvas holds there
HeldMap = dict[tuple[str, str, str], Held]


class Permanent(Exception):
    """A failure retrying cannot fix (the teacher must act first)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite: naive UTC


class Ledger:
    """A pass's bookkeeping in the database, one short transaction per step."""

    def __init__(self, app: Flask, platform_id: int, course_id: str, settings: Settings) -> None:
        self.app = app
        self.platform_id = platform_id
        self.course_id = course_id
        self.settings = settings
        self.report = PassReport()
        self.carrier_of: dict[int, int] = {}  # item id -> carrier row id

    def _rows_in_outbox(self, users: set[str]) -> list[tuple[str, str, int, datetime]]:
        """Every row the tool wrote on a carrier for these students (whatever became of the
        item: a write is recorded before it is sent, so Canvas may hold it), with when."""
        with session_scope(self.app) as db:
            rows = db.execute(
                select(
                    WritebackItem.canvas_user_id,
                    WritebackItem.canvas_outcome_id,
                    WritebackItem.carrier_id,
                    WritebackItem.written_at,
                ).where(
                    WritebackItem.in_course(self.platform_id, self.course_id),
                    WritebackItem.canvas_user_id.in_(users),
                    WritebackItem.carrier_id.is_not(None),
                    WritebackItem.written_at.is_not(None),
                )
            ).all()
        return [(str(u), str(o), int(c or 0), _aware(w)) for u, o, c, w in rows if w is not None]

    def _students_written_for(self, users: list[str]) -> list[str]:
        with session_scope(self.app) as db:
            found = db.scalars(
                select(WritebackItem.canvas_user_id)
                .where(
                    WritebackItem.in_course(self.platform_id, self.course_id),
                    WritebackItem.canvas_user_id.in_(users),
                    WritebackItem.written_at.is_not(None),
                )
                .distinct()
            )
            return sorted(str(u) for u in found)

    def _load_due(self) -> list[Due]:
        """The due items, oldest first; an item waits while an older one of the same student
        and target is still waiting for its retry (Canvas must get them in order)."""
        now = _now()
        with session_scope(self.app) as db:
            waiting = {
                (str(u), str(o)): int(first)
                for u, o, first in db.execute(
                    select(
                        WritebackItem.canvas_user_id,
                        WritebackItem.canvas_outcome_id,
                        func.min(WritebackItem.id),
                    )
                    .where(
                        WritebackItem.in_course(self.platform_id, self.course_id),
                        WritebackItem.status == PENDING,
                        WritebackItem.next_attempt_at > now,
                    )
                    .group_by(WritebackItem.canvas_user_id, WritebackItem.canvas_outcome_id)
                )
            }
            found = db.scalars(
                select(WritebackItem)
                .where(
                    WritebackItem.in_course(self.platform_id, self.course_id),
                    WritebackItem.status == PENDING,
                    WritebackItem.next_attempt_at <= now,
                )
                .order_by(WritebackItem.id)
                .limit(MAX_ITEMS_PER_PASS)
            )
            rows = [
                r
                for r in found
                if waiting.get((r.canvas_user_id, r.canvas_outcome_id), r.id + 1) > r.id
            ]
            return [
                Due(
                    r.id,
                    r.canvas_user_id,
                    r.canvas_outcome_id,
                    r.kind,
                    r.round,
                    r.points,
                    r.comment,
                    r.teacher_canvas_user_id,
                    r.attempts,
                    r.carrier_id,
                    r.written_at,
                )
                for r in rows
            ]

    def _writer(self, due: list[Due]) -> str:
        """The scorer whose Canvas connection writes: the latest scorer who has one."""
        with session_scope(self.app) as db:
            for teacher in dict.fromkeys(d.teacher for d in reversed(due)):
                if teacher and find_token(db, self.platform_id, teacher) is not None:
                    return teacher
        raise Permanent(
            "No teacher who scored these is connected to Canvas. Connect to Canvas on the "
            "Canvas sync page, then retry."
        )

    def _targets(self) -> dict[str, str]:
        with session_scope(self.app) as db:
            course = synced_course(db, self.platform_id, self.course_id)
            if course is None:
                return {}
            rows = db.execute(
                select(CourseOutcome.canvas_outcome_id, CourseOutcome.title)
                .where(CourseOutcome.course_pk == course.id)
                .order_by(CourseOutcome.id)
            ).all()
        return {str(oid): str(title) for oid, title in rows}

    def _carrier_rounds(self) -> dict[int, tuple[int, str | None]]:
        """The course's carrier rows: id -> (round, Canvas assignment id)."""
        with session_scope(self.app) as db:
            rows = db.execute(
                select(
                    CarrierAssignment.id,
                    CarrierAssignment.round,
                    CarrierAssignment.canvas_assignment_id,
                ).where(
                    CarrierAssignment.in_course(self.platform_id, self.course_id),
                    CarrierAssignment.kind == KIND_DEMONSTRATION,
                )
            ).all()
        return {int(i): (int(r), None if a is None else str(a)) for i, r, a in rows}

    def _set_carriers(self, placed: dict[int, int]) -> None:
        """Record each item's carrier (before anything is written there)."""
        self.carrier_of.update(placed)

        def apply(item: WritebackItem) -> None:
            if item.written_at is None:
                item.carrier_id = placed[item.id]

        self._update(placed, apply)

    def _update(self, ids: Iterable[int], apply: Callable[[WritebackItem], None]) -> None:
        with session_scope(self.app) as db:
            for item in db.scalars(select(WritebackItem).where(WritebackItem.id.in_(list(ids)))):
                apply(item)

    def _mark_written(self, items: list[Due], carrier_id: int) -> None:
        """Committed before the write is sent: an item once sent stays on its carrier (Canvas
        may hold it there) and is looked for before it is written again."""
        now = _now()

        def apply(item: WritebackItem) -> None:
            item.written_at = now
            item.carrier_id = carrier_id

        self._update((d.id for d in items), apply)

    def _mark_delivered(self, items: list[Due]) -> None:
        if not items:
            return
        now = _now()

        def apply(item: WritebackItem) -> None:
            if item.status == PENDING:
                item.status = DELIVERED
                item.delivered_at = now
                item.last_error = None

        self._update((d.id for d in items), apply)
        self.report.delivered += len(items)

    def _give_up_or_retry(self, items: list[Due], reason: str, permanent: bool) -> None:
        if not items:
            return
        now = _now()
        limit = self.settings.writeback_max_attempts
        base = self.settings.writeback_retry_seconds
        failed = retrying = 0

        def apply(item: WritebackItem) -> None:
            nonlocal failed, retrying
            if item.status != PENDING:
                return
            item.attempts += 1
            item.last_error = reason
            if permanent or item.attempts >= limit:
                item.status = FAILED
                failed += 1
            else:
                item.next_attempt_at = now + backoff(item.attempts, base)
                retrying += 1

        self._update((d.id for d in items), apply)
        self.report.failed += failed
        self.report.retrying += retrying


def any_recent(items: list[Due]) -> bool:
    """Whether any of these writes is recent enough that Canvas's result job may still run."""
    now = _now()
    for d in items:
        at = d.written_at
        if at is None:
            continue
        if at.tzinfo is None:  # SQLite hands back naive UTC
            at = at.replace(tzinfo=UTC)
        if (now - at).total_seconds() < RECENT_WRITE_SECONDS:
            return True
    return False
