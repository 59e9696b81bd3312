"""Wiring: the district aggregates refresh at the end of every course sync (the tasks seam's
after-sync hook, so the sync never imports this layer), the pages, and
``flask --app lti_app district refresh``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.db import session_scope
from lti_app.district import aggregate, views
from lti_app.models.tenancy import Platform
from lti_app.tasks import hooks


def refresh_after_sync(db: Session, platform_id: int, course_pk: int) -> None:
    aggregate.refresh_course(db, platform_id, course_pk)


def init_app(app: Flask) -> None:
    hooks.on_course_synced(app, refresh_after_sync)
    app.register_blueprint(views.bp)

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
