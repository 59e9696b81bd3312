"""Celery for districts (``CELERY_BROKER_URL`` set): many workers on many machines run the
same registered jobs as the in-process threads.

Jobs are safe to run twice and their rows are the durable record, so the broker only has to
get the work started: tasks are acknowledged after they ran (``acks_late``), a task whose
worker died is handed to another (``reject_on_worker_lost``), and each worker takes one task
at a time (``prefetch 1``: a long job does not hold others hostage). Periodic jobs run under
beat, and what they send expires, so a backlog does not fill the queue with copies.

Start a worker (with beat, for one machine): ``celery -A lti_app.tasks.worker worker -B``;
for several machines run ``celery -A lti_app.tasks.worker beat`` once and workers without -B.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab
from flask import Flask

from lti_app.services import Services
from lti_app.tasks.jobs import Job, registered

QUEUE = "mastery_pathways"
EXTENSION = "mp_celery"


def make_celery(app: Flask) -> Celery:
    services: Services = app.extensions["mp_services"]
    broker = services.settings.celery_broker_url
    celery = Celery("mastery_pathways", broker=broker, set_as_current=False)
    jobs = registered(app)
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
        # write-back sweeper usually gets there first, once the course lease expires.
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule={
            job.name: {
                "task": job.name,
                "schedule": _schedule(job),
                "options": {"expires": job.expires},
            }
            for job in jobs.values()
            if job.every is not None or job.cron
        },
    )
    for job in jobs.values():
        _add_task(celery, app, job)
    return celery


def _schedule(job: Job) -> Any:
    if job.cron:
        minute, hour, day_of_month, month, day_of_week = job.cron.split()
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month,
            day_of_week=day_of_week,
        )
    return job.every


def _add_task(celery: Celery, app: Flask, job: Job) -> None:
    # Not shared: a shared task is added to every Celery app made later in the process, so a
    # second Flask app (tests, the CLI) would run the first app's closure on its database.
    @celery.task(name=job.name, shared=False)  # type: ignore[untyped-decorator]
    def task(*args: Any) -> object:
        return job.run(app, *args)


def celery_for(app: Flask) -> Celery:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = make_celery(app)
        app.extensions[EXTENSION] = found
    assert isinstance(found, Celery)
    return found


def send(app: Flask, name: str, args: list[Any], *, expires: float | None = None) -> Any:
    """Queue one run of a registered job; ``expires`` (seconds) drops it if no worker starts
    it in time."""
    return celery_for(app).send_task(name, args=args, expires=expires)
