"""``flask --app lti_app mastery export``: a synced course's mastery report for district scripts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.grading import course_mastery
from lti_app.mastery.report import write_csv
from lti_app.models.canvas import CanvasCourse
from lti_app.models.tenancy import Platform
from lti_app.policies.store import effective_policy


def register(app: Flask) -> None:
    @app.cli.group("mastery")
    def mastery_group() -> None:
        """Mastery levels of synced courses."""

    @mastery_group.command("export")
    @click.option("--course-id", required=True, help="Canvas course id (as synced)")
    @click.option(
        "--format", "fmt", type=click.Choice(["csv", "json"]), default="json", show_default=True
    )
    @click.option(
        "--canvas-url",
        default=None,
        help="Canvas URL of the course, needed only when two Canvas instances have this course id",
    )
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        help="Write to this file instead of standard output",
    )
    def mastery_export(
        course_id: str, fmt: str, canvas_url: str | None, output: Path | None
    ) -> None:
        """Every student x learning target of a synced course: level on the district scale,
        mastery, evidence count and growth, under the course's policy."""
        with session_scope(current_app) as db:
            query = select(CanvasCourse.platform_id, Platform.canvas_url).join(
                Platform, Platform.id == CanvasCourse.platform_id
            )
            query = query.where(
                CanvasCourse.canvas_course_id == course_id, CanvasCourse.last_synced_at.is_not(None)
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
            platform_id = found[0][0]
            data = course_mastery.load(db, platform_id, course_id)
            eff = effective_policy(db, platform_id, course_id)
            report = course_mastery.course_report(
                data, eff.scale, eff.policy, eff.mapping, datetime.now(UTC)
            )
        if fmt == "json":
            text = json.dumps(report, ensure_ascii=False, indent=1) + "\n"
        else:
            buffer = io.StringIO()
            write_csv(report, buffer)
            text = buffer.getvalue()
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8", newline="")
            rows = sum(len(s["targets"]) for s in report["students"])
            click.echo(f"Wrote {rows} rows for course {course_id} to {output}.", err=True)
