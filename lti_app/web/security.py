"""Response headers and error pages shared by every view.

Pages that Canvas frames get `frame-ancestors` with exactly the tenant's Canvas origin;
everything else may not be framed at all. Error pages without a known tenant may be framed
anywhere: they carry no controls, and a blank "refused to connect" box helps nobody.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, render_template, request
from werkzeug.exceptions import HTTPException

from lti_app.launch.errors import LaunchError

log = logging.getLogger("lti_app.launch")

_BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def allow_framing_by(*origins: str) -> None:
    g.frame_ancestors = sorted({o for o in origins if o})


def render_launch_error(err: LaunchError, tenant_origins: tuple[str, ...] = ()) -> Response:
    # Reason code and a short detail only: never the token, the state or the login hint.
    log.warning("launch_rejected reason=%s status=%d detail=%s", err.code, err.status, err.detail)
    if tenant_origins:
        allow_framing_by(*tenant_origins)
    else:
        g.frame_ancestors = ["*"]
    html = render_template("error.html", reason=err.reason, code=err.code)
    return Response(html, status=err.status, mimetype="text/html")


def init_app(app: Flask) -> None:
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
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(LaunchError)
    def _launch_error(err: LaunchError) -> Response:
        return render_launch_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = {405: "method_not_allowed", 413: "body_too_large"}.get(exc.code or 0)
        if code is None and (exc.code or 500) == 400:
            code = "bad_request"
        if code is not None:
            return render_launch_error(LaunchError(code, exc.name))
        g.frame_ancestors = ["*"]
        html = render_template("http_error.html", status=exc.code, name=exc.name)
        return Response(html, status=exc.code or 500, mimetype="text/html")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled_error path=%s", request.path)
        g.frame_ancestors = ["*"]
        html = render_template("http_error.html", status=500, name="Something went wrong")
        return Response(html, status=500, mimetype="text/html")
