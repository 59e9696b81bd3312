"""Pages reached after a launch, under /s/<handle>/, each bound to its own launch session."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from sqlalchemy import select

from lti_app.db import get_session
from lti_app.lti import launch_session
from lti_app.lti.tool_keys import ensure_current_key
from lti_app.models.keys import ToolKey
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.translatable import _l
from lti_app.web.access import refuse, session_required
from lti_app.web.home import render_home

bp = Blueprint("session", __name__, url_prefix="/s/<handle>")


@bp.get("/")
@session_required()
def home(row: LaunchSession) -> Response:
    return render_home(row)


@bp.post("/sign-out")
@session_required()
def sign_out(row: LaunchSession) -> Response:
    handle = row.id
    launch_session.end(get_session(), row)
    response = refuse(
        200,
        _l("You are signed out of Mastery Pathways."),
        _l("Open it again from Canvas whenever you need it."),
        tone="info",
    )
    launch_session.clear_cookie(response, handle)
    return response


@bp.get("/admin")
@session_required(admin=True)
def admin(row: LaunchSession) -> Response:
    db = get_session()
    svc = services()
    ensure_current_key(db, svc.keyring)
    # Only the admin's own platform: one tenant never sees another.
    platform = db.get(Platform, row.deployment.platform_id)
    keys = db.scalars(select(ToolKey).order_by(ToolKey.id.desc()).limit(5)).all()
    base = svc.settings.public_base_url
    return Response(
        render_template(
            "admin.html",
            s=row,
            platform=platform,
            keys=keys,
            config_url=base + "/lti/config.json",
            register_url=base + "/lti/register",
            jwks_url=base + "/.well-known/jwks.json",
        )
    )
