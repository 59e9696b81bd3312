"""The platform endpoints tools talk to: OIDC authorization, JWKS, Dynamic Registration,
the Platform Storage frame, and the OAuth2 approve page of the API developer key flow."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from canvas_sandbox import tokens
from canvas_sandbox.platform import context, install, keys
from canvas_sandbox.platform.launch import AuthorizeError, Platform, authorize
from canvas_sandbox.platform.store import add_developer_key, deploy

PACKAGE = Path(__file__).resolve().parent.parent
REGISTRATION_TOKENS_USED = "lti_registration_tokens_used"
AUTHORIZE_LOG = "lti_authorize_log"  # what the authorization endpoint decided (for tests)

bp = Blueprint(
    "sandbox_platform",
    __name__,
    template_folder=str(PACKAGE / "templates"),
    static_folder=str(PACKAGE / "static"),
    static_url_path="/sandbox_static",
)


def platform() -> Platform:
    return Platform(context.base_url(), context.issuer(), context.platform_secret())


def _log_authorize(entry: dict[str, Any]) -> None:
    s = context.state()
    with s.lock:
        log = s.table(AUTHORIZE_LOG).setdefault("entries", [])
        log.append(entry)
        del log[:-50]  # bounded


# -- OIDC authorization (docs/canvas.md §7.3) --------------------------------------------------
@bp.route("/api/lti/authorize_redirect", methods=["GET", "POST"])
def authorize_redirect() -> Response:
    params = (request.args if request.method == "GET" else request.form).to_dict()
    user = context.current_user()
    try:
        result = authorize(platform(), context.state(), params, user)
    except AuthorizeError as err:
        _log_authorize({"ok": False, "error": err.error, "description": err.description})
        if not err.trusted_redirect:
            html = render_template("lti_error.html", error=err.error, description=err.description)
            return Response(html, status=400, mimetype="text/html")
        fields = {"error": err.error, "error_description": err.description}
        if params.get("state"):
            fields["state"] = params["state"]
        html = render_template("auto_post.html", action=params["redirect_uri"], fields=fields)
        return Response(html, status=400, mimetype="text/html")
    _log_authorize({"ok": True, "state": result.state, "nonce": result.claims["nonce"]})
    fields = {"id_token": result.id_token, "state": result.state}
    storage_target = request.values.get("lti_storage_target")
    # Canvas repeats the storage target in the launch so the tool knows to check it.
    fields["lti_storage_target"] = storage_target or "post_message_forwarding"
    html = render_template("auto_post.html", action=result.redirect_uri, fields=fields)
    return Response(html, mimetype="text/html")


@bp.get("/api/lti/security/jwks")
def jwks() -> Response:
    response = jsonify(keys.jwks(context.state()))
    response.headers["Cache-Control"] = "max-age=300"
    return response


@bp.get("/post_message_forwarding")
def post_message_forwarding() -> str:
    return render_template("post_message_forwarding.html")


# -- Dynamic Registration (docs/canvas.md §5) --------------------------------------------------
def _bearer_claims() -> dict[str, Any] | Response:
    try:
        return install.read_registration_token(platform(), request.headers.get("Authorization", ""))
    except install.InstallError as err:
        response = jsonify({"errors": [{"message": str(err)}]})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="canvas-lms"'
        return response


@bp.get("/api/lti/security/openid-configuration")
def openid_configuration() -> Response:
    claims = _bearer_claims()
    if isinstance(claims, Response):
        return claims
    s = context.state()
    with s.lock:
        if claims["uuid"] in s.table(REGISTRATION_TOKENS_USED):
            return _used_token()
    return jsonify(install.openid_configuration(platform(), s, int(claims["account_id"])))


def _used_token() -> Response:
    response = jsonify({"errors": [{"message": "registration token already used"}]})
    response.status_code = 401
    return response


@bp.post("/api/lti/registrations")
def registrations() -> Response:
    claims = _bearer_claims()
    if isinstance(claims, Response):
        return claims
    s = context.state()
    try:
        values = install.key_values_from_registration(request.get_json(silent=True))
    except install.InstallError as err:
        response = jsonify({"errors": [{"message": str(err)}]})
        response.status_code = 422
        return response
    with s.lock:
        used = s.table(REGISTRATION_TOKENS_USED)
        if claims["uuid"] in used:
            return _used_token()
        used[claims["uuid"]] = True
        key = add_developer_key(s, **values)
        deployment = deploy(s, key, int(claims["account_id"]))
    return jsonify(install.registration_response(key, deployment.deployment_id))


# -- OAuth2 authorization-code flow, the page part (docs/canvas.md §4.8) ------------------------
def _oauth_error(status: int, error: str, description: str) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    return response


def _decision_token(user_id: int, query: dict[str, str]) -> str:
    message = f"{user_id}|{query.get('client_id')}|{query.get('redirect_uri')}|{query.get('state')}"
    return hmac.new(context.platform_secret().encode(), message.encode(), "sha256").hexdigest()


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


@bp.route("/login/oauth2/auth", methods=["GET", "POST"])
def oauth2_auth() -> BaseResponse:
    query = request.args.to_dict()
    key = tokens.key_by_client_id(context.state(), query.get("client_id", ""))
    if key is None:
        return _oauth_error(400, "invalid_client", "unknown client")
    redirect_uri = query.get("redirect_uri", "")
    if not tokens.redirect_uri_allowed(key, redirect_uri):
        return _oauth_error(400, "invalid_request", "redirect_uri does not match client settings")
    if query.get("response_type") != "code":
        return _oauth_error(400, "unsupported_response_type", "response_type must be code")
    if not query.get("state"):
        return _oauth_error(400, "invalid_request", "state is required")
    user = context.current_user()
    if user is None:
        return redirect("/?" + urlencode({"next": request.full_path}))
    if request.method == "GET":
        return Response(
            render_template(
                "oauth_authorize.html",
                key=key,
                user=user,
                decision_token=_decision_token(user.id, query),
                scopes=query.get("scope", "").split(),
            )
        )
    if not hmac.compare_digest(
        request.form.get("decision_token", ""), _decision_token(user.id, query)
    ):
        abort(403)
    if request.form.get("decision") != "approve":
        return redirect(
            _with_query(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "the user denied the request",
                    "state": query["state"],
                },
            )
        )
    code = tokens.issue_code(
        context.state(),
        key.client_id,
        user.id,
        redirect_uri,
        query.get("scope", "").split(),
    )
    return redirect(_with_query(redirect_uri, {"code": code, "state": query["state"]}))
