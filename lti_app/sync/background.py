"""Start a teacher's course sync in the background with their stored OAuth2 token."""

from __future__ import annotations

from flask import Flask

from lti_app.canvas import connection
from lti_app.canvas.client.client import CanvasClient
from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from lti_app.services import Services
from lti_app.sync import service
from lti_app.tasks.runner import runner


def user_client_factory(
    app: Flask, services: Services, platform_id: int, canvas_user_id: str
) -> CanvasClient:
    with session_scope(app) as db:
        platform = db.get(Platform, platform_id)
        if platform is None:
            raise LookupError("platform is gone")
        canvas_url = platform.canvas_url
        tokens = connection.user_token_source(app, services, platform, canvas_user_id)
    return connection.make_client(services, canvas_url, tokens)


def start_user_sync(
    app: Flask, services: Services, platform_id: int, canvas_course_id: str, canvas_user_id: str
) -> tuple[int, bool]:
    """Queue (or find the running) sync of a course; returns (run id, newly queued)."""
    run_id, created = service.create_run(app, platform_id, canvas_course_id, canvas_user_id)
    if created:
        runner(app).submit(
            f"sync:{run_id}",
            lambda: service.execute(
                app,
                run_id,
                lambda: user_client_factory(app, services, platform_id, canvas_user_id),
            ),
        )
    return run_id, created
