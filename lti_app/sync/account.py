"""Account-wide sync: every published course with students in an account and its
sub-accounts, each synced by the course sync (``service``) on the background seam.

The admin's API token is stored like a teacher's (encrypted, bound to its Canvas origin) under
the reserved user ``account-sync``, so a course job on any worker can act with it and the
nightly run can reuse it. One course is one job and one ``sync_run`` row: the rows are the
durable record, so a re-run skips what already succeeded (``since``) and a crashed worker's
course is failed as interrupted by the reaper and done on the next run. All clients of one
token share one pacing budget: the client's lane in-process, Redis with Celery (``pacing``).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

import redis
from flask import Flask
from sqlalchemy import select

from lti_app.canvas import connection
from lti_app.canvas.client.client import PACE_BELOW, CanvasClient
from lti_app.canvas.client.errors import ReconnectRequired
from lti_app.canvas.client.tokens import StaticToken, StoredToken
from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from lti_app.services import Services
from lti_app.sync import service
from lti_app.sync.pacing import RedisBudget, redis_for, token_key
from lti_app.tasks import jobs
from lti_app.urls import origin_of

log = logging.getLogger("lti_app.sync")

ACCOUNT_SYNC_USER = "account-sync"  # never a Canvas user id (those are numbers)
TASK_COURSE = "mastery_pathways.sync.account_course"
TASK_NIGHTLY = "mastery_pathways.sync.account_nightly"
# A given API token does not expire on a clock; Canvas says when it no longer accepts it.
_NO_EXPIRY = datetime(2100, 1, 1, tzinfo=UTC)
THROTTLED_TTL = 86_400
REDIS_EXTENSION = "mp_budget_redis"

_sources: dict[str, StaticToken] = {}
_sources_lock = threading.Lock()
_throttled: dict[int, int] = {}  # run id -> throttled responses (in-process runs)


def _services(app: Flask) -> Services:
    found: Services = app.extensions["mp_services"]
    return found


def store_token(app: Flask, platform_id: int, canvas_url: str, token: str) -> None:
    """Keep the admin's token (replacing the previous one) for this run's jobs and the
    nightly run; encrypted at rest, bound to the Canvas origin it was given for."""
    stored = StoredToken(
        access_token=token,
        refresh_token=None,
        expires_at=_NO_EXPIRY,
        canvas_user_id=ACCOUNT_SYNC_USER,
        canvas_origin=origin_of(canvas_url),
    )
    with session_scope(app) as db:
        connection.save_token(db, _services(app).keyring, platform_id, stored)


def _shared_source(token: str) -> StaticToken:
    """One token source per token per process: clients built from it share one lane."""
    key = token_key(token)
    with _sources_lock:
        found = _sources.get(key)
        if found is None:
            if len(_sources) > 32:  # tokens change rarely; never grow without bound
                _sources.clear()
            found = _sources[key] = StaticToken(token)
        return found


def _redis(app: Flask) -> redis.Redis | None:
    """The broker's Redis with Celery on (one connection pool per app), else None."""
    if not jobs.uses_celery(app):
        return None
    if REDIS_EXTENSION not in app.extensions:
        app.extensions[REDIS_EXTENSION] = redis_for(_services(app).settings.celery_broker_url)
    found: redis.Redis | None = app.extensions[REDIS_EXTENSION]
    return found


def account_client(app: Flask, platform_id: int) -> CanvasClient:
    """A client acting with the stored account-sync token, paced with every other one."""
    services = _services(app)
    with session_scope(app) as db:
        platform = db.get(Platform, platform_id)
        if platform is None:
            raise LookupError("platform is gone")
        row = connection.find_token(db, platform_id, ACCOUNT_SYNC_USER)
        if row is None:
            raise ReconnectRequired("No account sync token is stored; run sync-account again.")
        stored = connection.load_token(services.keyring, row)
        canvas_url = platform.canvas_url
    if stored.canvas_origin != origin_of(canvas_url):
        raise ReconnectRequired("The stored token was given for another Canvas address.")
    shared = _redis(app)
    budget = RedisBudget(shared, stored.access_token) if shared is not None else None
    # Several courses run at once on one token: pace for three requests in flight.
    return connection.make_client(
        services,
        canvas_url,
        _shared_source(stored.access_token),
        pace_below=PACE_BELOW,
        budget=budget,
    )


def _throttled_key(run_id: int) -> str:
    return f"mp:sync-run:{run_id}:throttled"


def _record_throttled(app: Flask, run_id: int, count: int) -> None:
    shared = _redis(app)
    if shared is None:
        _throttled[run_id] = count
        return
    try:
        shared.set(_throttled_key(run_id), count, ex=THROTTLED_TTL)
    except redis.RedisError:
        log.warning("account_sync_stats_unrecorded run=%d", run_id)


def throttled_of(app: Flask, run_id: int) -> int:
    shared = _redis(app)
    if shared is None:
        return _throttled.pop(run_id, 0)
    try:
        value = shared.get(_throttled_key(run_id))
    except redis.RedisError:
        return 0
    return int(value) if isinstance(value, bytes | str | int) else 0


def _run_course(app: Flask, run_id: int, platform_id: int) -> bool:
    made: list[CanvasClient] = []

    def factory() -> CanvasClient:
        client = account_client(app, platform_id)
        made.append(client)
        return client

    outcome = service.execute(app, run_id, factory)
    if made:
        _record_throttled(app, run_id, made[0].stats.throttled)
    return outcome.ok


def queue_course(app: Flask, platform_id: int, course_id: str) -> tuple[int, bool]:
    """Queue one course's sync with the account token (or find its run in progress)."""
    run_id, created = service.create_run(app, platform_id, course_id, ACCOUNT_SYNC_USER)
    if created:
        jobs.run_later(app, TASK_COURSE, run_id, platform_id)
    return run_id, created


def _nightly(app: Flask) -> int:
    """Celery beat's run: queue every course of the configured account (workers do them)."""
    settings = _services(app).settings
    with session_scope(app) as db:
        platform_id = db.scalar(
            select(Platform.id)
            .where(Platform.canvas_url == settings.sync_account_canvas_url)
            .order_by(Platform.id)
        )
    if platform_id is None:
        log.warning("account_sync_nightly_skipped reason=unknown_canvas")
        return 0
    try:
        courses = account_client(app, platform_id).account_courses(settings.sync_account_id)
    except Exception as exc:
        log.warning("account_sync_nightly_failed error=%s", type(exc).__name__)
        return 0
    for course in courses:
        queue_course(app, platform_id, course.id)
    log.info("account_sync_nightly_queued courses=%d", len(courses))
    return len(courses)


def init_app(app: Flask) -> None:
    jobs.register(app, jobs.Job(TASK_COURSE, _run_course))
    schedule = _services(app).settings.sync_account_schedule
    if schedule:
        # Dropped when still queued after 6 hours: the next night's run comes.
        jobs.register(app, jobs.Job(TASK_NIGHTLY, _nightly, cron=schedule, expires=6 * 3600))
