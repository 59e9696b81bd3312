"""Course syncs in the background (``lti_app.tasks``), acting with the teacher's stored token."""

from __future__ import annotations

from flask import Flask

from lti_app.canvas.connection import user_client_factory
from lti_app.services import Services
from lti_app.sync import service
from lti_app.tasks import jobs

TASK_SYNC = "mastery_pathways.sync.run"


def _run(app: Flask, run_id: int, platform_id: int, canvas_user_id: str) -> bool:
    services: Services = app.extensions["mp_services"]
    outcome = service.execute(
        app, run_id, lambda: user_client_factory(app, services, platform_id, canvas_user_id)
    )
    return outcome.ok


def init_app(app: Flask) -> None:
    from lti_app.sync import account

    jobs.register(app, jobs.Job(TASK_SYNC, _run))
    account.init_app(app)


def start_user_sync(
    app: Flask, platform_id: int, canvas_course_id: str, canvas_user_id: str
) -> tuple[int, bool]:
    """Queue (or find the running) sync of a course; returns (run id, newly queued).

    The run row is queued first; a worker that finds it already taken does nothing, so a
    task Celery hands out twice syncs once. With the broker down it runs here instead: a
    teacher who pressed *Sync now* is not left with a run nobody will start.
    """
    run_id, created = service.create_run(app, platform_id, canvas_course_id, canvas_user_id)
    if created:
        jobs.run_later(
            app, TASK_SYNC, run_id, platform_id, canvas_user_id, in_process_if_broker_down=True
        )
    return run_id, created
