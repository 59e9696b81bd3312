"""``flask --app lti_app mastery export``: a synced course's mastery report for district scripts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from lti_app.db import session_scope
from lti_app.grading import course_mastery
from lti_app.mastery.report import write_csv
from lti_app.policies.store import effective_policy
from lti_app.sync.cli import resolve_course, synced_course_option


def register(app: Flask) -> None:
    @app.cli.group("mastery")
    def mastery_group() -> None:
        """Mastery levels of synced courses."""

    @mastery_group.command("export")
    @synced_course_option
    @click.option(
        "--format", "fmt", type=click.Choice(["csv", "json"]), default="json", show_default=True
    )
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        help="Write to this file instead of standard output",
    )
    def mastery_export(
        course_id: str, canvas_url: str | None, fmt: str, output: Path | None
    ) -> None:
        """Every student x learning target of a synced course: level on the district scale,
        mastery, evidence count and growth, under the course's policy."""
        with session_scope(current_app) as db:
            platform_id = resolve_course(db, course_id, canvas_url)
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
