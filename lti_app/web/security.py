"""Response headers and error pages shared by every view.

Pages that Canvas frames get `frame-ancestors` with exactly the tenant's Canvas origin;
everything else may not be framed at all. An error page inside a known tenant (a
``/s/<handle>/`` URL with a valid session) keeps that tenant's origin; error pages without a
known tenant may be framed anywhere: they carry no controls and never the session secret
(their templates set ``carries_secret = false``), and a blank "refused to connect" box helps
nobody.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from lti_app.db import get_session
from lti_app.lti import launch_session
from lti_app.lti.errors import LaunchError
from lti_app.services import Services
from lti_app.translatable import _l
from lti_app.urls import origin_of
from lti_app.web.input_guard import RefusedInput

log = logging.getLogger("lti_app.lti")

_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
# Production is HTTPS only (settings refuse an http:// PUBLIC_BASE_URL there).
_HSTS = "max-age=31536000; includeSubDomains"
_SESSION_PATH = re.compile(r"/s/([A-Za-z0-9_-]{1,64})/")
# Plain words for the statuses a person can reach by following or editing a link.
_STATUS_WORDS = {
    404: (
        _l("There is no such page."),
        _l(
            "The address is incomplete, or what it names does not exist (any more). Go back and "
            "choose again."
        ),
    ),
}


def allow_framing_by(*origins: str) -> None:
    g.frame_ancestors = sorted({o for o in origins if o})


def _tenant_origins() -> tuple[str, ...]:
    """The Canvas origin of the session a ``/s/<handle>/`` error page belongs to, if valid."""
    match = _SESSION_PATH.match(request.path)
    if match is None:
        return ()
    try:
        row = launch_session.authenticate(get_session(), request, match.group(1))
        return (origin_of(row.deployment.platform.canvas_url),) if row is not None else ()
    except (SQLAlchemyError, HTTPException):  # a failed transaction, an unreadable body
        return ()


def _frame_error_page() -> None:
    """Keep a tenant's origin (session_required set it, or the URL names the session); an
    error page of no known tenant may be framed anywhere."""
    if getattr(g, "frame_ancestors", None):
        return
    g.frame_ancestors = list(_tenant_origins()) or ["*"]


def render_launch_error(err: LaunchError, tenant_origins: tuple[str, ...] = ()) -> Response:
    # Reason code and a short detail only: never the token, the state or the login hint.
    log.warning("launch_rejected reason=%s status=%d detail=%s", err.code, err.status, err.detail)
    if tenant_origins:
        allow_framing_by(*tenant_origins)
    else:
        _frame_error_page()
    html = render_template("error.html", reason=err.reason, code=err.code)
    return Response(html, status=err.status, mimetype="text/html")


def init_app(app: Flask) -> None:
    installed: Services = app.extensions["mp_services"]
    production = installed.settings.app_env == "production"

    @app.after_request
    def _headers(response: Response) -> Response:
        ancestors = getattr(g, "frame_ancestors", None)
        frame = " ".join(ancestors) if ancestors else "'none'"
        response.headers.setdefault(
            "Content-Security-Policy", f"{_BASE_CSP}; frame-ancestors {frame}"
        )
        # same-origin: no Referer ever leaves for another site, and the browser sends our real
        # Origin on same-origin form posts (with no-referrer it sends "Origin: null", which the
        # CSRF check must refuse).
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if production:
            response.headers.setdefault("Strict-Transport-Security", _HSTS)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(LaunchError)
    def _launch_error(err: LaunchError) -> Response:
        return render_launch_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc, RefusedInput):
            _frame_error_page()
            html = render_template("refused.html", title=exc.title, advice=exc.advice)
            return Response(html, status=400, mimetype="text/html")
        code = {405: "method_not_allowed", 413: "body_too_large"}.get(exc.code or 0)
        if code is None and (exc.code or 500) == 400:
            code = "bad_request"
        if code is not None:
            return render_launch_error(LaunchError(code, exc.name))
        _frame_error_page()
        title, advice = _STATUS_WORDS.get(exc.code or 500, (exc.name, ""))
        html = render_template("http_error.html", status=exc.code, name=title, advice=advice)
        return Response(html, status=exc.code or 500, mimetype="text/html")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled_error path=%s", request.path)
        _frame_error_page()
        html = render_template("http_error.html", status=500, name=_l("Something went wrong"))
        return Response(html, status=500, mimetype="text/html")
