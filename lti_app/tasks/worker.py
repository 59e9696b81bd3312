"""The Celery worker's entry point: ``celery -A lti_app.tasks.worker worker``.

Builds the Flask app from the environment (like the WSGI server does), which registers every
domain's jobs, and its Celery app.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_process_init

from lti_app import create_app
from lti_app.tasks.celery_app import celery_for

flask_app = create_app()
celery = celery_for(flask_app)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _own_connections(**_: Any) -> None:
    # A prefork child must not reuse database connections the parent opened before the fork
    # (two processes on one PostgreSQL socket corrupt each other's sessions).
    flask_app.extensions["db_engine"].dispose(close=False)
