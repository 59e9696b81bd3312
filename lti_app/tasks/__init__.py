"""In-process background work: a small bounded thread pool per app, started lazily.

The database row of each job (e.g. ``sync_run``) is the durable record; the pool only runs it.
A Celery worker can run the same job functions when configured (see ARCHITECTURE.md).
"""
