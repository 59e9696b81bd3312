"""Who runs deliveries: in-process threads by default, Celery when ``CELERY_BROKER_URL`` is
set. Both run ``delivery.deliver_course``; a sweeper re-dispatches every course with due items
(new ones whose kick was lost, retries whose backoff ran out, a dead worker's course once its
lease expired) and leaves alone the courses a live worker holds."""

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
from lti_app.tasks.runner import QueueFull, runner
from lti_app.writeback.delivery import deliver_course

log = logging.getLogger("lti_app.writeback")

SWEEPER = "mp_writeback_sweeper"
_sweeper_lock = threading.Lock()


def _services(app: Flask) -> Services:
    found: Services = app.extensions["mp_services"]
    return found


def uses_celery(app: Flask) -> bool:
    return bool(_services(app).settings.celery_broker_url)


def kick(app: Flask, platform_id: int, course_id: str) -> None:
    """Start delivering a course now (the sweeper catches anything a lost kick leaves)."""
    if uses_celery(app):
        from lti_app.writeback.celery_app import send_delivery

        try:
            send_delivery(app, platform_id, course_id)
        except Exception:  # the broker is down: the outbox row waits for the sweeper
            log.warning("writeback_enqueue_failed course=%s", course_id)
        return
    if not app.testing:
        start_sweeper(app)
    _run_in_process(app, platform_id, course_id)


def _run_in_process(app: Flask, platform_id: int, course_id: str) -> None:
    try:
        runner(app).submit(
            f"writeback:{platform_id}:{course_id}",
            lambda: deliver_course(app, platform_id, course_id),
        )
    except QueueFull:  # the next sweep tries again
        log.warning("writeback_queue_full course=%s", course_id)


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
                sweep(self.app, lambda pid, course: _run_in_process(self.app, pid, course))
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


def start_with_first_request(app: Flask) -> None:
    """Outside tests, the in-process sweeper starts with the app's first request, so items a
    restart left pending are delivered without waiting for the next scoring."""
    if app.testing:
        return

    @app.before_request
    def _start() -> None:
        if app.extensions.get(SWEEPER) is None:
            start_sweeper(app)


def stop_sweeper(app: Flask) -> None:
    sweeper = app.extensions.pop(SWEEPER, None)
    if isinstance(sweeper, _Sweeper):
        sweeper.stop.set()
        sweeper.thread.join(timeout=5)
