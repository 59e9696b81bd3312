"""`flask --app lti_app maintenance prune`: what the periodic prune does, now, with counts."""

from __future__ import annotations

import click
from flask import Flask, current_app

from lti_app.maintenance.prune import prune


def register(app: Flask) -> None:
    @app.cli.group("maintenance")
    def maintenance_group() -> None:
        """Housekeeping of the tool's database."""

    @maintenance_group.command("prune")
    def prune_command() -> None:
        """Delete expired OIDC logins, launch sessions and Connect states, and finished sync
        runs older than SYNC_RUN_KEEP_DAYS (each course keeps its latest run and latest
        successful run); prints what was removed."""
        pruned = prune(current_app)
        for table, count in pruned.items():
            click.echo(f"{table}: {count} removed")
        click.echo(f"total: {pruned.total} removed")
