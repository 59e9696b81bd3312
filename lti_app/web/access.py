"""Who may open a page under /s/<handle>/ and how a refusal reads: every domain's pages share
these (a launch session per page, CSRF on writes, admin-only pages)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, g, render_template, request

from lti_app.db import get_session
from lti_app.lti import launch_session
from lti_app.models.launch import LaunchSession
from lti_app.services import services
from lti_app.translatable import _l
from lti_app.urls import origin_of
from lti_app.web.security import allow_framing_by


def refuse(status: int, title: str, advice: str, tone: str = "error") -> Response:
    html = render_template("refused.html", title=title, advice=advice, tone=tone)
    return Response(html, status=status, mimetype="text/html")


def refuse_not_synced(advice: str) -> Response:
    """The page reads the synced course, and the course has no sync yet (409, said as
    information: nothing is wrong, the teacher's sync comes first)."""
    return refuse(409, _l("This course has not been synced from Canvas yet."), advice, tone="info")


def session_required(
    *, admin: bool = False, unless: Callable[[LaunchSession], Response | None] | None = None
) -> Callable[[Callable[..., Response]], Any]:
    """The view gets the authenticated launch session; ``unless`` is the page's own rule of who
    may use it (its refusal answers instead of the view)."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapper(handle: str, **kwargs: Any) -> Response:
            row = launch_session.authenticate(get_session(), request, handle)
            if row is None:
                return refuse(
                    401,
                    _l("Your session has ended."),
                    _l("Open Mastery Pathways again from the course navigation in Canvas."),
                )
            allow_framing_by(origin_of(row.deployment.platform.canvas_url))
            if request.method not in ("GET", "HEAD", "OPTIONS") and not launch_session.csrf_ok(
                request, row, services().settings.public_origin
            ):
                return refuse(
                    403, _l("This request could not be verified."), _l("Reload the page.")
                )
            if admin and not row.is_admin:
                return refuse(
                    403,
                    _l("This page is for district administrators."),
                    _l("Ask your Canvas admin if you need access."),
                )
            g.launch_session = row
            if launch_session.COOKIE_PREFIX + handle not in request.cookies:
                # Authenticated by header or form field: the browser refuses our cookie, so
                # the page hands the secret on for the next navigation (session_nav.js).
                g.launch_token = launch_session.presented_secret(request, handle)
            refusal = None if unless is None else unless(row)
            return refusal or view(row, **kwargs)

        return wrapper

    return decorate
