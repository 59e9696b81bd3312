"""The periodic prune on the task seam: Celery beat runs it when a broker is set, else the
app's timer thread (started with the first request, as the write-back sweeper is)."""

from __future__ import annotations

import logging

from flask import Flask

from lti_app.maintenance.prune import prune
from lti_app.services import Services
from lti_app.tasks import jobs, timer

log = logging.getLogger("lti_app.maintenance")

TASK_PRUNE = "mastery_pathways.maintenance.prune"


def _run(app: Flask) -> int:
    pruned = prune(app)
    if pruned.total:
        log.info("pruned %s", " ".join(f"{table}={count}" for table, count in pruned.items()))
    return pruned.total


def init_app(app: Flask) -> None:
    services: Services = app.extensions["mp_services"]
    every = services.settings.prune_seconds
    # A queued prune older than one interval is dropped: the next one does the same work.
    jobs.register(app, jobs.Job(TASK_PRUNE, _run, every=every, expires=every))
    timer.run_from_first_request(app, TASK_PRUNE)
