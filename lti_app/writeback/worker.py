"""The Celery worker's entry point: ``celery -A lti_app.writeback.worker worker``.

Builds the Flask app from the environment (like the WSGI server does) and its Celery app.
"""

from __future__ import annotations

from lti_app import create_app
from lti_app.writeback.celery_app import celery_for

flask_app = create_app()
celery = celery_for(flask_app)
