"""A write-back world: the Canvas sandbox over loopback HTTP, the tool on a real database with
the tenant's API key and the ELA teacher's OAuth token (from the sandbox's real OAuth flow),
the ELA course synced by the real sync, and helpers to score demonstrations through the
pathways service and look at what Canvas (the sandbox's own state) holds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from lti_app.canvas import connection
from lti_app.canvas.client.tokens import exchange_code
from lti_app.canvas.connection import user_client_factory
from lti_app.db import session_scope
from lti_app.mastery.pathways import Role
from lti_app.models.canvas import CarrierAssignment, SyncRun
from lti_app.models.pathways import Demonstration
from lti_app.models.tenancy import Platform
from lti_app.models.writeback import WritebackItem
from lti_app.pathways import service as svc
from lti_app.services import services
from lti_app.sync import service as sync_service
from lti_app.sync.cli import platform_for
from lti_app.writeback.delivery import DeliveryReport, deliver_course
from tests.conftest import make_app
from tests.sync.sandbox_server import RunningSandbox, running_sandbox

# Short waits so tests spend little time on injected stalls and read-back polling.
FAST = {
    "http_read_timeout": 0.5,
    "http_connect_timeout": 0.5,
    "writeback_retry_seconds": 0.01,
    "writeback_verify_seconds": 10,
    "writeback_lease_seconds": 30,
}


@dataclass
class World:
    sb: RunningSandbox
    app: Flask
    platform_id: int
    course: str
    teacher: str
    students: list[str]
    outcomes: list[str]  # ELA outcome ids, in seed order

    def actor(self, user: str, role: Role = Role.STUDENT) -> svc.CourseContext:
        return svc.CourseContext(self.platform_id, self.course, user, role)

    def score(self, student: str, outcome: str, level: str, kind: str = "test") -> int:
        """Choose, submit and score one demonstration (a reassessment after the first)."""
        t = self.actor(self.teacher, Role.TEACHER)
        s = self.actor(student)
        with self.app.app_context(), session_scope(self.app) as db:
            previous = db.scalars(
                select(Demonstration)
                .where(
                    Demonstration.platform_id == self.platform_id,
                    Demonstration.canvas_user_id == student,
                    Demonstration.canvas_outcome_id == outcome,
                    Demonstration.state == "scored",
                )
                .order_by(Demonstration.id.desc())
            ).first()
            if previous is None:
                demo = svc.choose(db, s, outcome, kind)
            else:
                svc.request_reassessment(db, s, previous.id, "I practised more.")
                demo = svc.approve_reassessment(db, t, previous.id)
            svc.submit(db, s, demo.id, "My work.", "")
            svc.score(db, t, demo.id, level)
            return int(demo.id)

    def deliver(self, **kw: Any) -> DeliveryReport:
        return deliver_course(self.app, self.platform_id, self.course, **kw)

    def items(self) -> list[WritebackItem]:
        with session_scope(self.app) as db:
            return list(db.scalars(select(WritebackItem).order_by(WritebackItem.id)))

    def carriers(self) -> list[CarrierAssignment]:
        with session_scope(self.app) as db:
            return list(db.scalars(select(CarrierAssignment).order_by(CarrierAssignment.round)))

    def canvas_results(self) -> dict[tuple[int, int, int], tuple[float, int]]:
        """Every outcome result Canvas holds in the course (the sandbox's state, after its
        pending result jobs ran; results of a deleted alignment, e.g. of a deleted assignment,
        are gone from Canvas's lists): (user, outcome, assignment) -> (score, result id)."""
        from canvas_sandbox.results import materialize

        state = self.sb.state
        materialize(state)
        with state.lock:
            return {
                (r.user_id, r.outcome_id, r.assignment_id): (r.score, r.id)
                for r in state.results.values()
                if r.course_id == int(self.course)
                and r.workflow_state == "active"
                and state.alignments[r.alignment_id].workflow_state == "active"
            }

    def trap_fired(self) -> int:
        """Grading associations Canvas destroyed (each deleted its results)."""
        with self.sb.state.lock:
            return sum(
                1
                for a in self.sb.state.rubric_associations.values()
                if a.workflow_state == "deleted"
            )


def connect_teacher(app: Flask, sb: RunningSandbox, teacher: int) -> int:
    """Register the sandbox as the tenant with its API key; store the teacher's OAuth token."""
    from canvas_sandbox.tokens import issue_code

    ids = sb.ids
    redirect = sb.config.api_redirect_uri
    code = issue_code(sb.state, ids.api_client_id, teacher, redirect, [])
    token = exchange_code(sb.url, ids.api_client_id, ids.api_client_secret, redirect, code)
    with app.app_context():
        platform_id, _ = platform_for(sb.url)
        with session_scope(app) as db:
            platform = db.get(Platform, platform_id)
            assert platform is not None
            connection.store_api_key(
                services().keyring, platform, ids.api_client_id, ids.api_client_secret
            )
            connection.save_token(db, services().keyring, platform_id, token)
    return platform_id


def sync(app: Flask, platform_id: int, course: str, teacher: str) -> None:
    """Sync in this thread (with Celery configured, start_user_sync would queue it)."""
    run_id, _ = sync_service.create_run(app, platform_id, course, teacher)
    with app.app_context():
        sync_service.execute(
            app, run_id, lambda: user_client_factory(app, services(), platform_id, teacher)
        )
    with session_scope(app) as db:
        run = db.get(SyncRun, run_id)
        assert run is not None and run.status == "succeeded", run and run.error_message


@contextmanager
def world(database_url: str | None = None, **settings: Any) -> Iterator[World]:
    """The sandbox and the tool, connected and synced; SQLite unless a URL is given."""
    with tempfile.TemporaryDirectory() as tmp, running_sandbox() as sb:
        d = Path(tmp)
        url = database_url or f"sqlite:///{d / 'wb.sqlite3'}"
        app = make_app(url, d, **{**FAST, **settings})
        try:
            ids = sb.ids
            platform_id = connect_teacher(app, sb, ids.teacher)
            course = str(ids.ela_course)
            sync(app, platform_id, course, str(ids.teacher))
            yield World(
                sb=sb,
                app=app,
                platform_id=platform_id,
                course=course,
                teacher=str(ids.teacher),
                students=[str(s) for s in ids.students],
                outcomes=[str(o) for o in ids.ela_outcomes.values()],
            )
        finally:
            jobs = app.extensions.get("mp_jobs")
            if jobs is not None:
                jobs.shutdown(wait=True)
            app.extensions["db_engine"].dispose()
