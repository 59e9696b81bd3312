"""The one seam for background work (course syncs, write-back deliveries, the sweeper).

Domains register their jobs once (``jobs.register``) and start them with ``jobs.run_later``:
in-process threads by default (``runner``), a Celery worker when ``CELERY_BROKER_URL`` is set
(``celery_app``, started by ``celery -A lti_app.tasks.worker worker``). Every job's durable
record is its own database row (a sync run, an outbox item); the seam only gets it running.
"""
