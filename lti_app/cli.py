"""Admin commands: `flask --app lti_app keys rotate|reencrypt`, `db upgrade|...`; registers the
domains' command groups (`platform`, `canvas`, `mastery`, `evidence`, `writeback`)."""

from __future__ import annotations

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from sqlalchemy import select

from lti_app.canvas.connection import ACCESS, REFRESH
from lti_app.db import session_scope
from lti_app.evidence import cli as evidence_cli
from lti_app.grading import cli as mastery_cli
from lti_app.lti.tool_keys import rotate
from lti_app.maintenance import cli as maintenance_cli
from lti_app.models.canvas import CanvasApiToken
from lti_app.models.keys import ToolKey
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.settings import PROJECT_ROOT
from lti_app.sync.cli import register as register_canvas_sync
from lti_app.tenancy import cli as tenancy_cli
from lti_app.writeback import cli as writeback_cli


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def register(app: Flask) -> None:
    mastery_cli.register(app)

    register_canvas_sync(app)

    tenancy_cli.register(app)

    maintenance_cli.register(app)

    evidence_cli.register(app)

    writeback_cli.register(app)

    @app.cli.group("keys")
    def keys_group() -> None:
        """The tool's signing keys."""

    @keys_group.command("rotate")
    def keys_rotate() -> None:
        """Make a new current key; the old one stays published as previous until next time."""
        with session_scope(current_app) as db:
            new, old = rotate(db, services().keyring)
            click.echo(f"New current key {new.kid}.")
            if old is not None:
                click.echo(f"Previous key {old.kid} stays published until the next rotation.")

    @keys_group.command("reencrypt")
    def keys_reencrypt() -> None:
        """Re-encrypt every secret under the newest ENCRYPTION_KEYS entry (after adding one),
        so older encryption keys can then be removed."""
        keyring = services().keyring
        with session_scope(current_app) as db:
            count = 0
            for key in db.scalars(select(ToolKey)):
                if keyring.needs_rotation(key.private_pem_encrypted):
                    plain = keyring.decrypt(key.private_pem_encrypted, key.private_aad())
                    key.private_pem_encrypted = keyring.encrypt(plain, key.private_aad())
                    count += 1
            for platform in db.scalars(select(Platform)):
                token = platform.api_client_secret_encrypted
                if token and keyring.needs_rotation(token):
                    plain = keyring.decrypt(token, platform.secret_aad())
                    platform.api_client_secret_encrypted = keyring.encrypt(
                        plain, platform.secret_aad()
                    )
                    count += 1
            # Teachers' Canvas OAuth tokens (access and refresh), each bound to its row.
            for row in db.scalars(select(CanvasApiToken)):
                for attr, kind in (
                    ("access_token_encrypted", ACCESS),
                    ("refresh_token_encrypted", REFRESH),
                ):
                    sealed = getattr(row, attr)
                    if sealed and keyring.needs_rotation(sealed):
                        plain = keyring.decrypt(sealed, row.aad(kind))
                        setattr(row, attr, keyring.encrypt(plain, row.aad(kind)))
                        count += 1
        click.echo(f"Re-encrypted {count} secret(s) under the newest key.")

    @app.cli.group("db")
    def db_group() -> None:
        """Database migrations (Alembic)."""

    def _config() -> Config:
        return alembic_config(services().settings.database_url)

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Upgrade the schema (default: to the newest revision)."""
        command.upgrade(_config(), revision)

    @db_group.command("downgrade")
    @click.argument("revision", default="-1")
    def db_downgrade(revision: str) -> None:
        """Downgrade the schema (default: one revision)."""
        command.downgrade(_config(), revision)

    @db_group.command("current")
    def db_current() -> None:
        """Show the schema revision."""
        command.current(_config())

    @db_group.command("revision")
    @click.option("-m", "--message", required=True)
    def db_revision(message: str) -> None:
        """Autogenerate a revision from the models."""
        command.revision(_config(), message=message, autogenerate=True)
