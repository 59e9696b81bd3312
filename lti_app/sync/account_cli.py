"""`flask --app lti_app canvas sync-account --canvas-url URL --account-id ID [--token TOKEN]
[--since ISO8601]`

Syncs every published course with students in the account and its sub-accounts (the token
comes from ``CANVAS_TOKEN`` too, which keeps it out of the process list; it is stored
encrypted for the course jobs and the nightly run, never echoed or logged). Prints each
course as it finishes and a summary; exits non-zero when any course failed or was not started,
each named with the reason. Run it again with ``--since`` set to the first run's start to do
only what did not succeed.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click
from flask import current_app

from lti_app.canvas.client.errors import CanvasError, PermissionDenied
from lti_app.services import services
from lti_app.sync import account, account_run
from lti_app.sync.cli import canvas_url_option, platform_for

# Canvas account ids, or the prefixed forms Canvas accepts (docs/canvas.md §4.5).
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_:.\-]{1,64}")


def _account_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not ACCOUNT_ID.fullmatch(value) or value in (".", ".."):
        raise click.BadParameter("must be a Canvas account id, like 1 or sis_account_id:ABC")
    return value


def _since(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("must be an ISO 8601 time, like 2026-12-05T02:00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_commands(group: click.Group) -> None:
    @group.command("sync-account")
    @click.option(
        "--canvas-url", required=True, callback=canvas_url_option, help="Canvas origin, https://..."
    )
    @click.option("--account-id", required=True, callback=_account_id, help="Canvas account id")
    @click.option(
        "--token",
        envvar="CANVAS_TOKEN",
        required=True,
        help="Canvas API token of an admin of the account (or env CANVAS_TOKEN)",
    )
    @click.option(
        "--since",
        callback=_since,
        help="Skip courses synced successfully since this ISO 8601 time (resume a run)",
    )
    def sync_account(canvas_url: str, account_id: str, token: str, since: datetime | None) -> None:
        """Sync every published course with students in an account and its sub-accounts."""
        token = token.strip()
        if not token:
            raise click.BadParameter("must not be empty", param_hint="--token")
        if services().settings.is_production and not canvas_url.startswith("https://"):
            raise click.BadParameter("must be https:// in production", param_hint="--canvas-url")
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        platform_id, created = platform_for(canvas_url)
        if created:
            click.echo(f"Registered Canvas instance {canvas_url} (API only).")
        account.store_token(app, platform_id, canvas_url, token)
        started, started_at = time.monotonic(), datetime.now(UTC)
        click.echo(f"Listing the courses of account {account_id} at {canvas_url}...")

        def listed(report: account_run.AccountReport) -> None:
            todo = report.total - report.skipped
            skipped = f", {report.skipped} already synced since --since" if since else ""
            click.echo(f"{report.total} courses with students{skipped}; syncing {todo}.")

        def finished(report: account_run.AccountReport, course: account_run.CourseOutcome) -> None:
            todo = report.total - report.skipped
            state = (
                f"{course.results} results"
                if course.ok
                else f"FAILED ({course.error_code}): {course.error_message}"
            )
            click.echo(
                f"[{len(report.done)}/{todo}] course {course.course_id} {course.name}: {state} "
                f"| results {report.results}, requests {report.requests}, "
                f"throttled {report.throttled}"
            )

        try:
            report = account_run.sync_account(
                app, platform_id, account_id, since=since, on_listed=listed, on_course=finished
            )
        except PermissionDenied as exc:
            raise click.ClickException(
                f"Canvas refused the account's course list: {exc.message} "
                "(the token must belong to an admin of the account)."
            ) from None
        except CanvasError as exc:
            raise click.ClickException(
                f"Could not list the account's courses: {exc.message}"
            ) from None
        elapsed = time.monotonic() - started
        ok = len(report.done) - len(report.failed)
        click.echo(
            f"Done in {elapsed:.1f}s: {ok} synced, {len(report.failed)} failed, "
            f"{len(report.not_started)} not started, {report.skipped} skipped; "
            f"{report.results} outcome results, {report.requests} requests, "
            f"{report.throttled} throttled."
        )
        if report.ok:
            return
        for course in report.failed:
            click.echo(
                f"Failed: course {course.course_id} {course.name} ({course.error_code}): "
                f"{course.error_message}",
                err=True,
            )
        for waiting in report.not_started:
            click.echo(f"Not started: course {waiting.id} {waiting.name}", err=True)
        reason = report.stopped_because or f"{len(report.failed)} course(s) failed."
        raise click.ClickException(
            f"{reason} Run again with --since {started_at:%Y-%m-%dT%H:%M:%SZ} (when this run "
            "started) to sync only the courses it did not."
        )
