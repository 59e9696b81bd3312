"""``POST/DELETE /login/oauth2/token`` (docs/canvas.md §4.2, §4.8). The approve page is S2's."""

from __future__ import annotations

from flask import Blueprint, Response, request

from canvas_sandbox import tokens
from canvas_sandbox.api.common import as_json, config, state

bp = Blueprint("sandbox_oauth", __name__)


def _param(name: str) -> str:
    if request.is_json:
        data = request.get_json(silent=True) or {}
        value = data.get(name) if isinstance(data, dict) else None
        return str(value) if value is not None else ""
    return request.form.get(name) or request.args.get(name) or ""


@bp.post("/login/oauth2/token")
def token() -> Response:
    grant = _param("grant_type")
    try:
        if grant == "authorization_code":
            for required in ("client_id", "client_secret", "code"):
                if not _param(required):
                    return as_json(
                        {"error": "invalid_request", "error_description": f"{required} is missing"},
                        400,
                    )
            body = tokens.exchange_code(
                state(),
                client_id=_param("client_id"),
                client_secret=_param("client_secret"),
                redirect_uri=_param("redirect_uri"),
                code=_param("code"),
                ttl=config().token_ttl_s,
            )
        elif grant == "refresh_token":
            body = tokens.refresh_access_token(
                state(),
                client_id=_param("client_id"),
                client_secret=_param("client_secret"),
                refresh_token=_param("refresh_token"),
                ttl=config().token_ttl_s,
            )
        else:
            return as_json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type not supported",
                },
                400,
            )
    except tokens.OAuthError as err:
        return as_json(err.body, err.status)
    resp = as_json(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.delete("/login/oauth2/token")
def revoke() -> Response:
    header = request.headers.get("Authorization", "")
    token_value = header[7:].strip() if header[:7].lower() == "bearer " else ""
    token_value = token_value or request.args.get("access_token", "")
    checked = tokens.check(state(), token_value) if token_value else None
    if checked is None or checked.token is None:
        resp = as_json({"errors": [{"message": "Invalid access token."}]}, 401)
        resp.headers["WWW-Authenticate"] = 'Bearer realm="canvas-lms"'
        return resp
    tokens.revoke(state(), token_value)
    return as_json({})
