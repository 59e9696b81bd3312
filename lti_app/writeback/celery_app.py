"""Celery for districts (``CELERY_BROKER_URL`` set): many workers on many machines run the same
``deliver_course`` as the in-process threads.

Delivery is safe to run twice and the outbox rows are the durable record, so the broker only
has to get the work started: tasks are acknowledged after they ran (``acks_late``), a task
whose worker died is handed to another (``reject_on_worker_lost``), and each worker takes one
task at a time (``prefetch 1``: a long delivery does not hold others hostage). The sweeper runs
under beat and re-sends every course with due items that no live worker holds; what it sends
expires, so a backlog does not fill the queue with copies (the next sweep sends a fresh one).

Start a worker (with beat, for one machine): ``celery -A lti_app.writeback.worker worker -B``;
for several machines run ``celery -A lti_app.writeback.worker beat`` once and workers without -B.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

from lti_app.services import Services
from lti_app.writeback.delivery import deliver_course

TASK_DELIVER = "mastery_pathways.writeback.deliver_course"
TASK_SWEEP = "mastery_pathways.writeback.sweep"
QUEUE = "mastery_pathways_writeback"
EXTENSION = "mp_celery"


def _services(app: Flask) -> Services:
    found: Services = app.extensions["mp_services"]
    return found


def make_celery(app: Flask) -> Celery:
    settings = _services(app).settings
    celery = Celery("mastery_pathways", broker=settings.celery_broker_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # An unacknowledged task (its worker vanished) goes back to the queue after this; the
        # sweeper usually gets there first, once the course lease expires.
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule={
            "writeback-sweep": {
                "task": TASK_SWEEP,
                "schedule": settings.writeback_sweep_seconds,
                "options": {"expires": sweep_expiry(settings.writeback_sweep_seconds)},
            }
        },
    )

    # Not shared: a shared task is added to every Celery app made later in the process, so a
    # second Flask app (tests, the CLI) would run the first app's closure on its database.
    @celery.task(name=TASK_DELIVER, shared=False)  # type: ignore[untyped-decorator]
    def deliver(platform_id: int, course_id: str) -> int:
        return deliver_course(app, platform_id, course_id).delivered

    @celery.task(name=TASK_SWEEP, shared=False)  # type: ignore[untyped-decorator]
    def sweep_due() -> int:
        from lti_app.writeback.dispatch import sweep

        expires = sweep_expiry(settings.writeback_sweep_seconds)
        return sweep(app, lambda pid, course: send_delivery(app, pid, course, expires=expires))

    return celery


def celery_for(app: Flask) -> Celery:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = make_celery(app)
        app.extensions[EXTENSION] = found
    assert isinstance(found, Celery)
    return found


def sweep_expiry(sweep_seconds: float) -> float:
    """How long a swept delivery may wait in the queue: a few sweeps, and never less than a
    minute so clock skew between machines does not expire it on arrival."""
    return max(4 * sweep_seconds, 60.0)


def send_delivery(
    app: Flask, platform_id: int, course_id: str, *, expires: float | None = None
) -> Any:
    """Queue one course's delivery; ``expires`` (seconds) drops it if no worker starts it
    in time (the sweeper's copies: the next sweep sends another)."""
    return celery_for(app).send_task(TASK_DELIVER, args=[platform_id, course_id], expires=expires)
