"""Background jobs by name: what a domain registers, and how one is started."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from lti_app.services import Services
from lti_app.tasks.runner import runner

log = logging.getLogger("lti_app.tasks")

EXTENSION = "mp_task_jobs"


@dataclass(frozen=True)
class Job:
    """``run(app, *args)`` does the work; args must be JSON values (they cross the broker)."""

    name: str
    run: Callable[..., object]
    every: float | None = None
    """Seconds between runs under Celery beat (the in-process mode has its own timers)."""
    expires: float | None = None
    """A periodic run still queued after this many seconds is dropped (the next one comes)."""
    cron: str | None = None
    """Five cron fields ("0 2 * * *"): run at those times under Celery beat (instead of
    ``every``); without Celery, the system's cron runs the matching CLI command."""


def register(app: Flask, job: Job) -> None:
    registry: dict[str, Job] = app.extensions.setdefault(EXTENSION, {})
    registry[job.name] = job


def registered(app: Flask) -> dict[str, Job]:
    found: dict[str, Job] = app.extensions.get(EXTENSION, {})
    return found


def uses_celery(app: Flask) -> bool:
    services: Services = app.extensions["mp_services"]
    return bool(services.settings.celery_broker_url)


def run_later(
    app: Flask,
    name: str,
    *args: Any,
    expires: float | None = None,
    in_process_if_broker_down: bool = False,
) -> None:
    """Start a registered job: on a Celery worker when configured, else on the app's threads.

    Raises ``runner.QueueFull`` when the in-process queue is full, and the broker's error when
    Celery cannot take it, unless ``in_process_if_broker_down`` (then it runs here instead).
    """
    job = registered(app)[name]
    if uses_celery(app):
        from lti_app.tasks.celery_app import send

        try:
            send(app, name, list(args), expires=expires)
            return
        except Exception:
            if not in_process_if_broker_down:
                raise
            log.warning("task_broker_unreachable task=%s running_in_process", name)
    runner(app).submit(f"{name}:{':'.join(map(str, args))}", lambda: job.run(app, *args))
