"""``flask --app lti_app evidence import --course-id ID [--canvas-url URL] --file scores.csv``

Observations for a synced course from a CSV file (``lti_app.evidence.csv_import``), all or
nothing: a bad row refuses the file and every bad row is listed by line number. The results
are owed to Canvas at once; a running tool (its sweeper, or the Celery beat) delivers them, or
``flask --app lti_app writeback deliver --course-id ID`` does in the foreground.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from lti_app.context import NotSynced
from lti_app.db import session_scope
from lti_app.evidence import csv_import
from lti_app.evidence.observations import Refused, Scope, connected_teacher, record
from lti_app.models.observation import VIA_CLI
from lti_app.sync.cli import resolve_course, synced_course_option

RECORDED_BY = "cli"


def _read(path: Path) -> bytes:
    """At most one byte more than the limit: a huge file is refused without reading it all."""
    try:
        with path.open("rb") as handle:
            return handle.read(csv_import.MAX_BYTES + 1)
    except OSError as exc:
        raise click.ClickException(f"Cannot read {path}: {exc.strerror or exc}") from None


def register(app: Flask) -> None:
    @app.cli.group("evidence")
    def evidence_group() -> None:
        """The teacher's observations (quick evidence)."""

    @evidence_group.command("import")
    @synced_course_option
    @click.option(
        "--file",
        "path",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="CSV with columns canvas_user_id,canvas_outcome_id,level[,note][,observed_on]",
    )
    def evidence_import(course_id: str, canvas_url: str | None, path: Path) -> None:
        """Record observations from a CSV file: level as a value of the district scale or its
        short label, observed_on as YYYY-MM-DD (default today). All rows or none."""
        data = _read(path)
        try:
            with session_scope(current_app) as db:
                platform_id = resolve_course(db, course_id, canvas_url)
                rows, unreadable = csv_import.read_rows(data)
                writer = connected_teacher(db, platform_id, course_id)
                scope = Scope(platform_id, course_id, RECORDED_BY, writer)
                stored = record(db, scope, rows, VIA_CLI, unreadable)
                count = len(stored)
        except Refused as exc:
            for where, what in exc.problems:
                click.echo(f"{where}: {what}", err=True)
            n = len(exc.problems)
            raise click.ClickException(
                f"{path.name} was not imported and nothing was stored: "
                f"{n} problem{'s' if n != 1 else ''} (listed above)."
            ) from None
        except NotSynced as exc:
            raise click.ClickException(exc.message) from None
        click.echo(
            f"Imported {count} observation{'s' if count != 1 else ''} into course {course_id}."
        )
        if not writer:
            click.echo(
                "No teacher of this course is connected to Canvas, so these results cannot be "
                "sent yet: a teacher connects on the Canvas sync page, then retries them on "
                "Sent to Canvas.",
                err=True,
            )
