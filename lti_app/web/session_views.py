"""Pages reached after a launch, under /s/<handle>/, each bound to its own launch session."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from sqlalchemy import select

from lti_app.db import get_session
from lti_app.lti import launch_session
from lti_app.lti.tool_keys import ensure_current_key
from lti_app.models.keys import ToolKey
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.urls import origin_of
from lti_app.web.home import render_home
from lti_app.web.security import allow_framing_by

bp = Blueprint("session", __name__, url_prefix="/s/<handle>")


def refuse(status: int, title: str, advice: str, tone: str = "error") -> Response:
    html = render_template("refused.html", title=title, advice=advice, tone=tone)
    return Response(html, status=status, mimetype="text/html")


def session_required(*, admin: bool = False) -> Callable[[Callable[..., Response]], Any]:
    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapper(handle: str, **kwargs: Any) -> Response:
            row = launch_session.authenticate(get_session(), request, handle)
            if row is None:
                return refuse(
                    401,
                    "Your session has ended.",
                    "Open Mastery Pathways again from the course navigation in Canvas.",
                )
            allow_framing_by(origin_of(row.deployment.platform.canvas_url))
            if request.method not in ("GET", "HEAD", "OPTIONS") and not launch_session.csrf_ok(
                request, row, services().settings.public_origin
            ):
                return refuse(403, "This request could not be verified.", "Reload the page.")
            if admin and not row.is_admin:
                return refuse(
                    403,
                    "This page is for district administrators.",
                    "Ask your Canvas admin if you need access.",
                )
            g.launch_session = row
            if launch_session.COOKIE_PREFIX + handle not in request.cookies:
                # Authenticated by header or form field: the browser refuses our cookie, so
                # the page hands the secret on for the next navigation (session_nav.js).
                g.launch_token = launch_session.presented_secret(request, handle)
            return view(row, **kwargs)

        return wrapper

    return decorate


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
        "You are signed out of Mastery Pathways.",
        "Open it again from Canvas whenever you need it.",
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
