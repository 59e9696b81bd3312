"""Worker processes for the write-back tests: a real Celery worker (or a bare ``deliver_course``)
in a subprocess on the test's database, killed with SIGKILL on demand, and a gate in front of
the sandbox that holds one Canvas request so a test knows the worker is inside it.

Run as a module it is the in-process mode's delivery in a process of its own:
``python -m tests.writeback.worker_process <platform id> <course id>``.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from flask import Flask

from lti_app.services import Services

PROJECT = Path(__file__).resolve().parents[2]
CELERY = PROJECT / ".venv" / "bin" / "celery"
REDIS = "redis://127.0.0.1:6379"

# The settings a worker must share with the test's app to read its database and decrypt its
# tokens (ENCRYPTION_KEYS is unset in tests: keys derive from SECRET_KEY).
SHARED = (
    "app_env",
    "public_base_url",
    "database_url",
    "secret_key",
    "instance_path",
    "http_connect_timeout",
    "http_read_timeout",
    "celery_broker_url",
    "writeback_max_attempts",
    "writeback_retry_seconds",
    "writeback_verify_seconds",
    "writeback_lease_seconds",
    "writeback_sweep_seconds",
)


def tool_env(app: Flask) -> dict[str, str]:
    """The environment that makes ``create_app()`` in a child process configure like ``app``."""
    settings = app.extensions["mp_services"]
    assert isinstance(settings, Services)
    env = {k: v for k, v in os.environ.items() if k != "ENCRYPTION_KEYS"}
    for name in SHARED:
        env[name.upper()] = str(getattr(settings.settings, name))
    env["PYTHONPATH"] = str(PROJECT)
    return env


def redis_broker(db: int) -> str:
    """The Redis on 127.0.0.1:6379, database ``db`` flushed; the test is skipped (with the
    reason) when that Redis is not reachable, as the PostgreSQL tests are."""
    import pytest
    import redis

    url = f"{REDIS}/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis on 127.0.0.1:6379 not reachable: {type(exc).__name__}")
    client.flushdb()
    client.close()
    return url


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    """Poll ``check`` until it holds; bounded in time and in polls."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 1):
        if check():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Worker:
    """A child process in its own session, so one SIGKILL reaches it and all its children."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own celery or interpreter, fixed argv
            args,
            env=env,
            cwd=log.parent,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        """The process's direct children (a prefork worker's pool processes)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the whole process group (a power cut, not a shutdown)."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        # Children of a killed prefork parent are in the same group; make sure none lingers.
        wait_for(lambda: not _group_alive(self.proc.pid), 10, "the worker's children to die")
        self._out.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        else:
            self._out.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def celery_worker(app: Flask, tmp: Path, name: str, beat: bool = False) -> Worker:
    """A real Celery worker (prefork, one child: prefetch 1 means one task in hand)."""
    args = [
        str(CELERY),
        "-A",
        "lti_app.tasks.worker",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--loglevel=INFO",
        f"--hostname={name}@127.0.0.1",
        "--without-mingle",
        "--without-gossip",
    ]
    if beat:
        args += ["-B", f"--schedule={tmp / (name + '-beat-schedule')}"]
    return Worker(args, tool_env(app), tmp / f"{name}.log")


def worker_ready(app: Flask, name: str, timeout: float) -> str:
    """Wait until the worker answers a ping over the broker; returns its full name."""
    from lti_app.tasks.celery_app import celery_for

    full = f"{name}@127.0.0.1"
    control = celery_for(app).control
    wait_for(
        lambda: any(full in reply for reply in control.ping(destination=[full], timeout=0.5)),
        timeout,
        f"celery worker {full} to answer",
        step=0.1,
    )
    return full


def delivery_process(app: Flask, tmp: Path, platform_id: int, course_id: str) -> Worker:
    """The in-process mode's ``deliver_course`` in a process of its own (so it can be killed)."""
    args = [sys.executable, "-m", "tests.writeback.worker_process", str(platform_id), course_id]
    return Worker(args, tool_env(app), tmp / "deliver.log")


class Gate:
    """WSGI middleware in front of the sandbox: the first request matching (method, path)
    is held, with its body already read, until released; then Canvas handles it as usual (a
    killed client never sees the answer, but what it asked for happens)."""

    def __init__(self, inner: Any, method: str, path: str) -> None:
        self.inner = inner
        self.method = method
        self.path = re.compile(path)
        self.reached = threading.Event()
        self.release = threading.Event()
        self.handled = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != self.method or not self.path.search(environ["PATH_INFO"]):
            return self.inner(environ, start_response)
        with self._lock:
            hold, self._armed = self._armed, False
        if not hold:
            return self.inner(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        self.reached.set()
        self.release.wait(timeout=60)
        try:
            return list(self.inner(environ, start_response))
        finally:
            self.handled.set()


@contextmanager
def gate(sandbox_app: Any, method: str, path: str) -> Iterator[Gate]:
    held = Gate(sandbox_app.wsgi_app, method, path)
    sandbox_app.wsgi_app = held
    try:
        yield held
    finally:
        held.release.set()
        sandbox_app.wsgi_app = held.inner


def main(argv: list[str]) -> int:
    from lti_app import create_app
    from lti_app.writeback.delivery import deliver_course

    platform_id, course_id = int(argv[0]), argv[1]
    report = deliver_course(create_app(), platform_id, course_id)
    print(f"delivered={report.delivered} busy={report.busy}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
