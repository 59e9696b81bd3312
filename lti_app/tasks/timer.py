"""Periodic jobs without Celery: one daemon thread per app runs the registered periodic jobs
it was asked to, each every ``job.every`` seconds (under Celery, beat does this instead).

Every process of the app runs its own timer, so a periodic job must be safe to run twice at
once (pruning is: a row already deleted is simply not found again).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from lti_app.tasks.jobs import registered, uses_celery

log = logging.getLogger("lti_app.tasks")

EXTENSION = "mp_task_timer"
_lock = threading.Lock()


class Timer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stop = threading.Event()
        self._due: dict[str, float] = {}
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="mp-task-timer", daemon=True)

    def add(self, name: str) -> None:
        job = registered(self.app)[name]
        assert job.every is not None, f"{name} is not periodic"
        with _lock:
            # The first run after one interval: start-up stays quick.
            self._due.setdefault(name, time.monotonic() + job.every)
        self._wake.set()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self._wake.clear()  # before reading the schedule: a later add() still wakes us
            now = time.monotonic()
            with _lock:
                ready = [name for name, at in self._due.items() if at <= now]
                nearest = min(self._due.values(), default=now + 60.0)
            for name in ready:
                job = registered(self.app)[name]
                try:
                    job.run(self.app)
                except Exception:
                    log.exception("periodic_job_failed name=%s", name)
                with _lock:
                    self._due[name] = time.monotonic() + float(job.every or 60.0)
            if not ready:
                self._wake.wait(max(0.0, min(nearest - now, 60.0)))


def run_periodically(app: Flask, name: str) -> None:
    """Run a registered periodic job on the app's timer thread (started on first use); does
    nothing under Celery, where beat schedules it."""
    if uses_celery(app):
        return
    with _lock:
        timer = app.extensions.get(EXTENSION)
        if timer is None:
            timer = Timer(app)
            app.extensions[EXTENSION] = timer
            timer.thread.start()
    assert isinstance(timer, Timer)
    timer.add(name)


def stop(app: Flask) -> None:
    timer = app.extensions.pop(EXTENSION, None)
    if isinstance(timer, Timer):
        timer.stop.set()
        timer._wake.set()
        timer.thread.join(timeout=5)


def run_from_first_request(app: Flask, name: str) -> None:
    """Run a registered periodic job on the app's timer from the app's first request on (a
    CLI command or a test app starts no thread); under Celery, beat runs it instead. Each job
    starts on its own: one already running does not stand for another."""
    if app.testing:
        return
    started = threading.Event()

    @app.before_request
    def _start() -> None:
        if not started.is_set():
            started.set()
            run_periodically(app, name)  # adding a job twice (two first requests) is harmless
