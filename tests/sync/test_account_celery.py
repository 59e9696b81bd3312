"""`canvas sync-account` with CELERY_BROKER_URL: one task per course on real Celery workers
(two processes), paced together through Redis, nothing run on the CLI's own threads."""

from __future__ import annotations

from pathlib import Path

import redis

from lti_app.sync import account
from lti_app.tasks.runner import EXTENSION as RUNNER
from tests.conftest import close_app, make_app
from tests.sync.sandbox_server import running_sandbox
from tests.sync.test_account_sync import _district, assert_all_synced, run_cli
from tests.writeback.worker_process import celery_worker, redis_broker, worker_ready

REDIS_DB = 13


def test_one_task_per_course_on_two_workers_sharing_one_budget(tmp_path: Path) -> None:
    broker = redis_broker(REDIS_DB)
    app = make_app(f"sqlite:///{tmp_path / 'celery.sqlite3'}", tmp_path, celery_broker_url=broker)
    workers = [celery_worker(app, tmp_path, name) for name in ("acct-a", "acct-b")]
    try:
        for name in ("acct-a", "acct-b"):
            worker_ready(app, name, timeout=30)
        with running_sandbox() as sb:
            courses = _district(sb)
            result = run_cli(app, sb, sb.token(sb.ids.admin))
            assert result.exit_code == 0, result.output
            assert_all_synced(app, sb, courses)
            assert sb.stats()["throttled"] == 0
        assert RUNNER not in app.extensions  # every course ran on a worker
        logs = [w.output() for w in workers]
        ran = [log.count(f"Task {account.TASK_COURSE}[") for log in logs]
        assert sum(ran) >= 2 * len(courses)  # received + succeeded lines, one task per course
        keys = redis.Redis.from_url(broker).keys("mp:canvas-budget:*")
        assert keys  # the workers paced through the shared budget
    finally:
        for worker in workers:
            worker.stop()
        close_app(app)
