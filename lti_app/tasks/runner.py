"""A bounded ThreadPoolExecutor per app. Each job opens its own DB sessions; an exception in a
job is logged (the job records its own failure on its row)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask

log = logging.getLogger("lti_app.tasks")

EXTENSION = "mp_jobs"
MAX_WORKERS = 2
# Jobs waiting beyond the running ones; more are refused rather than queued without bound.
MAX_PENDING = 50


class QueueFull(Exception):
    pass


class JobRunner:
    def __init__(self, max_workers: int = MAX_WORKERS, max_pending: int = MAX_PENDING) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="mp-job")
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._futures: set[Future[None]] = set()

    def submit(self, name: str, job: Callable[[], object]) -> Future[None]:
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("job_crashed name=%s", name)

        with self._lock:
            if len(self._futures) >= self._max_pending:
                raise QueueFull("Too much background work is waiting; try again in a minute.")
            future = self._executor.submit(run)
            self._futures.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait_idle(self, timeout: float) -> bool:
        """Wait for every submitted job (tests, shutdown); False if some still run."""
        with self._lock:
            pending = list(self._futures)
        _, not_done = wait(pending, timeout=timeout)
        return not not_done

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=not wait)


_create_lock = threading.Lock()


def runner(app: Flask) -> JobRunner:
    """The app's runner, created on first use (nothing starts at import or app creation)."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        with _create_lock:
            found = app.extensions.get(EXTENSION)
            if found is None:
                found = JobRunner()
                app.extensions[EXTENSION] = found
    assert isinstance(found, JobRunner)
    return found
