"""The `platform` CLI: Canvas instances (LTI developer keys), their deployments and API keys.

`flask --app lti_app platform add|update|list|remove-deployment|set-api-key`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lti_app.canvas.connection import store_api_key
from lti_app.db import session_scope
from lti_app.models._types import utcnow
from lti_app.models.canvas import CanvasApiToken
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Deployment, Platform
from lti_app.services import services
from lti_app.sync.cli import API_ONLY
from lti_app.urls import origin_of


def _https_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise click.BadParameter("must be an absolute https:// URL")
    if len(value) > 1024:
        raise click.BadParameter("must be at most 1024 characters")
    return value.rstrip("/") if param.name == "canvas_url" else value


def _optional_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _https_url(ctx, param, value)


def _require_https_in_production(
    auth_url: str | None, token_url: str | None, jwks_url: str | None, canvas_url: str | None
) -> None:
    if not services().settings.is_production:
        return
    for hint, url in (
        ("--auth-url", auth_url),
        ("--token-url", token_url),
        ("--jwks-url", jwks_url),
        ("--canvas-url", canvas_url),
    ):
        if url is not None and not url.startswith("https://"):
            raise click.BadParameter("must be https:// in production", param_hint=hint)


def _platform(db: Session, issuer: str, client_id: str) -> Platform:
    platform = db.scalar(
        select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    )
    if platform is None:
        raise click.ClickException(
            f"No platform {issuer} client {client_id} (`platform list` shows them)."
        )
    return platform


F = TypeVar("F", bound=Callable[..., Any])


def _platform_ids(command: F) -> F:
    """--issuer and --client-id: which registered platform a command is about."""
    command = click.option("--client-id", required=True, help="LTI developer key client id")(
        command
    )
    return click.option("--issuer", required=True, help="LTI issuer of the platform")(command)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def register(app: Flask) -> None:
    @app.cli.group("platform")
    def platform_group() -> None:
        """Canvas instances (LTI developer keys) and their deployments."""

    @platform_group.command("add")
    @click.option("--issuer", required=True, help="LTI issuer, e.g. https://canvas.instructure.com")
    @click.option("--client-id", required=True, help="LTI developer key client id")
    @click.option("--deployment-id", required=True, help="Deployment id from Canvas")
    @click.option("--auth-url", required=True, callback=_https_url, help="OIDC auth URL")
    @click.option("--token-url", required=True, callback=_https_url, help="OAuth2 token URL")
    @click.option("--jwks-url", required=True, callback=_https_url, help="Platform JWKS URL")
    @click.option("--canvas-url", required=True, callback=_https_url, help="Institution Canvas URL")
    def platform_add(
        issuer: str,
        client_id: str,
        deployment_id: str,
        auth_url: str,
        token_url: str,
        jwks_url: str,
        canvas_url: str,
    ) -> None:
        """Register a platform, or add a deployment to one already registered."""
        for hint, value in (
            ("--issuer", issuer),
            ("--client-id", client_id),
            ("--deployment-id", deployment_id),
        ):
            if not value.strip():
                raise click.BadParameter("must not be empty", param_hint=hint)
            if len(value) > 255:
                raise click.BadParameter("must be at most 255 characters", param_hint=hint)
        _require_https_in_production(auth_url, token_url, jwks_url, canvas_url)
        with session_scope(current_app) as db:
            platform = db.scalar(
                select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
            )
            if platform is None:
                # A Canvas first registered by `canvas sync` (API only) becomes this platform,
                # so its synced courses stay with the tenant instead of splitting in two.
                platform = db.scalars(
                    select(Platform).where(
                        Platform.canvas_url == canvas_url,
                        Platform.registered_via == API_ONLY,
                    )
                ).first()
                if platform is not None:
                    platform.issuer, platform.client_id = issuer, client_id
                    platform.registered_via = "cli"
            created = platform is None
            if platform is None:
                platform = Platform(issuer=issuer, client_id=client_id, registered_via="cli")
                db.add(platform)
            platform.auth_login_url = auth_url
            platform.auth_token_url = token_url
            platform.jwks_url = jwks_url
            platform.canvas_url = canvas_url
            known = {d.deployment_id for d in platform.deployments}
            if deployment_id not in known:
                platform.deployments.append(Deployment(deployment_id=deployment_id))
        verb = "Registered" if created else "Updated"
        added = "added" if deployment_id not in known else "already present"
        click.echo(
            f"{verb} platform {issuer} client {client_id}; deployment {deployment_id} {added}."
        )

    @platform_group.command("update")
    @_platform_ids
    @click.option("--auth-url", callback=_optional_url, help="new OIDC auth URL")
    @click.option("--token-url", callback=_optional_url, help="new OAuth2 token URL")
    @click.option("--jwks-url", callback=_optional_url, help="new platform JWKS URL")
    @click.option("--canvas-url", callback=_optional_url, help="new institution Canvas URL")
    @click.option(
        "--auto-register-deployments/--no-auto-register-deployments",
        default=None,
        help="learn deployment ids at their first launch (Dynamic Registration installs do)",
    )
    def platform_update(
        issuer: str,
        client_id: str,
        auth_url: str | None,
        token_url: str | None,
        jwks_url: str | None,
        canvas_url: str | None,
        auto_register_deployments: bool | None,
    ) -> None:
        """Change a registered platform's addresses (the only way they change)."""
        changes = {
            "auth_login_url": auth_url,
            "auth_token_url": token_url,
            "jwks_url": jwks_url,
            "canvas_url": canvas_url,
            "auto_register_deployments": auto_register_deployments,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            raise click.UsageError("Nothing to change: give at least one option to update.")
        _require_https_in_production(auth_url, token_url, jwks_url, canvas_url)
        with session_scope(current_app) as db:
            platform = _platform(db, issuer, client_id)
            moved = canvas_url is not None and origin_of(canvas_url) != origin_of(
                platform.canvas_url
            )
            for name, value in changes.items():
                setattr(platform, name, value)
            tokens = db.scalar(
                select(func.count())
                .select_from(CanvasApiToken)
                .where(CanvasApiToken.platform_id == platform.id)
            )
        click.echo(f"Updated platform {issuer} client {client_id}: {', '.join(sorted(changes))}.")
        if moved:
            # Tokens and the API key secret stay bound to the Canvas they came from.
            click.echo(
                f"The Canvas address changed: store the API developer key again "
                f"(`platform set-api-key`); {tokens} teacher connection(s) made with the old "
                "address will ask the teacher to reconnect."
            )

    @platform_group.command("list")
    def platform_list() -> None:
        """Show every registered platform with its deployments (first and last launch)."""
        with session_scope(current_app) as db:
            platforms = db.scalars(select(Platform).order_by(Platform.id)).all()
            if not platforms:
                click.echo(
                    "No platforms registered. Add one with `flask --app lti_app platform add`."
                )
                return
            for p in platforms:
                auto = "  auto-registers deployments" if p.auto_register_deployments else ""
                click.echo(
                    f"{p.issuer}  client_id={p.client_id}  canvas={p.canvas_url}"
                    f"  via={p.registered_via}{auto}"
                )
                click.echo(f"  auth={p.auth_login_url}")
                click.echo(f"  token={p.auth_token_url}")
                click.echo(f"  jwks={p.jwks_url}")
                for d in p.deployments:
                    how = "auto-registered" if d.auto_registered else "added by an admin"
                    state = f"  REMOVED {_when(d.removed_at)}" if d.removed_at else ""
                    click.echo(
                        f"  deployment {d.deployment_id}  ({how}; first seen "
                        f"{_when(d.created_at)}; last launch {_when(d.last_launch_at)}){state}"
                    )

    @platform_group.command("remove-deployment")
    @_platform_ids
    @click.option("--deployment-id", required=True, help="the deployment to remove")
    def platform_remove_deployment(issuer: str, client_id: str, deployment_id: str) -> None:
        """Refuse every launch of a deployment from now on (also one that auto-registered:
        it is not learned again); its open sessions end."""
        with session_scope(current_app) as db:
            platform = _platform(db, issuer, client_id)
            found = next(
                (d for d in platform.deployments if d.deployment_id == deployment_id), None
            )
            if found is None:
                raise click.ClickException(
                    f"No deployment {deployment_id} on {issuer} client {client_id} "
                    "(`platform list` shows them)."
                )
            if found.removed_at is None:
                found.removed_at = utcnow()
            result = db.execute(
                delete(LaunchSession).where(LaunchSession.deployment_pk == found.id)
            )
            ended = getattr(result, "rowcount", 0)
        click.echo(
            f"Removed deployment {deployment_id} of {issuer} client {client_id}: its launches "
            f"are refused from now on; {ended} open session(s) ended."
        )

    @platform_group.command("set-api-key")
    @_platform_ids
    @click.option("--api-client-id", required=True, help="Canvas API developer key client id")
    @click.option(
        "--api-client-secret",
        envvar="CANVAS_API_CLIENT_SECRET",
        prompt=True,
        hide_input=True,
        help="read from CANVAS_API_CLIENT_SECRET or asked for; never pass it on a command line",
    )
    def platform_set_api_key(
        issuer: str, client_id: str, api_client_id: str, api_client_secret: str
    ) -> None:
        """Store the Canvas API developer key (the REST API key, separate from the LTI key)."""
        if not api_client_id.strip() or not api_client_secret.strip():
            raise click.BadParameter("must not be empty")
        with session_scope(current_app) as db:
            platform = db.scalar(
                select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
            )
            if platform is None:
                raise click.ClickException(
                    f"No platform {issuer} client {client_id}; add it with `platform add` first."
                )
            store_api_key(
                services().keyring, platform, api_client_id.strip(), api_client_secret.strip()
            )
        click.echo(f"Canvas API key {api_client_id} stored (secret encrypted) for {issuer}.")
