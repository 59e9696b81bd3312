"""`flask --app lti_app canvas sync --canvas-url URL --token TOKEN --course-id ID`

For admins and nightly jobs: syncs one course with a given API token (never echoed or logged),
registering the Canvas instance if the tool does not know it yet. Runs in the foreground,
prints progress and a summary, exits non-zero with the reason on failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.canvas import connection
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.sync import errors, service

# Canvas ids, or the prefixed forms Canvas accepts (sis_course_id:..., docs/canvas.md §4.5).
COURSE_ID = re.compile(r"[A-Za-z0-9_:.\-]{1,64}")
CLI_REQUESTER = "cli"


def canvas_url_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter("must be an absolute https:// URL of the Canvas instance")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise click.BadParameter("must be the Canvas origin, like https://canvas.example.edu")
    if parts.path not in ("", "/"):
        raise click.BadParameter("must be the Canvas origin, without a path")
    return value.rstrip("/")


def _course_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not COURSE_ID.fullmatch(value) or value in (".", ".."):
        raise click.BadParameter("must be a Canvas course id, like 1234 or sis_course_id:ABC")
    return value


def synced_course_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--course-id and --canvas-url: which synced course a command is about (see
    :func:`resolve_course`)."""
    command = click.option(
        "--canvas-url",
        default=None,
        help="Canvas URL of the course, needed only when two Canvas instances have this course id",
    )(command)
    return click.option(
        "--course-id", required=True, callback=_course_id, help="Canvas course id (as synced)"
    )(command)


def resolve_course(db: Session, course_id: str, canvas_url: str | None) -> int:
    """The platform (tenant) id of the synced course ``course_id``; ``canvas_url`` chooses
    when two Canvas instances have a course with that id. A ClickException says what to do."""
    query = (
        select(CanvasCourse.platform_id, Platform.canvas_url)
        .join(Platform, Platform.id == CanvasCourse.platform_id)
        .where(CanvasCourse.canvas_course_id == course_id, CanvasCourse.last_synced_at.is_not(None))
    )
    if canvas_url:
        query = query.where(Platform.canvas_url == canvas_url.rstrip("/"))
    found = db.execute(query).all()
    if not found:
        raise click.ClickException(
            f"Course {course_id} has not been synced"
            + (f" from {canvas_url}" if canvas_url else "")
            + "; run `flask --app lti_app canvas sync` first."
        )
    if len(found) > 1:
        urls = ", ".join(sorted(url for _, url in found))
        raise click.ClickException(
            f"Course {course_id} exists in several Canvas instances ({urls}); "
            "choose one with --canvas-url."
        )
    return int(found[0][0])


# How a Canvas registered by `canvas sync` is marked; `platform add` later adopts that row.
API_ONLY = "canvas-sync-cli"


def platform_for(canvas_url: str) -> tuple[int, bool]:
    """The tenant whose Canvas is `canvas_url`; registered (API only) when unknown."""
    with session_scope(current_app) as db:
        found = db.scalars(
            select(Platform).where(Platform.canvas_url == canvas_url).order_by(Platform.id)
        ).first()
        if found is not None:
            return found.id, False
        # Canvas's standard LTI endpoints on the instance itself; `platform add` with the
        # real issuer and LTI key completes the registration for launches later.
        platform = Platform(
            issuer=canvas_url,
            client_id="api-only",
            auth_login_url=canvas_url + "/api/lti/authorize_redirect",
            auth_token_url=canvas_url + "/login/oauth2/token",
            jwks_url=canvas_url + "/api/lti/security/jwks",
            canvas_url=canvas_url,
            registered_via=API_ONLY,
        )
        db.add(platform)
        db.flush()
        return platform.id, True


def register(app: Flask) -> None:
    @app.cli.group("canvas")
    def canvas_group() -> None:
        """Canvas REST API: course sync."""

    from lti_app.sync.account_cli import add_commands

    add_commands(canvas_group)

    @canvas_group.command("sync")
    @click.option(
        "--canvas-url", required=True, callback=canvas_url_option, help="Canvas origin, https://..."
    )
    @click.option(
        "--token",
        envvar="CANVAS_TOKEN",
        required=True,
        help="Canvas API token of a teacher or admin of the course (or env CANVAS_TOKEN)",
    )
    @click.option("--course-id", required=True, callback=_course_id, help="Canvas course id")
    def canvas_sync(canvas_url: str, token: str, course_id: str) -> None:
        """Sync one course's outcomes, mastery scale, roster and outcome results."""
        token = token.strip()
        if not token:
            raise click.BadParameter("must not be empty", param_hint="--token")
        svc = services()
        if svc.settings.is_production and not canvas_url.startswith("https://"):
            raise click.BadParameter("must be https:// in production", param_hint="--canvas-url")
        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        platform_id, created = platform_for(canvas_url)
        if created:
            click.echo(f"Registered Canvas instance {canvas_url} (API only).")
        run_id, fresh = service.create_run(app_obj, platform_id, course_id, CLI_REQUESTER)
        if not fresh:
            raise click.ClickException(
                f"A sync of course {course_id} is already running (run {run_id}); try later."
            )
        click.echo(f"Syncing course {course_id} from {canvas_url} (run {run_id})...")
        started = time.monotonic()
        last = [""]

        def show(percent: int, step: str) -> None:
            line = f"[{percent:3d}%] {step}"
            if line != last[0]:
                last[0] = line
                click.echo(line)

        outcome = service.execute(
            app_obj,
            run_id,
            lambda: connection.make_client(svc, canvas_url, connection.static_token_source(token)),
            listener=show,
        )
        elapsed = time.monotonic() - started
        if not outcome.ok:
            reason = outcome.error_message
            if outcome.error_code == errors.RECONNECT:
                # A given API token cannot be reconnected: say what to do instead.
                reason = "Canvas rejected the API token (expired, revoked or mistyped)."
            raise click.ClickException(
                f"Sync failed ({outcome.error_code}): {reason} "
                f"[{outcome.requests} requests, {elapsed:.1f}s]"
            )
        assert outcome.summary is not None
        counts = outcome.summary.counts
        click.echo(
            f"Synced course {course_id}: {counts['outcomes']} outcomes, "
            f"{counts['students']} students in {counts['sections']} sections, "
            f"{counts['results']} outcome results ({counts['carrier_results']} from the tool's "
            f"own assignments)."
        )
        changes = ", ".join(
            f"{name} +{t.added} ~{t.updated} -{t.removed}"
            for name, t in outcome.summary.tables.items()
        )
        scale = "; mastery scale changed" if outcome.summary.scale_changed else ""
        click.echo(f"Changes: {changes}{scale}.")
        click.echo(f"{outcome.requests} requests in {elapsed:.1f}s.")
