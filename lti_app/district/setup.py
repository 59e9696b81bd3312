"""Wiring: the district aggregates refresh at the end of every course sync (the tasks seam's
after-sync hook, so the sync never imports this layer), the pages, and
``flask --app lti_app district refresh``."""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.db import session_scope
from lti_app.district import aggregate, views
from lti_app.models.tenancy import Platform
from lti_app.tasks import hooks, jobs, timer

log = logging.getLogger("lti_app.district")


TASK_EVIDENCE = "mastery_pathways.district.refresh_changed_evidence"
EVIDENCE_SECONDS = 60.0
"""How often the aggregates take in the tool's own evidence changed since the last pass."""


def refresh_after_sync(db: Session, platform_id: int, course_pk: int) -> None:
    aggregate.refresh_course(db, platform_id, course_pk)


def _refresh_evidence(app: Flask) -> int:
    count = aggregate.refresh_changed_evidence(app)
    if count:
        log.info("district_evidence_refreshed students=%s", count)
    return count


def init_app(app: Flask) -> None:
    hooks.on_course_synced(app, refresh_after_sync)
    app.register_blueprint(views.bp)
    # A queued pass older than one interval is dropped: the next one does the same work.
    jobs.register(
        app,
        jobs.Job(
            TASK_EVIDENCE, _refresh_evidence, every=EVIDENCE_SECONDS, expires=EVIDENCE_SECONDS
        ),
    )
    timer.run_from_first_request(app, TASK_EVIDENCE)

    @app.cli.group("district")
    def district_group() -> None:
        """The district dashboard's aggregates."""

    @district_group.command("refresh")
    def refresh_command() -> None:
        """Rebuild the aggregates of every platform from the synced courses (after an upgrade;
        each course sync keeps its own students' up to date)."""
        with session_scope(current_app) as db:
            for platform_id in db.scalars(select(Platform.id).order_by(Platform.id)):
                count = aggregate.refresh_all(db, platform_id)
                click.echo(f"platform {platform_id}: {count} students refreshed")
