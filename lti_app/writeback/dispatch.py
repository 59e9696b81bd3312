"""Starting deliveries through the background seam (``lti_app.tasks``): in-process threads by
default, Celery when ``CELERY_BROKER_URL`` is set. Both run ``delivery.deliver_course``; a
sweeper re-dispatches every course with due items (new ones whose kick was lost, retries whose
backoff ran out, a dead worker's course once its lease expired) and leaves alone the courses a
live worker holds. It runs under Celery beat, or as a thread of the app without Celery."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, after_this_request, current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, and_, exists, func, select
from werkzeug.wrappers import Response

from lti_app.db import session_scope
from lti_app.models.writeback import PENDING, WritebackItem, WritebackLease
from lti_app.services import Services
from lti_app.tasks import jobs
from lti_app.tasks.runner import QueueFull
from lti_app.writeback.delivery import deliver_course

log = logging.getLogger("lti_app.writeback")

SWEEPER = "mp_writeback_sweeper"
_sweeper_lock = threading.Lock()

TASK_DELIVER = "mastery_pathways.writeback.deliver_course"
TASK_SWEEP = "mastery_pathways.writeback.sweep"


def _services(app: Flask) -> Services:
    found: Services = app.extensions["mp_services"]
    return found


def uses_celery(app: Flask) -> bool:
    return jobs.uses_celery(app)


def sweep_expiry(sweep_seconds: float) -> float:
    """How long a swept delivery may wait in the queue: a few sweeps, and never less than a
    minute so clock skew between machines does not expire it on arrival."""
    return max(4 * sweep_seconds, 60.0)


def init_app(app: Flask) -> None:
    """Register the delivery and sweep jobs, and (without Celery, outside tests) start the
    in-process sweeper with the app's first request, so items a restart left pending are
    delivered without waiting for the next scoring."""
    every = _services(app).settings.writeback_sweep_seconds
    expires = sweep_expiry(every)

    def deliver(app: Flask, platform_id: int, course_id: str) -> int:
        return deliver_course(app, platform_id, course_id).delivered

    def sweep_due(app: Flask) -> int:
        return sweep(app, lambda pid, course: _send(app, pid, course, expires=expires))

    jobs.register(app, jobs.Job(TASK_DELIVER, deliver))
    jobs.register(app, jobs.Job(TASK_SWEEP, sweep_due, every=every, expires=expires))
    if app.testing:
        return

    @app.before_request
    def _start() -> None:
        if app.extensions.get(SWEEPER) is None:
            start_sweeper(app)


def kick(app: Flask, platform_id: int, course_id: str) -> None:
    """Start delivering a course now (the sweeper catches anything a lost kick leaves)."""
    if not uses_celery(app) and not app.testing:
        start_sweeper(app)
    _send(app, platform_id, course_id)


def _send(app: Flask, platform_id: int, course_id: str, *, expires: float | None = None) -> None:
    try:
        jobs.run_later(app, TASK_DELIVER, platform_id, course_id, expires=expires)
    except QueueFull:  # the next sweep tries again
        log.warning("writeback_queue_full course=%s", course_id)
    except Exception:  # the broker is down: the outbox row waits for the sweeper
        log.warning("writeback_enqueue_failed course=%s", course_id)


def kick_after_response(platform_id: int, course_id: str) -> None:
    """Kick once the request's transaction has committed (the outbox row is then visible)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    @after_this_request
    def _later(response: Response) -> ResponseReturnValue:
        response.call_on_close(lambda: kick(app, platform_id, course_id))
        return response


# Courses dispatched per sweep (the most overdue first; the next sweep takes the rest).
SWEEP_LIMIT = 500


def unheld_due_courses(now: datetime | None = None) -> Select[int, str]:
    """Courses with items due that no live lease holds, most overdue first.

    A course whose worker is alive (its lease is renewed) is not re-sent every sweep: the
    holder picks up new items in its next pass, and a copy would only find the course busy.
    """
    at = now or datetime.now(UTC)
    held = exists().where(
        and_(
            WritebackLease.platform_id == WritebackItem.platform_id,
            WritebackLease.canvas_course_id == WritebackItem.canvas_course_id,
            WritebackLease.expires_at >= at,
        )
    )
    return (
        select(WritebackItem.platform_id, WritebackItem.canvas_course_id)
        .where(WritebackItem.status == PENDING, WritebackItem.next_attempt_at <= at, ~held)
        .group_by(WritebackItem.platform_id, WritebackItem.canvas_course_id)
        .order_by(func.min(WritebackItem.next_attempt_at))
        .limit(SWEEP_LIMIT)
    )


def sweep(app: Flask, dispatch: Callable[[int, str], None] | None = None) -> int:
    """Dispatch every course with due items and no live worker; returns how many."""
    with session_scope(app) as db:
        courses = [(int(pid), str(course)) for pid, course in db.execute(unheld_due_courses())]
    send = dispatch or (lambda pid, course: kick(app, pid, course))
    for platform_id, course_id in courses:
        send(platform_id, course_id)
    return len(courses)


class _Sweeper:
    """The in-process sweeper: a daemon thread that sweeps every few seconds."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mp-writeback-sweeper", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                sweep(self.app, lambda pid, course: _send(self.app, pid, course))
            except Exception:
                log.exception("writeback_sweep_failed")


def start_sweeper(app: Flask) -> None:
    """Start the in-process sweeper once per app (on first use; never under Celery)."""
    if uses_celery(app) or app.extensions.get(SWEEPER) is not None:
        return
    with _sweeper_lock:
        if app.extensions.get(SWEEPER) is None:
            sweeper = _Sweeper(app, _services(app).settings.writeback_sweep_seconds)
            app.extensions[SWEEPER] = sweeper
            sweeper.thread.start()


def stop_sweeper(app: Flask) -> None:
    sweeper = app.extensions.pop(SWEEPER, None)
    if isinstance(sweeper, _Sweeper):
        sweeper.stop.set()
        sweeper.thread.join(timeout=5)
