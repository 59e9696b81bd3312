"""Operators' write-back commands.

``flask --app lti_app writeback deliver --course-id ID [--canvas-url URL] [--token TOKEN]``
runs the course's due deliveries in the foreground (``delivery.deliver_course``, under the
course lease like any worker), with the given API token (or ``CANVAS_TOKEN``) or else the
stored connection of the teacher who scored; it prints the counts per status and exits 1 when
anything that was due is not in Canvas afterwards (failed, or waiting to retry).

``flask --app lti_app writeback status --course-id ID [--format text|json]`` prints every item
of the course with its status and the reason of its last failure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from lti_app.canvas import connection
from lti_app.canvas.client.client import CanvasClient
from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from lti_app.models.writeback import DELIVERED, FAILED, PENDING, WritebackItem
from lti_app.services import services
from lti_app.sync.cli import resolve_course, synced_course_option
from lti_app.writeback import outbox
from lti_app.writeback.delivery import ClientFor, deliver_course


def _counts(st: outbox.CourseStatus) -> str:
    return f"delivered {st.delivered}, pending {st.pending}, failed {st.failed}"


def _item(i: WritebackItem) -> dict[str, Any]:
    return {
        "id": i.id,
        "source": outbox.source_of(i.idempotency_key),
        "canvas_user_id": i.canvas_user_id,
        "canvas_outcome_id": i.canvas_outcome_id,
        "level": i.level,
        "label": i.label,
        "round": i.round,
        "status": i.status,
        "attempts": i.attempts,
        "reason": i.last_error,
        "created_at": i.created_at.isoformat(),
        "delivered_at": i.delivered_at.isoformat() if i.delivered_at else None,
    }


def register(app: Flask) -> None:
    @app.cli.group("writeback")
    def writeback_group() -> None:
        """Results the tool owes Canvas (the outbox)."""

    @writeback_group.command("deliver")
    @synced_course_option
    @click.option(
        "--token",
        envvar="CANVAS_TOKEN",
        default=None,
        help="Canvas API token that may grade in the course (or env CANVAS_TOKEN); default: "
        "the stored Canvas connection of the teacher who scored",
    )
    def writeback_deliver(course_id: str, canvas_url: str | None, token: str | None) -> None:
        """Deliver the course's due results to Canvas now, in the foreground."""
        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        with session_scope(app_obj) as db:
            platform_id = resolve_course(db, course_id, canvas_url)
            platform = db.get(Platform, platform_id)
            assert platform is not None
            url = platform.canvas_url
            due = set(
                db.scalars(
                    select(WritebackItem.id).where(
                        WritebackItem.in_course(platform_id, course_id),
                        WritebackItem.status == PENDING,
                        WritebackItem.next_attempt_at <= datetime.now(UTC),
                    )
                )
            )
        client_for: ClientFor | None = None
        if token is not None:
            given = token.strip()
            if not given:
                raise click.BadParameter("must not be empty", param_hint="--token")
            svc = services()

            def client_for(teacher: str) -> CanvasClient:
                return connection.make_client(svc, url, connection.static_token_source(given))

        if not due:
            with session_scope(app_obj) as db:
                st = outbox.course_status(db, platform_id, course_id)
            click.echo(f"Nothing due in course {course_id} ({_counts(st)}).")
            return
        click.echo(f"Delivering {len(due)} due result(s) of course {course_id} to {url}...")
        report = deliver_course(app_obj, platform_id, course_id, client_for=client_for)
        if report.busy:
            raise click.ClickException(
                "Another worker is delivering this course right now; try again in a minute."
            )
        with session_scope(app_obj) as db:
            st = outbox.course_status(db, platform_id, course_id)
            left = dict.fromkeys((DELIVERED, PENDING, FAILED), 0) | dict(
                db.execute(
                    select(WritebackItem.status, func.count())
                    .where(WritebackItem.id.in_(due))
                    .group_by(WritebackItem.status)
                ).all()
            )
        click.echo(
            f"Of {len(due)} due: delivered {left[DELIVERED]}, waiting to retry {left[PENDING]}, "
            f"failed {left[FAILED]} ({report.requests} Canvas requests)."
        )
        click.echo(f"Course {course_id}: {_counts(st)}.")
        if left[PENDING] or left[FAILED]:
            raise click.ClickException(
                "Some results are not in Canvas; `flask --app lti_app writeback status "
                f"--course-id {course_id}` shows why."
            )

    @writeback_group.command("status")
    @synced_course_option
    @click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )
    def writeback_status(course_id: str, canvas_url: str | None, fmt: str) -> None:
        """Every result the course owes Canvas, newest first, with its status and reason."""
        with session_scope(current_app) as db:
            platform_id = resolve_course(db, course_id, canvas_url)
            st = outbox.course_status(db, platform_id, course_id)
            items = [_item(i) for i in outbox.course_items(db, platform_id, course_id)]
        if fmt == "json":
            counts = {"delivered": st.delivered, "pending": st.pending, "failed": st.failed}
            doc = {"course_id": course_id, "counts": counts, "items": items}
            click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
            return
        click.echo(f"Course {course_id}: {_counts(st)}.")
        for i in items:
            reason = f" - {i['reason']}" if i["reason"] else ""
            click.echo(
                f"#{i['id']} {i['status']:<9} {i['source']} student {i['canvas_user_id']} "
                f"target {i['canvas_outcome_id']} level {i['level']:g} ({i['label']}) "
                f"round {i['round']}, {i['attempts']} attempt(s){reason}"
            )
