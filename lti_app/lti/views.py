"""The LTI endpoints Canvas calls: login, launch, JWKS, developer key JSON, registration."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request
from pylti1p3.contrib.flask import FlaskRequest
from werkzeug.wrappers import Response as BaseResponse

from lti_app.db import get_session
from lti_app.lti import dynamic_registration, launch_session
from lti_app.lti.errors import LaunchError
from lti_app.lti.login import LAUNCH_PATH, HardenedOIDCLogin, check_target_link_uri
from lti_app.lti.state_store import (
    STATE_COOKIE_PREFIX,
    DbSessionService,
    PartitionedCookieService,
)
from lti_app.lti.tool_conf import DbToolConf, PlatformInfo
from lti_app.lti.tool_configuration import developer_key_json
from lti_app.lti.tool_keys import published_jwks
from lti_app.lti.validation import (
    DEPLOYMENT_ID,
    HardenedMessageLaunch,
    LaunchRules,
    audience_client_id,
    unverified_parts,
)
from lti_app.services import services
from lti_app.translatable import _l
from lti_app.urls import origin_of
from lti_app.web.home import render_home
from lti_app.web.security import allow_framing_by, render_launch_error

bp = Blueprint("lti", __name__)


def _lti_request() -> tuple[FlaskRequest, DbToolConf, DbSessionService, PartitionedCookieService]:
    settings = services().settings
    # Canvas launches are always TLS at the browser; behind a proxy ProxyFix says so too.
    freq = FlaskRequest(request_is_secure=True)
    db = get_session()
    return (
        freq,
        DbToolConf(db, services().platforms),
        DbSessionService(freq, db, settings.oidc_state_ttl),
        PartitionedCookieService(freq),
    )


@bp.route("/lti/login", methods=["GET", "POST"])
def login() -> BaseResponse:
    settings = services().settings
    params = request.args if request.method == "GET" else request.form
    target = check_target_link_uri(params.get("target_link_uri"), settings.public_origin)
    freq, tool_conf, sessions, cookies = _lti_request()
    oidc = HardenedOIDCLogin(
        freq,
        tool_conf,
        sessions,
        cookies,
        state_params={
            "target_link_uri": target,
            "lti_deployment_id": params.get("lti_deployment_id") or params.get("deployment_id"),
        },
    )
    auth_url = oidc.auth_redirect_url(settings.url(LAUNCH_PATH))
    storage_target = params.get("lti_storage_target")
    response: BaseResponse
    if storage_target:
        platform = tool_conf.platform(oidc.get_iss(), oidc.get_client_id())
        assert platform is not None
        state = parse_qs(urlsplit(auth_url).query)["state"][0]
        response = _storage_page(
            "storage_login.html", platform, auth_url=auth_url, state=state, target=storage_target
        )
    else:
        response = redirect(auth_url, code=302)
    cookies.update_response(response)
    return response


def _storage_page(template: str, platform: PlatformInfo, *, target: str, **ctx: str) -> Response:
    """A page in Canvas's frame that talks to Canvas's Platform Storage by postMessage: framed
    by that Canvas only, messages sent to the platform's login origin (where Canvas serves
    the storage frame) and accepted only from Canvas."""
    allow_framing_by(origin_of(platform.canvas_url))
    return Response(
        render_template(
            template,
            storage_target=target,
            target_origin=origin_of(platform.auth_login_url),
            canvas_origin=origin_of(platform.canvas_url),
            **ctx,
        )
    )


def _storage_relay(
    id_token: str, state: str, storage_target: str, tool_conf: DbToolConf
) -> Response:
    """No state cookie came back: check the state in Canvas's Platform Storage first."""
    _header, body = unverified_parts(id_token)
    platform = tool_conf.platform(str(body.get("iss", "")), audience_client_id(body))
    if platform is None:
        raise LaunchError("iss_unknown" if not body.get("iss") else "client_unknown")
    response = _storage_page(
        "storage_launch.html", platform, id_token=id_token, state=state, target=storage_target
    )
    # The relay POST must carry our Origin (no-referrer would make browsers send "null").
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _storage_verified() -> bool:
    """The relay page's POST: only our own page (same origin) may claim storage was checked."""
    settings = services().settings
    return (
        request.form.get("lti_storage_verified") == "1"
        and request.headers.get("Origin") == settings.public_origin
        and request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"
    )


