"""Deliver a course's due write-back items to Canvas, verify them, and record the outcome.

One pass, under the course lease (``lease``):

1. load the due items; pick a teacher whose Canvas connection writes (the scorer's);
2. read what Canvas holds for those students (every target: dates included);
3. an item already written once (a crash or a lost answer since) is looked for first, with
   backoff, because Canvas writes results in a job after the write (docs/canvas.md §3.4): found,
   it is delivered without writing again;
4. place every other item on a carrier (``placement``: the lowest one the student may re-save,
   so Canvas keeps the tool's order, docs/canvas.md §3.5) and make sure each carrier exists
   as the tool made it (``carriers``);
5. per carrier, in round order, record the write, then write each student's full set of rows
   (every row already on that carrier plus the new ones: an assessment replaces all its rows) in
   one bulk ``update_grades`` (one student: one submission PUT); a student Canvas could not find
   fails alone (docs/canvas.md §3.3);
6. read the results back with backoff until they appear and only then mark them delivered.
   Anything not confirmed retries later with backoff; after the last attempt it is shown to the
   teacher as failed, with the reason. A failure costs an attempt only to the items of the
   request that failed.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
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
from lti_app.canvas.connection import MissingApiKey, user_client_factory
from lti_app.db import session_scope
from lti_app.models.writeback import (
    KIND_DEMONSTRATION,
    WritebackItem,
)
from lti_app.policies.store import effective_policy
from lti_app.services import Services
from lti_app.writeback import lease
from lti_app.writeback.carriers import (
    Carrier,
    CarrierInFlight,
    CarrierKeeper,
    CarrierProblem,
    carrier_name,
    ratings_for,
)
from lti_app.writeback.ledger import (
    Due,
    Held,
    HeldMap,
    Ledger,
    PassReport,
    Permanent,
    any_recent,
)
from lti_app.writeback.placement import StudentResults, place

log = logging.getLogger("lti_app.writeback")

# Passes per delivery call: items scored while a pass ran are picked up by the next one.
MAX_PASSES = 5
# Read-back polling: first wait and the cap between reads (seconds).
VERIFY_FIRST_DELAY = 0.5
VERIFY_MAX_DELAY = 8.0
MAX_VERIFY_READS = 30
# Scores are compared with this tolerance (Canvas stores floats).
SAME = 1e-6
# Between two carriers' writes for one student in one pass: Canvas orders results by their
# date to the second and does not order ties (docs/canvas.md §3.5).
ORDER_GAP_SECONDS = 1.0
# "Newer than anything the tool wrote": a teacher's own result is a target's newest.
LATER = datetime.max.replace(tzinfo=UTC)
GONE_REASON = "This student is no longer in the course or not assigned the carrier in Canvas."
_MISSING_IDS = re.compile(r"Couldn't find User\(s\) with API ids (.*)$", re.DOTALL)

ClientFor = Callable[[str], CanvasClient]


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


def missing_user_ids(message: str | None) -> set[str]:
    """The students a failed bulk grading Progress names (``Submission.process_bulk_update``:
    ``Couldn't find User(s) with API ids 'a', 'b'``), or none."""
    found = _MISSING_IDS.search(message or "")
    if found is None:
        return set()
    return {part.strip().strip("'\"") for part in found.group(1).split(",") if part.strip()}


class _Retry(CanvasUnavailable):
    """A transient failure of the pass itself, with its own reason."""


def reason_for(exc: BaseException) -> tuple[bool, str]:
    """(permanent, what the teacher reads) for a delivery failure; never a token or a body."""
    if isinstance(exc, Permanent | CarrierProblem):
        return True, str(exc)
    if isinstance(exc, CarrierInFlight):
        return False, str(exc)
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
            one = _Pass(
                app, platform_id, course_id, holder, make, supplied=client_for is not None
            ).run()
            report.passes.append(one)
            if one.due == 0:
                break
    finally:
        lease.release(app, platform_id, course_id, holder)
    return report


class _Pass(Ledger):
    def __init__(
        self,
        app: Flask,
        platform_id: int,
        course_id: str,
        holder: str,
        make: ClientFor,
        *,
        supplied: bool = False,
    ) -> None:
        super().__init__(app, platform_id, course_id, _services(app).settings)
        self.holder = holder
        self.make = make
        # An operator's client (the CLI's --token) writes whoever scored: no stored
        # teacher connection is needed.
        self.supplied = supplied
        self.gone: set[str] = set()
        self.rows_on: dict[tuple[str, int], set[str]] = {}  # (student, carrier id) -> targets
        # The items of the Canvas request under way: a failure costs only them an attempt.
        self.involved: set[int] = set()

    # --- the pass ------------------------------------------------------------------------

    def run(self) -> PassReport:
        due = self._load_due()
        self.report.due = len(due)
        if not due:
            return self.report
        self.carrier_of = {d.id: d.carrier_id for d in due if d.carrier_id is not None}
        open_ids = {d.id for d in due}
        self.involved = set(open_ids)
        client: CanvasClient | None = None
        try:
            teacher = (due[-1].teacher or "") if self.supplied else self._writer(due)
            client = self.make(teacher)
            with client:
                self._deliver(client, due, open_ids)
        except Exception as exc:  # every failure is recorded on the items, then logged
            permanent, reason = reason_for(exc)
            if not isinstance(
                exc, CanvasError | Permanent | CarrierProblem | CarrierInFlight | MissingApiKey
            ):
                log.exception("writeback_pass_crashed course=%s", self.course_id)
            else:
                log.warning(
                    "writeback_pass_failed course=%s error=%s", self.course_id, type(exc).__name__
                )
            failing = [d for d in due if d.id in open_ids and d.id in self.involved]
            self._give_up_or_retry(failing, reason, permanent)
        finally:
            if client is not None:
                self.report.requests += client.stats.snapshot()["requests"]
        return self.report

    def _deliver(self, client: CanvasClient, due: list[Due], open_ids: set[int]) -> None:
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

        users = sorted({d.user for d in due})
        self.involved = set(open_ids)
        rounds = self._carrier_rounds()
        # Only a student the tool ever wrote for can have rows on a carrier (every write is
        # recorded before it is sent, with its time: the outbox knows each row and the order
        # Canvas dated them in). What it cannot know is a teacher's own newer result: the
        # rollups name each student's newest result per target (docs/canvas.md §3.19).
        readers = self._students_written_for(users)
        newer = self._newest_elsewhere(client, readers, rounds) if readers else {}
        gone = [d for d in due if d.user in self.gone]
        if gone:
            self._fail_gone(gone, open_ids)
            due = [d for d in due if d.id in open_ids]

        # Written once already (a crash or a lost answer since): Canvas may show it only after
        # its result job ran, so look (with backoff) before writing anything again.
        written = [d for d in due if d.written and d.carrier_id in rounds]
        held: HeldMap = {}
        if written:
            held = self._held(
                client, sorted({d.user for d in written}), sorted({d.outcome for d in written})
            )
        there = [d for d in written if _holds(held, rounds[self.carrier_of[d.id]][1], d)]
        self._mark_delivered(there)
        open_ids.difference_update(d.id for d in there)
        written = [d for d in written if d.id in open_ids]
        if written and any_recent(written):
            found = self._verify(client, written, rounds, wait=True)
            open_ids.difference_update(d.id for d in found)
            there += found
        self.report.already_there = len(there)
        due = [d for d in due if d.id in open_ids]
        if not due:
            return

        if any(aid is not None for _, aid in rounds.values()):
            # One read of the course's assignments serves every carrier check of the pass, and
            # shows a carrier a teacher deleted: created again, its results owed again.
            self.involved = set(open_ids)
            keeper.list_assignments()
            listed = keeper.listed or {}
            for round_, aid in sorted(rounds.values()):
                if aid is not None and aid not in listed:
                    keeper.ensure(KIND_DEMONSTRATION, round_, set())
            rounds = self._carrier_rounds()
        slots = self._place(due, newer, rounds)
        carriers: dict[int, Carrier] = {}
        for round_ in sorted({r for r, _ in slots.values()}):
            ids = {d.id for d in due if slots[d.id][0] == round_}
            self.involved = ids
            needed = {d.outcome for d in due if d.id in ids}
            carriers[round_] = keeper.ensure(KIND_DEMONSTRATION, round_, needed)
            self._renew()
        self._set_carriers({d.id: carriers[slots[d.id][0]].id for d in due})
        rounds = rounds | {c.id: (r, c.assignment_id) for r, c in carriers.items()}

        to_verify: list[Due] = []
        dated: set[tuple[str, str]] = set()  # (student, target) rows the writes so far re-date
        for round_ in sorted(carriers):
            mine = [d for d in due if slots[d.id][0] == round_ and d.id in open_ids]
            if not mine:
                continue
            these = self._dated_by(carriers[round_], mine)
            if dated & these and to_verify:
                # One student's target on two carriers in one pass: the later write must be
                # dated after the earlier one's results, to the second (docs/canvas.md §3.5).
                confirmed = self._verify(client, to_verify, rounds, wait=True)
                open_ids.difference_update(d.id for d in confirmed)
                self._late(to_verify, confirmed, open_ids)
                to_verify, dated = [], set()
                time.sleep(ORDER_GAP_SECONDS)
                self._renew()
            self.involved = {d.id for d in mine}
            self._mark_written(mine, carriers[round_].id)
            graded = self._write(client, carriers[round_], mine, held, open_ids)
            self.report.written += len(graded)
            to_verify.extend(graded)
            dated |= these
            self._renew()
        if to_verify:
            self.involved = {d.id for d in to_verify}
            confirmed = self._verify(client, to_verify, rounds, wait=True)
            open_ids.difference_update(d.id for d in confirmed)
            self._late(to_verify, confirmed, open_ids)

    def _late(self, written: list[Due], confirmed: list[Due], open_ids: set[int]) -> None:
        done = {d.id for d in confirmed}
        late = [d for d in written if d.id not in done and d.id in open_ids]
        if late:
            self._give_up_or_retry(
                late, "Canvas has not shown the result yet; the tool will check again.", False
            )
            open_ids.difference_update(d.id for d in late)

    def _fail_gone(self, gone: list[Due], open_ids: set[int]) -> None:
        self._give_up_or_retry(gone, GONE_REASON, True)
        open_ids.difference_update(d.id for d in gone)

    # --- placement -------------------------------------------------------------------------

    def _place(
        self,
        due: list[Due],
        newer: dict[str, set[str]],
        rounds: dict[int, tuple[int, str | None]],
    ) -> dict[int, tuple[int, int | None]]:
        """item id -> (carrier round, carrier id when it stays): a written item stays on its
        carrier (Canvas may hold it there); every other one is placed (``placement``).

        A student's rows on a carrier are all dated by that carrier's last save for them, which
        is the last write the outbox recorded there."""
        students: dict[str, StudentResults] = defaultdict(StudentResults)
        saved: dict[tuple[str, int], datetime] = {}
        for user, outcome, carrier_id, at in self._rows_in_outbox({d.user for d in due}):
            if carrier_id not in rounds:
                continue
            round_ = rounds[carrier_id][0]
            students[user].rows.setdefault(round_, {})[outcome] = None
            self.rows_on.setdefault((user, carrier_id), set()).add(outcome)
            saved[(user, round_)] = max(at, saved.get((user, round_), at))
        for (user, round_), at in saved.items():
            row = students[user].rows[round_]
            for outcome in row:
                row[outcome] = at
        for user, outcomes in newer.items():
            for outcome in outcomes:
                students[user].elsewhere[outcome] = LATER
        slots: dict[int, tuple[int, int | None]] = {}
        fresh: dict[str, list[Due]] = defaultdict(list)
        for d in due:
            if d.written and d.carrier_id in rounds:
                slots[d.id] = (rounds[d.carrier_id][0], d.carrier_id)
            else:
                fresh[d.user].append(d)
        for user, items in fresh.items():
            for d, round_ in zip(
                items, place(students[user], [d.outcome for d in items]), strict=True
            ):
                slots[d.id] = (round_, None)
        return slots

    def _dated_by(self, carrier: Carrier, items: list[Due]) -> set[tuple[str, str]]:
        """The (student, target) results a write to ``carrier`` dates anew: the new ones and
        every row those students already have there."""
        dated = {(d.user, d.outcome) for d in items}
        for user in {d.user for d in items}:
            dated |= {(user, o) for o in self.rows_on.get((user, carrier.id), ())}
        return dated

    def _newest_elsewhere(
        self, client: CanvasClient, users: list[str], rounds: dict[int, tuple[int, str | None]]
    ) -> dict[str, set[str]]:
        """Per student, the targets whose newest result in Canvas is not on a carrier (a
        teacher's own, recorded after the tool's last write): one rollups read, whose scores
        carry the newest result's title (its assignment's)."""
        names = {carrier_name(KIND_DEMONSTRATION, r) for r, _ in rounds.values()}
        try:
            rollups = client.outcome_rollups(self.course_id, user_ids=users, per_page="100")
        except ValidationFailed:
            # A student who left makes Canvas refuse the list (docs/canvas.md §3.3).
            rollups = []
            for user in users:
                try:
                    rollups += client.outcome_rollups(
                        self.course_id, user_ids=[user], per_page="100"
                    )
                except ValidationFailed:
                    self.gone.add(user)
        newer: dict[str, set[str]] = defaultdict(set)
        for rollup in rollups:
            for score in rollup.scores:
                if score.count and (score.title or "") not in names:
                    newer[rollup.user_id].add(score.outcome_id)
        return newer

    # --- Canvas ----------------------------------------------------------------------------

    def _held(self, client: CanvasClient, users: list[str], outcomes: list[str]) -> HeldMap:
        """What Canvas holds: (user, outcome, assignment id) -> score and date, for these
        students.

        A student no longer in the course makes Canvas refuse the whole list (docs/canvas.md
        §3.3); then each student is read alone and the refused ones are noted in ``self.gone``.
        """
        try:
            return self._read(client, users, outcomes)
        except ValidationFailed:
            held: HeldMap = {}
            for user in users:
                try:
                    held.update(self._read(client, [user], outcomes))
                except ValidationFailed:
                    self.gone.add(user)
            return held

    def _read(self, client: CanvasClient, users: list[str], outcomes: list[str]) -> HeldMap:
        held: HeldMap = {}
        if not users or not outcomes:
            return held
        for result in client.outcome_results(
            self.course_id, user_ids=users, outcome_ids=outcomes, include_hidden=True
        ):
            if result.assignment_id is not None and result.score is not None:
                key = (result.user_id, result.outcome_id, str(result.assignment_id))
                held[key] = Held(result.score, result.submitted_or_assessed_at)
        return held

    def _write(
        self,
        client: CanvasClient,
        carrier: Carrier,
        items: list[Due],
        held: HeldMap,
        open_ids: set[int],
    ) -> list[Due]:
        """Every row each student has on the carrier plus the new ones, in one request; returns
        the items Canvas graded (a student it could not find fails alone)."""
        by_user: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
        for (user, outcome, assignment_id), h in held.items():
            if assignment_id == carrier.assignment_id and outcome in carrier.criteria:
                by_user[user][carrier.criteria[outcome]] = {"points": h.score}
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
                    WritebackItem.written_at.is_not(None),
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
            try:
                client.assess_submission(self.course_id, carrier.assignment_id, user, rows)
            except NotFound:
                # The submission PUT answers 404 for a student not (or no longer) in the course.
                self._fail_gone(items, open_ids)
                return []
            return items
        progress = client.update_grades(
            self.course_id,
            carrier.assignment_id,
            {user: {"rubric_assessment": rows} for user, rows in grade_data.items()},
        )
        progress = client.wait_for_progress(
            progress, max_wait=self.settings.writeback_verify_seconds, first_delay=0.25
        )
        if progress.workflow_state != "failed":
            return sorted(items, key=lambda d: d.user)  # the order Canvas graded them
        missing = missing_user_ids(progress.message)
        if not missing:
            raise _Retry(f"Canvas's grading job failed: {progress.message or 'no reason given'}")
        # Process_bulk_update grades everyone it finds, then fails naming the others
        # (docs/canvas.md §3.3): those fail alone, the rest are read back as usual.
        named = [d for d in items if d.user in missing]
        self._fail_gone(named, open_ids)
        return sorted((d for d in items if d.user not in missing), key=lambda d: d.user)

    def _verify(
        self,
        client: CanvasClient,
        written: list[Due],
        rounds: dict[int, tuple[int, str | None]],
        *,
        wait: bool,
    ) -> list[Due]:
        """Read back until every written result shows its value (or the wait is over).

        Canvas runs the result jobs in the order it graded (one strand), so while the student
        written last shows nothing yet, only that student is read (one small page); then
        everyone is read at once.
        """
        waiting = [d for d in written if self.carrier_of.get(d.id) in rounds]
        confirmed: list[Due] = []
        delay = VERIFY_FIRST_DELAY
        deadline = time.monotonic() + self.settings.writeback_verify_seconds
        probe = waiting[-1].user if len({d.user for d in waiting}) > 1 else None
        for _ in range(MAX_VERIFY_READS):
            # Results appear only after Canvas's job ran: a read at once is almost always wasted.
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
            if probe is not None:
                mine = [d for d in waiting if d.user == probe]
                seen = self._held(client, [probe], sorted({d.outcome for d in mine}))
                if all(_holds(seen, rounds[self.carrier_of[d.id]][1], d) for d in mine):
                    probe, delay = None, 0.0  # the last one is there: read everyone now
                    continue
                if time.monotonic() >= deadline:
                    probe = None  # one full read before giving up
                    delay = 0.0
                    continue
                delay = min(delay * 2 or VERIFY_FIRST_DELAY, VERIFY_MAX_DELAY)
                self._renew()
                continue
            held = self._held(
                client, sorted({d.user for d in waiting}), sorted({d.outcome for d in waiting})
            )
            now_there = [d for d in waiting if _holds(held, rounds[self.carrier_of[d.id]][1], d)]
            self._mark_delivered(now_there)
            confirmed.extend(now_there)
            done = {d.id for d in now_there}
            waiting = [d for d in waiting if d.id not in done]
            if not waiting or not wait or time.monotonic() >= deadline:
                break
            delay = min(delay * 2 or VERIFY_FIRST_DELAY, VERIFY_MAX_DELAY)
            self._renew()
        return confirmed

    def _renew(self) -> None:
        if not lease.renew(
            self.app,
            self.platform_id,
            self.course_id,
            self.holder,
            self.settings.writeback_lease_seconds,
        ):
            raise _Retry("Another worker took over this course's delivery.")


def _holds(held: HeldMap, assignment_id: str | None, item: Due) -> bool:
    found = held.get((item.user, item.outcome, assignment_id or ""))
    return found is not None and abs(found.score - item.points) <= SAME
