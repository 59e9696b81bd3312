"""Deliver a course's due write-back items to Canvas, verify them, and record the outcome.

One pass, under the course lease (``lease``):

1. load the due items; pick a teacher whose Canvas connection writes (the scorer's);
2. make sure each round's carrier exists with a criterion per needed target (``carriers``);
3. read what Canvas already holds for those students and targets: an item whose value Canvas
   already has is delivered without a write (this is what makes a re-run after a crash safe);
4. per carrier, write each remaining student's full set of rows (every row already on that
   carrier, from Canvas and from the outbox, plus the new ones: an assessment replaces all its
   rows, docs/canvas.md §3.5), in one bulk ``update_grades`` (one student: one submission PUT);
5. read the results back with backoff until they appear (Canvas writes them in a job,
   docs/canvas.md §3.4),
   and only then mark them delivered. Anything not confirmed retries later with backoff; after
   the last attempt it is shown to the teacher as failed, with the reason.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.errors import (
    CanvasError,
    CanvasUnavailable,
    NotFound,
    PermissionDenied,
    ReconnectRequired,
    Throttled,
    TokenInvalid,
    ValidationFailed,
)
from lti_app.canvas.connection import MissingApiKey, find_token, user_client_factory
from lti_app.db import session_scope
from lti_app.models.canvas import CourseOutcome, synced_course
from lti_app.models.writeback import DELIVERED, FAILED, PENDING, WritebackItem
from lti_app.policies.store import effective_policy
from lti_app.services import Services
from lti_app.writeback import lease
from lti_app.writeback.carriers import Carrier, CarrierKeeper, CarrierProblem, ratings_for
from lti_app.writeback.outbox import backoff

log = logging.getLogger("lti_app.writeback")

# Items per pass (a pass of a huge backlog ends and the next one continues).
MAX_ITEMS_PER_PASS = 2000
# Passes per delivery call: items scored while a pass ran are picked up by the next one.
MAX_PASSES = 5
# Read-back polling: first wait and the cap between reads (seconds).
VERIFY_FIRST_DELAY = 0.25
VERIFY_MAX_DELAY = 8.0
MAX_VERIFY_READS = 30
# Scores are compared with this tolerance (Canvas stores floats).
SAME = 1e-6

ClientFor = Callable[[str], CanvasClient]


@dataclass
class PassReport:
    due: int = 0
    already_there: int = 0
    written: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    requests: int = 0


@dataclass
class DeliveryReport:
    passes: list[PassReport] = field(default_factory=list)
    busy: bool = False  # another worker held the course

    @property
    def delivered(self) -> int:
        return sum(p.delivered for p in self.passes)

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.passes)


@dataclass(frozen=True)
class _Due:
    id: int
    user: str
    outcome: str
    kind: str
    round: int
    points: float
    comment: str | None
    teacher: str
    attempts: int


class _Permanent(Exception):
    """A failure retrying cannot fix (the teacher must act first)."""


class _Retry(CanvasUnavailable):
    """A transient failure of the pass itself, with its own reason."""


def reason_for(exc: BaseException) -> tuple[bool, str]:
    """(permanent, what the teacher reads) for a delivery failure; never a token or a body."""
    if isinstance(exc, _Permanent | CarrierProblem):
        return True, str(exc)
    if isinstance(exc, _Retry):
        return False, exc.message
    if isinstance(exc, ReconnectRequired | TokenInvalid):
        return True, (
            "Canvas no longer accepts your connection (the token expired or was revoked). "
            "Reconnect to Canvas on the Canvas sync page, then retry."
        )
    if isinstance(exc, MissingApiKey):
        return True, str(exc)
    if isinstance(exc, PermissionDenied):
        which = f" Missing: {exc.hint}." if exc.hint else ""
        return True, (
            "Canvas refused to let the tool grade in this course." + which + " The teacher "
            "who scored needs permission to grade (and the API key the grading scopes)."
        )
    if isinstance(exc, Throttled):
        return False, "Canvas asked the tool to slow down; it will try again."
    if isinstance(exc, CanvasUnavailable):
        return False, "Canvas did not answer reliably; the tool will try again."
    if isinstance(exc, NotFound):
        return False, "Canvas did not find the course or the tool's carrier assignment."
    if isinstance(exc, CanvasError):
        return False, f"Canvas answered unexpectedly: {exc.message}"
    return False, "An error in the tool stopped the delivery; it was logged."


def _now() -> datetime:
    return datetime.now(UTC)


def _services(app: Flask) -> Services:
    found: Services = app.extensions["mp_services"]
    return found


def default_holder() -> str:
    """Who holds a lease, within writeback_lease.holder's 64 characters: a pod name can be
    long, so the host part is cut (the random suffix keeps holders unique)."""
    host = socket.gethostname()[:24]
    return f"{host}:{os.getpid()}:{threading.get_ident() % 10**8}:{uuid.uuid4().hex[:12]}"


def deliver_course(
    app: Flask,
    platform_id: int,
    course_id: str,
    *,
    client_for: ClientFor | None = None,
    holder: str | None = None,
) -> DeliveryReport:
    """Deliver everything due in a course (the same code under threads and Celery)."""
    settings = _services(app).settings
    holder = holder or default_holder()
    report = DeliveryReport()
    if not lease.acquire(app, platform_id, course_id, holder, settings.writeback_lease_seconds):
        report.busy = True
        return report
    make = client_for or (
        lambda teacher: user_client_factory(app, _services(app), platform_id, teacher)
    )
    try:
        for _ in range(MAX_PASSES):
            one = _Pass(app, platform_id, course_id, holder, make).run()
            report.passes.append(one)
            if one.due == 0:
                break
    finally:
        lease.release(app, platform_id, course_id, holder)
    return report


class _Pass:
    def __init__(
        self, app: Flask, platform_id: int, course_id: str, holder: str, make: ClientFor
    ) -> None:
        self.app = app
        self.platform_id = platform_id
        self.course_id = course_id
        self.holder = holder
        self.make = make
        self.settings = _services(app).settings
        self.report = PassReport()
        self.gone: set[str] = set()

    # --- the pass ------------------------------------------------------------------------

    def run(self) -> PassReport:
        due = self._load_due()
        self.report.due = len(due)
        if not due:
            return self.report
        open_ids = {d.id for d in due}
        client: CanvasClient | None = None
        try:
            teacher = self._writer(due)
            client = self.make(teacher)
            with client:
                self._deliver(client, due, open_ids)
        except Exception as exc:  # every failure is recorded on the items, then logged
            permanent, reason = reason_for(exc)
            if not isinstance(exc, CanvasError | _Permanent | CarrierProblem | MissingApiKey):
                log.exception("writeback_pass_crashed course=%s", self.course_id)
            else:
                log.warning(
                    "writeback_pass_failed course=%s error=%s", self.course_id, type(exc).__name__
                )
            self._give_up_or_retry([d for d in due if d.id in open_ids], reason, permanent)
        finally:
            if client is not None:
                self.report.requests += client.stats.snapshot()["requests"]
        return self.report

    def _deliver(self, client: CanvasClient, due: list[_Due], open_ids: set[int]) -> None:
        targets = self._targets()
        unknown = [d for d in due if d.outcome not in targets]
        if unknown:
            self._give_up_or_retry(
                unknown,
                "This learning target is no longer in the course in Canvas; sync the course.",
                permanent=True,
            )
            open_ids.difference_update(d.id for d in unknown)
            due = [d for d in due if d.id in open_ids]
            if not due:
                return
        with session_scope(self.app) as db:
            ratings = ratings_for(effective_policy(db, self.platform_id, self.course_id))
        keeper = CarrierKeeper(self.app, client, self.platform_id, self.course_id, targets, ratings)
        carriers: dict[tuple[str, int], Carrier] = {}
        for kind, round_ in sorted({(d.kind, d.round) for d in due}):
            needed = {d.outcome for d in due if (d.kind, d.round) == (kind, round_)}
            carriers[(kind, round_)] = keeper.ensure(kind, round_, needed)
            self._renew()
        self._set_carriers(due, carriers)

        users = sorted({d.user for d in due})
        # Every row of the carriers involved, not only the due ones: the write sends back every
        # row the student has on the carrier, so each must be known (docs/canvas.md §3.5).
        outcomes = sorted({d.outcome for d in due}.union(*(c.criteria for c in carriers.values())))
        if all(c.new for c in carriers.values()):
            held: dict[tuple[str, str, str], float] = {}  # Canvas holds nothing on them yet
        else:
            held = self._held(client, users, outcomes)
        gone = [d for d in due if d.user in self.gone]
        if gone:
            # Canvas refuses bulk grading when any student in it left the course
            # (docs/canvas.md §3.3).
            self._give_up_or_retry(
                gone, "This student is no longer enrolled in the course in Canvas.", True
            )
            open_ids.difference_update(d.id for d in gone)
            due = [d for d in due if d.id in open_ids]
        there = [d for d in due if _holds(held, carriers[(d.kind, d.round)], d)]
        self._mark_delivered(there)
        self.report.already_there = len(there)
        open_ids.difference_update(d.id for d in there)
        to_write = [d for d in due if d.id in open_ids]
        if not to_write:
            return
        for slot in sorted({(d.kind, d.round) for d in to_write}):
            mine = [d for d in to_write if (d.kind, d.round) == slot]
            self._write(client, carriers[slot], mine, held)
            self._renew()
        self._mark_written(to_write)
        self.report.written = len(to_write)
        confirmed = self._verify(client, to_write, carriers)
        open_ids.difference_update(d.id for d in confirmed)
        late = [d for d in to_write if d.id in open_ids]
        if late:
            self._give_up_or_retry(
                late, "Canvas has not shown the result yet; the tool will check again.", False
            )
            open_ids.difference_update(d.id for d in late)

    # --- Canvas ----------------------------------------------------------------------------

    def _held(
        self, client: CanvasClient, users: list[str], outcomes: list[str]
    ) -> dict[tuple[str, str, str], float]:
        """What Canvas holds: (user, outcome, assignment id) -> score, for these students.

        A student no longer in the course makes Canvas refuse the whole list (docs/canvas.md
        §3.3); then each student is read alone and the refused ones are noted in ``self.gone``.
        """
        try:
            return self._read(client, users, outcomes)
        except ValidationFailed:
            held: dict[tuple[str, str, str], float] = {}
            for user in users:
                try:
                    held.update(self._read(client, [user], outcomes))
                except ValidationFailed:
                    self.gone.add(user)
            return held

    def _read(
        self, client: CanvasClient, users: list[str], outcomes: list[str]
    ) -> dict[tuple[str, str, str], float]:
        held: dict[tuple[str, str, str], float] = {}
        for result in client.outcome_results(
            self.course_id, user_ids=users, outcome_ids=outcomes, include_hidden=True
        ):
            if result.assignment_id is not None and result.score is not None:
                held[(result.user_id, result.outcome_id, str(result.assignment_id))] = result.score
        return held

    def _write(
        self,
        client: CanvasClient,
        carrier: Carrier,
        items: list[_Due],
        held: dict[tuple[str, str, str], float],
    ) -> None:
        """Every row each student has on the carrier plus the new ones, in one request."""
        by_user: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
        for (user, outcome, assignment_id), score in held.items():
            if assignment_id == carrier.assignment_id and outcome in carrier.criteria:
                by_user[user][carrier.criteria[outcome]] = {"points": score}
        with session_scope(self.app) as db:
            owed = db.execute(
                select(
                    WritebackItem.canvas_user_id,
                    WritebackItem.canvas_outcome_id,
                    WritebackItem.points,
                    WritebackItem.comment,
                ).where(
                    WritebackItem.carrier_id == carrier.id,
                    WritebackItem.canvas_user_id.in_({d.user for d in items}),
                    WritebackItem.status.in_((PENDING, DELIVERED)),
                )
            ).all()
        writing = {d.user for d in items}
        grade_data: dict[str, dict[str, dict[str, object]]] = {}
        for user in sorted(writing):
            rows = dict(by_user.get(user, {}))
            for uid, outcome, points, comment in owed:
                if uid == user and outcome in carrier.criteria:
                    row: dict[str, object] = {"points": points}
                    if comment:
                        row["comments"] = comment
                    rows[carrier.criteria[outcome]] = row
            grade_data[user] = rows
        if len(grade_data) == 1:
            ((user, rows),) = grade_data.items()
            client.assess_submission(self.course_id, carrier.assignment_id, user, rows)
            return
        progress = client.update_grades(
            self.course_id,
            carrier.assignment_id,
            {user: {"rubric_assessment": rows} for user, rows in grade_data.items()},
        )
        progress = client.wait_for_progress(
            progress, max_wait=self.settings.writeback_verify_seconds, first_delay=0.25
        )
        if progress.workflow_state == "failed":
            raise _Retry(f"Canvas's grading job failed: {progress.message or 'no reason given'}")

    def _verify(
        self, client: CanvasClient, written: list[_Due], carriers: dict[tuple[str, int], Carrier]
    ) -> list[_Due]:
        """Read back until every written result shows its value (or the wait is over)."""
        waiting = list(written)
        confirmed: list[_Due] = []
        delay = VERIFY_FIRST_DELAY
        deadline = time.monotonic() + self.settings.writeback_verify_seconds
        for _ in range(MAX_VERIFY_READS):
            # Results appear only after Canvas's job ran: a read at once is almost always wasted.
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
            held = self._held(
                client, sorted({d.user for d in waiting}), sorted({d.outcome for d in waiting})
            )
            now_there = [d for d in waiting if _holds(held, carriers[(d.kind, d.round)], d)]
            self._mark_delivered(now_there)
            confirmed.extend(now_there)
            done = {d.id for d in now_there}
            waiting = [d for d in waiting if d.id not in done]
            if not waiting or time.monotonic() >= deadline:
                break
            delay = min(delay * 2, VERIFY_MAX_DELAY)
            self._renew()
        return confirmed

    # --- the database --------------------------------------------------------------------

    def _load_due(self) -> list[_Due]:
        with session_scope(self.app) as db:
            rows = db.scalars(
                select(WritebackItem)
                .where(
                    WritebackItem.platform_id == self.platform_id,
                    WritebackItem.canvas_course_id == self.course_id,
                    WritebackItem.status == PENDING,
                    WritebackItem.next_attempt_at <= _now(),
                )
                .order_by(WritebackItem.id)
                .limit(MAX_ITEMS_PER_PASS)
            )
            return [
                _Due(
                    r.id,
                    r.canvas_user_id,
                    r.canvas_outcome_id,
                    r.kind,
                    r.round,
                    r.points,
                    r.comment,
                    r.teacher_canvas_user_id,
                    r.attempts,
                )
                for r in rows
            ]

    def _writer(self, due: list[_Due]) -> str:
        """The scorer whose Canvas connection writes: the latest scorer who has one."""
        with session_scope(self.app) as db:
            for teacher in dict.fromkeys(d.teacher for d in reversed(due)):
                if teacher and find_token(db, self.platform_id, teacher) is not None:
                    return teacher
        raise _Permanent(
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

    def _set_carriers(self, due: list[_Due], carriers: dict[tuple[str, int], Carrier]) -> None:
        with session_scope(self.app) as db:
            for d in due:
                item = db.get(WritebackItem, d.id)
                if item is not None:
                    item.carrier_id = carriers[(d.kind, d.round)].id

    def _update(self, ids: Iterable[int], apply: Callable[[WritebackItem], None]) -> None:
        with session_scope(self.app) as db:
            for item in db.scalars(select(WritebackItem).where(WritebackItem.id.in_(list(ids)))):
                apply(item)

    def _mark_written(self, items: list[_Due]) -> None:
        now = _now()

        def apply(item: WritebackItem) -> None:
            item.written_at = now

        self._update((d.id for d in items), apply)

    def _mark_delivered(self, items: list[_Due]) -> None:
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

    def _give_up_or_retry(self, items: list[_Due], reason: str, permanent: bool) -> None:
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

    def _renew(self) -> None:
        if not lease.renew(
            self.app,
            self.platform_id,
            self.course_id,
            self.holder,
            self.settings.writeback_lease_seconds,
        ):
            raise _Retry("Another worker took over this course's delivery.")


def _holds(held: dict[tuple[str, str, str], float], carrier: Carrier, item: _Due) -> bool:
    score = held.get((item.user, item.outcome, carrier.assignment_id))
    return score is not None and abs(score - item.points) <= SAME


__all__ = ["DeliveryReport", "PassReport", "deliver_course", "reason_for"]