@bp.post("/lti/launch")
def launch() -> Response:
    settings = services().settings
    freq, tool_conf, sessions, cookies = _lti_request()
    id_token = request.form.get("id_token", "")
    state = request.form.get("state", "")
    storage_target = request.form.get("lti_storage_target")
    has_cookie = bool(state) and request.cookies.get(f"{STATE_COOKIE_PREFIX}-{state}") == state
    tenant_origins: tuple[str, ...] = ()
    try:
        platform_error = request.form.get("error", "")
        if not id_token and platform_error:
            # OIDC error response (form_post): e.g. login_required when Canvas has no session.
            code = platform_error[:64]
            raise LaunchError(
                "platform_login_required"
                if code in ("login_required", "interaction_required")
                else "platform_error",
                f"platform error={code!r}",
            )
        if id_token and state and storage_target and not has_cookie and not _storage_verified():
            return _storage_relay(id_token, state, storage_target, tool_conf)
        message = HardenedMessageLaunch(
            freq,
            tool_conf,
            sessions,
            cookies,
            services().platform_keys,
            LaunchRules(settings.jwt_leeway_seconds, settings.jwt_max_age_seconds),
            storage_verified=_storage_verified(),
            requests_session=services().http,
        )
        try:
            message.validate()
        finally:
            if message.platform is not None:
                tenant_origins = (origin_of(message.platform.canvas_url),)
        claims = message.claims
        deployment = tool_conf.deployment(
            claims["iss"], message.get_client_id(), claims[DEPLOYMENT_ID]
        )
        if deployment is None:
            raise LaunchError("deployment_unknown")
    except LaunchError as err:
        return render_launch_error(err, tenant_origins)

    db = get_session()
    ended = launch_session.prune_browser_sessions(
        db, request, str(claims["sub"]), deployment.platform_id
    )
    new = launch_session.create(db, deployment, claims, settings.launch_session_ttl)
    allow_framing_by(*tenant_origins)
    response = render_home(new.session, new.secret)
    for handle in ended:
        launch_session.clear_cookie(response, handle)
    launch_session.set_cookie(response, new, settings.launch_session_ttl)
    try:
        # Last, right before the boundary commit: the login is used exactly once.
        message.consume_login()
    except LaunchError as err:
        return render_launch_error(err, tenant_origins)
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    svc = services()
    response = jsonify(published_jwks(get_session(), svc.keyring))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/lti/config.json")
def config_json() -> Response:
    return jsonify(developer_key_json(services().settings.public_base_url))


def _registration_inputs(source: Any) -> tuple[str, str]:
    openid_configuration = source.get("openid_configuration", "")
    token = source.get("registration_token", "")
    if not openid_configuration or not token:
        raise dynamic_registration.RegistrationError(
            _l("Open this address from Canvas: Admin > Developer Keys > + LTI Registration.")
        )
    return openid_configuration, token


@bp.route("/lti/register", methods=["GET", "POST"])
def register() -> Response:
    svc = services()
    if not svc.settings.registration_enabled:
        abort(404)
    allow_http = not svc.settings.is_production
    try:
        openid_configuration, token = _registration_inputs(
            request.args if request.method == "GET" else request.form
        )
        config = dynamic_registration.fetch_configuration(
            svc.http,
            openid_configuration,
            token,
            svc.settings.http_timeout,
            allow_http,
            svc.settings.registration_allowed_hosts,
        )
        allow_framing_by(config.canvas_url)
        if request.method == "GET":
            return Response(
                render_template(
                    "register_confirm.html",
                    config=config,
                    openid_configuration=openid_configuration,
                    registration_token=token,
                )
            )
        platform = dynamic_registration.register(
            svc.http,
            get_session(),
            config,
            token,
            svc.settings.public_base_url,
            svc.settings.http_timeout,
        )
    except dynamic_registration.RegistrationError as exc:
        allow_framing_by("*")
        # args[0], not str(exc): the message stays a Text, said in the reader's language.
        html = render_template("register_error.html", message=exc.args[0])
        return Response(html, status=exc.status)
    return Response(render_template("register_done.html", platform=platform))
