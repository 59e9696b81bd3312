"""One account-wide sync, driven from the foreground (the CLI, the benchmark): list the
courses, queue them a few at a time on the background seam, watch their ``sync_run`` rows,
report each as it finishes.

A course that fails is named with its reason and the others go on; once Canvas rejects the
token every later course would fail the same way, so nothing more is queued and the rest are
reported as not started. A worker that dies leaves its run "running" until the reaper fails it
as interrupted; the next run (with ``since``) does only what did not succeed. A course still
waiting in the queue is kept alive by this loop, however long the syncs ahead of it take.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from lti_app.canvas.client.types import AccountCourse
from lti_app.db import session_scope
from lti_app.models.canvas import SYNC_FAILED, SYNC_SUCCEEDED, SyncRun
from lti_app.sync import errors, service
from lti_app.sync.account import account_client, queue_course, throttled_of
from lti_app.tasks.runner import QueueFull

# Courses queued at once: enough to keep the workers and the token's three requests in
# flight busy, few enough that a token rejection stops the run early.
WINDOW = 4
POLL_SECONDS = 0.1
MAX_HOURS = 12.0


@dataclass(frozen=True)
class CourseOutcome:
    course_id: str
    name: str
    ok: bool
    error_code: str | None
    error_message: str | None
    results: int
    requests: int
    throttled: int


@dataclass
class AccountReport:
    total: int = 0
    skipped: int = 0
    listing_requests: int = 0
    done: list[CourseOutcome] = field(default_factory=list)
    not_started: list[AccountCourse] = field(default_factory=list)
    stopped_because: str | None = None

    @property
    def failed(self) -> list[CourseOutcome]:
        return [c for c in self.done if not c.ok]

    @property
    def results(self) -> int:
        return sum(c.results for c in self.done)

    @property
    def requests(self) -> int:
        return self.listing_requests + sum(c.requests for c in self.done)

    @property
    def throttled(self) -> int:
        return sum(c.throttled for c in self.done)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_started


def _already_synced(
    app: Flask, platform_id: int, courses: list[AccountCourse], since: datetime
) -> set[str]:
    done: set[str] = set()
    with session_scope(app) as db:
        for course in courses:
            last = service.last_success(db, platform_id, course.id)
            finished = last.finished_at if last is not None else None
            if finished is not None and _aware(finished) >= since:
                done.add(course.id)
    return done


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _outcome(app: Flask, course: AccountCourse, run: SyncRun) -> CourseOutcome:
    counts = (run.summary or {}).get("counts", {}) if run.status == SYNC_SUCCEEDED else {}
    return CourseOutcome(
        course_id=course.id,
        name=course.name,
        ok=run.status == SYNC_SUCCEEDED,
        error_code=run.error_code,
        error_message=run.error_message,
        results=int(counts.get("results", 0) or 0),
        requests=run.request_count or 0,
        throttled=throttled_of(app, run.id),
    )


def sync_account(
    app: Flask,
    platform_id: int,
    account_id: str,
    *,
    since: datetime | None = None,
    on_listed: Callable[[AccountReport], None] | None = None,
    on_course: Callable[[AccountReport, CourseOutcome], None] | None = None,
    window: int = WINDOW,
    poll_seconds: float = POLL_SECONDS,
    stale_after: timedelta = service.STALE_AFTER,
    max_seconds: float = MAX_HOURS * 3600,
) -> AccountReport:
    """Sync every listed course not synced since ``since``; Canvas errors while listing
    propagate (nothing was started)."""
    lister = account_client(app, platform_id)
    courses = lister.account_courses(account_id)
    report = AccountReport(total=len(courses), listing_requests=lister.stats.requests)
    skip = _already_synced(app, platform_id, courses, since) if since is not None else set()
    report.skipped = len(skip)
    if on_listed is not None:
        on_listed(report)
    pending = deque(c for c in courses if c.id not in skip)
    running: dict[int, AccountCourse] = {}
    deadline = time.monotonic() + max_seconds
    # This loop is alive and waiting on its queued runs: their heartbeats are touched well
    # within ``stale_after``, so only a run whose worker died goes stale.
    touch_every = min(60.0, stale_after.total_seconds() / 4)
    touched = 0.0
    while pending or running:
        while pending and len(running) < max(1, window) and report.stopped_because is None:
            course = pending[0]
            try:
                run_id, _ = queue_course(app, platform_id, course.id)
            except QueueFull:
                break  # the in-process queue is full of other work: try again next round
            running[run_id] = pending.popleft()
        if report.stopped_because is not None and pending:
            report.not_started.extend(pending)
            pending.clear()
        if not running:
            if pending:
                time.sleep(poll_seconds)
            continue
        if time.monotonic() > deadline:
            report.stopped_because = "The account sync took too long and was stopped."
            report.not_started.extend(running.values())
            report.not_started.extend(pending)
            break
        time.sleep(poll_seconds)
        with session_scope(app) as db:
            if time.monotonic() - touched >= touch_every:
                service.keep_queued_alive(db, list(running))
                touched = time.monotonic()
            service.reap_stale(db, stale_after=stale_after)
            finished = list(
                db.scalars(
                    select(SyncRun).where(
                        SyncRun.id.in_(list(running)),
                        SyncRun.status.in_((SYNC_SUCCEEDED, SYNC_FAILED)),
                    )
                )
            )
            outcomes = [_outcome(app, running.pop(run.id), run) for run in finished]
        for outcome in outcomes:
            report.done.append(outcome)
            if outcome.error_code == errors.RECONNECT and report.stopped_because is None:
                report.stopped_because = (
                    "Canvas rejected the token (expired, revoked or mistyped); "
                    "the remaining courses were not started."
                )
            if on_course is not None:
                on_course(report, outcome)
    return report
