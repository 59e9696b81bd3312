"""LTI Dynamic Registration as Canvas runs it (docs/canvas.md §5), against a mocked Canvas.

Hosts as Instructure-hosted Canvas serves them (canvas-lms `DynamicRegistrationController#
oidc_configuration_url` and `SecurityController#openid_configuration`): the configuration is
read from the issuer's host, authorize/token/JWKS are on the OIDC auth domain, and the
registration endpoint is on the account's own domain.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import responses
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from lti_app.db import session_scope
from lti_app.models.tenancy import Deployment, Platform
from tests.conftest import LtiBrowser, make_app
from tests.http_calls import url_of
from tests.lti_platform import ADMIN, TOOL_BASE, FakePlatform

ISSUER = "https://canvas.instructure.com"
CANVAS = "https://district.instructure.com"
OPENID_CONFIGURATION = ISSUER + "/api/lti/security/openid-configuration"
REGISTRATION_ENDPOINT = CANVAS + "/api/lti/registrations"
AUTH = "https://sso.canvaslms.com/api/lti/authorize_redirect"
TOKEN_URL = "https://sso.canvaslms.com/login/oauth2/token"
JWKS = "https://sso.canvaslms.com/api/lti/security/jwks"
# Canvas's registration token is a short-lived JWT; this one is recognisable in any output.
REG_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyZWdpc3RyYXRpb24iOiJzZWNyZXQifQ.REGTOKEN-s3cr3t-4f9a"
CLIENT_ID = "10000000000123"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
LTI_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://canvas.instructure.com/lti/public_jwk/scope/update",
    "https://canvas.instructure.com/lti/account_lookup/scope/show",
]


def openid_configuration(**changes: Any) -> dict[str, Any]:
    """Canvas's answer to GET <openid_configuration> (shape from docs/canvas.md §5.1)."""
    doc: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": AUTH,
        "registration_endpoint": REGISTRATION_ENDPOINT,
        "jwks_uri": JWKS,
        "token_endpoint": TOKEN_URL,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", *LTI_SCOPES],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": [
            "sub",
            "picture",
            "email",
            "name",
            "given_name",
            "family_name",
            "locale",
        ],
        "subject_types_supported": ["public"],
        "authorization_server": "sso.canvaslms.com",
        PLATFORM_CONFIG: {
            "product_family_code": "canvas",
            "version": "OpenSource",
            "messages_supported": [
                {
                    "type": "LtiResourceLinkRequest",
                    "placements": ["course_navigation", "account_navigation", "link_selection"],
                },
                {
                    "type": "LtiDeepLinkingRequest",
                    "placements": ["assignment_selection", "link_selection"],
                },
            ],
            "variables": [
                "Canvas.course.id",
                "Canvas.user.id",
                "Canvas.api.baseUrl",
                "Canvas.membership.roles",
            ],
            "https://canvas.instructure.com/lti/account_name": "Example School District",
            "https://canvas.instructure.com/lti/account_lti_guid": "q5b9rRKQz6cY:canvas-lms",
        },
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


@dataclass
class FakeCanvas:
    """Canvas's two registration endpoints; remembers what the tool sent."""

    mock: responses.RequestsMock
    config: dict[str, Any] = field(default_factory=openid_configuration)
    registration_status: int = 200
    answer_extra: dict[str, Any] = field(default_factory=dict)
    registrations: list[dict[str, Any]] = field(default_factory=list)

    def install(self) -> None:
        self.mock.add_callback(responses.GET, OPENID_CONFIGURATION, callback=self._config)
        self.mock.add_callback(responses.POST, REGISTRATION_ENDPOINT, callback=self._register)

    def _config(self, request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers.get("Authorization") != f"Bearer {REG_TOKEN}":
            return 401, {}, json.dumps({"errors": [{"message": "Invalid registration token"}]})
        return 200, {"Content-Type": "application/json"}, json.dumps(self.config)

    def _register(self, request: Any) -> tuple[int, dict[str, str], str]:
        if request.headers.get("Authorization") != f"Bearer {REG_TOKEN}":
            return 401, {}, json.dumps({"errors": [{"message": "Invalid registration token"}]})
        body = json.loads(request.body)
        self.registrations.append(body)
        if self.registration_status != 200:
            return self.registration_status, {}, json.dumps({"errors": [{"message": "boom"}]})
        answer = {**body, "client_id": CLIENT_ID, **self.answer_extra}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    def calls_to(self, url: str) -> list[Any]:
        return [c for c in self.mock.calls if url_of(c.request).split("?")[0] == url]


@pytest.fixture
def canvas() -> Iterator[FakeCanvas]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeCanvas(mock)
        fake.install()
        yield fake


def query(**params: str) -> str:
    return "/lti/register?" + urlencode(params)


def start(app: Flask, **params: str) -> TestResponse:
    params = {
        "openid_configuration": OPENID_CONFIGURATION,
        "registration_token": REG_TOKEN,
        **params,
    }
    return app.test_client().get(query(**params), base_url=TOOL_BASE)


def confirm(app: Flask, **params: str) -> TestResponse:
    data = {"openid_configuration": OPENID_CONFIGURATION, "registration_token": REG_TOKEN, **params}
    return app.test_client().post("/lti/register", data=data, base_url=TOOL_BASE)


def stored_platforms(app: Flask) -> list[Platform]:
    with session_scope(app) as db:
        rows = list(db.scalars(select(Platform).order_by(Platform.id)).all())
        for row in rows:
            _ = row.deployments  # load before the session closes
        return rows


def registered(app: Flask) -> Platform | None:
    rows = [p for p in stored_platforms(app) if p.registered_via == "dynamic_registration"]
    assert len(rows) <= 1
    return rows[0] if rows else None


# --- step 1 and 2: the confirm page ---------------------------------------------------------


def test_get_reads_configuration_with_bearer_token_and_asks_to_confirm(
    app: Flask, canvas: FakeCanvas
) -> None:
    response = start(app)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    [call] = canvas.calls_to(OPENID_CONFIGURATION)
    assert call.request.headers["Authorization"] == f"Bearer {REG_TOKEN}"
    assert REG_TOKEN not in call.request.url  # the credential is not in the query string
    assert call.request.req_kwargs["timeout"] == (3.05, 10.0)
    # Nothing is registered before the admin confirms.
    assert canvas.calls_to(REGISTRATION_ENDPOINT) == []
    assert registered(app) is None
    assert "Install Mastery Pathways" in html
    assert CANVAS in html
    assert 'method="post"' in html
    assert 'action="/lti/register"' in html
    assert 'name="openid_configuration"' in html
    # Canvas shows the page in an iframe: only that Canvas may frame it.
    csp = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors {CANVAS}" in csp


# --- step 3 and 4: registration ------------------------------------------------------------


def test_post_registers_the_tool(app: Flask, canvas: FakeCanvas) -> None:
    response = confirm(app)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html

    [call] = canvas.calls_to(REGISTRATION_ENDPOINT)
    assert call.request.headers["Authorization"] == f"Bearer {REG_TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert call.request.req_kwargs["timeout"] == (3.05, 10.0)
    [body] = canvas.registrations
    assert body["application_type"] == "web"
    assert body["grant_types"] == ["client_credentials", "implicit"]
    assert body["response_types"] == ["id_token"]
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["client_name"] == "Mastery Pathways"
    assert body["initiate_login_uri"] == "https://tool.test/lti/login"
    assert body["redirect_uris"] == ["https://tool.test/lti/launch"]
    assert body["jwks_uri"] == "https://tool.test/.well-known/jwks.json"
    scopes = body["scope"].split(" ")
    assert set(scopes) == {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    }

    tool = body[TOOL_CONFIG]
    assert tool["domain"] == "tool.test"
    assert tool["target_link_uri"] == "https://tool.test/lti/launch"
    assert tool["custom_parameters"] == {
        "canvas_course_id": "$Canvas.course.id",
        "canvas_user_id": "$Canvas.user.id",
        "canvas_api_base": "$Canvas.api.baseUrl",
        "canvas_roles": "$Canvas.membership.roles",
        "canvas_user_time_zone": "$Person.address.timezone",
        "canvas_account_id": "$Canvas.account.id",
        "canvas_root_account_admin": "$Canvas.user.isRootAccountAdmin",
    }
    assert tool["https://canvas.instructure.com/lti/privacy_level"] == "public"
    assert {"sub", "iss", "name"} <= set(tool["claims"])
    messages = {m["placements"][0]: m for m in tool["messages"]}
    assert set(messages) == {"course_navigation", "account_navigation"}
    for placement, message in messages.items():
        assert message["type"] == "LtiResourceLinkRequest"
        assert message["placements"] == [placement]
        assert message["target_link_uri"].startswith("https://tool.test/lti/launch?placement=")
        assert message["label"]
    assert (
        messages["course_navigation"][
            "https://canvas.instructure.com/lti/course_navigation/default_enabled"
        ]
        is True
    )
    # The URLs it registers are the ones it serves.
    assert json.dumps(body).count("https://tool.test/") >= 6
    assert "127.0.0.1" not in json.dumps(body)

    platform = registered(app)
    assert platform is not None
    assert platform.issuer == ISSUER
    assert platform.client_id == CLIENT_ID
    assert platform.auth_login_url == AUTH
    assert platform.auth_token_url == TOKEN_URL
    assert platform.jwks_url == JWKS
    assert platform.canvas_url == CANVAS
    assert platform.auto_register_deployments is True
    assert platform.deployments == []  # learned at the first launch

    # The done page tells Canvas to close its dialog (org.imsglobal.lti.close).
    assert CLIENT_ID in html
    assert '<script src="/static/lti_close.js"></script>' in html
    assert REG_TOKEN not in html
    script = app.test_client().get("/static/lti_close.js")
    assert script.status_code == 200
    js = script.get_data(as_text=True)
    assert "postMessage" in js
    assert '{ subject: "org.imsglobal.lti.close" }' in js
    assert f"frame-ancestors {CANVAS}" in response.headers["Content-Security-Policy"]


def test_other_platforms_are_untouched(
    app: Flask, canvas: FakeCanvas, platform: FakePlatform
) -> None:
    assert confirm(app).status_code == 200
    rows = stored_platforms(app)
    assert [(p.issuer, p.registered_via, p.auto_register_deployments) for p in rows] == [
        (platform.issuer, "cli", False),
        (ISSUER, "dynamic_registration", True),
    ]


def test_scopes_limited_to_what_canvas_supports(app: Flask, canvas: FakeCanvas) -> None:
    canvas.config = openid_configuration(scopes_supported=["openid", LTI_SCOPES[0]])
    assert confirm(app).status_code == 200
    assert canvas.registrations[0]["scope"] == LTI_SCOPES[0]


def test_all_scopes_when_canvas_lists_none(app: Flask, canvas: FakeCanvas) -> None:
    canvas.config = openid_configuration(scopes_supported=None)
    assert confirm(app).status_code == 200
    assert len(canvas.registrations[0]["scope"].split(" ")) == 4


def test_numeric_client_id_is_stored_as_string(app: Flask, canvas: FakeCanvas) -> None:
    canvas.answer_extra = {"client_id": 10000000000124}
    assert confirm(app).status_code == 200
    platform = registered(app)
    assert platform is not None
    assert platform.client_id == "10000000000124"


@pytest.mark.parametrize(
    "tool_config", ["not-an-object", {"deployment_id": ["x"]}, {"deployment_id": "d" * 256}]
)
def test_odd_tool_configuration_in_answer_is_ignored(
    app: Flask, canvas: FakeCanvas, tool_config: Any
) -> None:
    canvas.answer_extra = {TOOL_CONFIG: tool_config}
    assert confirm(app).status_code == 200
    platform = registered(app)
    assert platform is not None
    assert platform.deployments == []


@pytest.mark.parametrize(
    "changes",
    [
        {PLATFORM_CONFIG: ["not", "an", "object"]},
        {"scopes_supported": "openid"},
        {"claims_supported": None, "authorization_server": None},
    ],
)
def test_odd_optional_configuration_fields_are_tolerated(
    app: Flask, canvas: FakeCanvas, changes: dict[str, Any]
) -> None:
    canvas.config = openid_configuration(**changes)
    assert confirm(app).status_code == 200
    assert registered(app) is not None


def test_scopes_supported_that_is_not_a_list_counts_as_not_said(
    app: Flask, canvas: FakeCanvas
) -> None:
    canvas.config = openid_configuration(scopes_supported="openid")
    assert confirm(app).status_code == 200
    assert len(canvas.registrations[0]["scope"].split(" ")) == 4


def test_deployment_id_in_answer_is_stored(app: Flask, canvas: FakeCanvas) -> None:
    canvas.answer_extra = {TOOL_CONFIG: {"deployment_id": "1:f1e2d3"}}
    assert confirm(app).status_code == 200
    platform = registered(app)
    assert platform is not None
    assert [d.deployment_id for d in platform.deployments] == ["1:f1e2d3"]


def test_a_registration_never_changes_an_installed_canvas(app: Flask, canvas: FakeCanvas) -> None:
    """Canvas gives every registration a new client_id: an answer naming an installed one is
    refused, and the installed platform keeps every address and setting."""
    assert confirm(app).status_code == 200
    before = [
        (p.auth_login_url, p.auth_token_url, p.jwks_url, p.canvas_url, len(p.deployments))
        for p in stored_platforms(app)
    ]
    canvas.config = openid_configuration(
        authorization_endpoint="https://sso.elsewhere.example/api/lti/authorize_redirect",
        jwks_uri="https://sso.elsewhere.example/api/lti/security/jwks",
        token_endpoint="https://sso.elsewhere.example/login/oauth2/token",
    )
    canvas.answer_extra = {TOOL_CONFIG: {"deployment_id": "99:new"}}
    response = confirm(app)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "installed already" in html and "nothing was changed" in html
    assert "platform update" in html
    after = [
        (p.auth_login_url, p.auth_token_url, p.jwks_url, p.canvas_url, len(p.deployments))
        for p in stored_platforms(app)
    ]
    assert after == before
    assert len([p for p in stored_platforms(app) if p.client_id == CLIENT_ID]) == 1


# --- the first launch from a dynamically registered Canvas ----------------------------------


def registered_platform(deployment_id: str) -> FakePlatform:
    return FakePlatform(
        issuer=ISSUER,
        client_id=CLIENT_ID,
        deployment_id=deployment_id,
        canvas_url=CANVAS,
        auth_url=AUTH,
        token_url=TOKEN_URL,
        jwks_url=JWKS,
        kid="2026-11-01T00:00:00Z",
        key_name="canvas-dr",
    )


def test_launch_with_new_deployment_is_accepted(app: Flask, canvas: FakeCanvas) -> None:
    assert confirm(app).status_code == 200
    first = registered_platform("31:brand-new-deployment")
    canvas.mock.get(JWKS, json=first.jwks())
    browser = LtiBrowser(app.test_client(), first)

    response = browser.launch()
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert "Algebra I – Period 3" in body

    # Another account installs the same key: a second new deployment, also learned.
    second = registered_platform("32:another-subaccount")
    response = LtiBrowser(app.test_client(), second).launch(roles=[ADMIN])
    assert response.status_code == 200, response.get_data(as_text=True)

    platform = registered(app)
    assert platform is not None
    assert [d.deployment_id for d in platform.deployments] == [
        "31:brand-new-deployment",
        "32:another-subaccount",
    ]
    assert all(d.last_launch_at is not None for d in platform.deployments)
    assert len(canvas.calls_to(JWKS)) == 1  # cached


def test_cli_platform_does_not_learn_deployments(browser: LtiBrowser, app: Flask) -> None:
    """Contrast: a platform added by hand accepts only the deployments it was given."""
    browser.platform.deployment_id = "99:never-added"
    response = browser.launch()
    assert response.status_code in (400, 401, 403), response.get_data(as_text=True)
    with session_scope(app) as db:
        names = db.scalars(select(Deployment.deployment_id)).all()
    assert "99:never-added" not in names


def test_launch_signed_by_another_key_is_refused(app: Flask, canvas: FakeCanvas) -> None:
    assert confirm(app).status_code == 200
    fake = registered_platform("33:x")
    canvas.mock.get(JWKS, json=fake.jwks())
    browser = LtiBrowser(app.test_client(), fake)
    auth = browser.start()
    forged = fake.sign(fake.claims(auth["nonce"]), key_name="attacker")
    response = browser.post_launch(forged, auth["state"])
    assert response.status_code >= 400
    platform = registered(app)
    assert platform is not None
    assert platform.deployments == []  # a refused launch creates no deployment


# --- errors: a 400 page, a clear message, nothing stored ------------------------------------


def assert_refused(app: Flask, response: TestResponse, message: str) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert "Installation did not finish" in html
    assert message in html.replace("&#39;", "'")
    assert REG_TOKEN not in html
    assert registered(app) is None
    return html


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"openid_configuration": OPENID_CONFIGURATION},
        {"registration_token": REG_TOKEN},
        {"openid_configuration": "", "registration_token": REG_TOKEN},
    ],
)
def test_missing_parameters(app: Flask, canvas: FakeCanvas, params: dict[str, str]) -> None:
    for response in (
        app.test_client().get(query(**params), base_url=TOOL_BASE),
        app.test_client().post("/lti/register", data=params, base_url=TOOL_BASE),
    ):
        assert_refused(app, response, "Open this address from Canvas")
    assert len(canvas.mock.calls) == 0


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection refused"),
        requests.ConnectTimeout("connect timeout"),
        requests.ReadTimeout("read timeout"),
    ],
)
def test_canvas_down_or_slow(app: Flask, failure: Exception) -> None:
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, body=failure)
        assert_refused(app, start(app), "Could not read Canvas's OpenID configuration")
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, body=failure)
        assert_refused(app, confirm(app), "Could not read Canvas's OpenID configuration")


@pytest.mark.parametrize("status", [401, 404, 500, 503])
def test_configuration_error_status(app: Flask, status: int) -> None:
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, status=status, json={"errors": [{"message": "no"}]})
        assert_refused(app, start(app), "Could not read Canvas's OpenID configuration")


def test_wrong_token_is_refused_by_canvas(app: Flask, canvas: FakeCanvas) -> None:
    assert_refused(app, start(app, registration_token="not-the-token"), "Could not read")


def test_configuration_redirect_not_followed(app: Flask) -> None:
    with responses.RequestsMock() as mock:
        mock.get(
            OPENID_CONFIGURATION, status=302, headers={"Location": "https://evil.example/config"}
        )
        assert_refused(app, start(app), "Could not read Canvas's OpenID configuration")
        assert len(mock.calls) == 1


def test_configuration_not_json(app: Flask) -> None:
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, body="<html>Canvas is down for maintenance</html>")
        assert_refused(app, start(app), "Could not read Canvas's OpenID configuration")
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, json=["not", "an", "object"])
        assert_refused(app, start(app), "is not a JSON object")


@pytest.mark.parametrize(
    "missing",
    ["issuer", "registration_endpoint", "authorization_endpoint", "jwks_uri", "token_endpoint"],
)
def test_configuration_lacking_a_field(app: Flask, canvas: FakeCanvas, missing: str) -> None:
    canvas.config = openid_configuration(**{missing: None})
    assert_refused(app, confirm(app), f"lacks {missing}")
    assert canvas.calls_to(REGISTRATION_ENDPOINT) == []


@pytest.mark.parametrize("issuer", ["", "   ", 42, ["https://canvas.instructure.com"]])
def test_configuration_with_unusable_issuer(app: Flask, canvas: FakeCanvas, issuer: Any) -> None:
    canvas.config = openid_configuration(issuer=issuer)
    assert_refused(app, confirm(app), "no usable issuer")
    assert canvas.calls_to(REGISTRATION_ENDPOINT) == []


def test_configuration_with_overlong_url(app: Flask, canvas: FakeCanvas) -> None:
    canvas.config = openid_configuration(jwks_uri="https://sso.canvaslms.com/" + "j" * 1100)
    assert_refused(app, confirm(app), "longer than 1024 characters")


@pytest.mark.parametrize(
    "issuer",
    [
        "https://evil.example",  # another host
        "http://canvas.instructure.com",  # another scheme
        "https://canvas.instructure.com:8443",  # another port
        "https://canvas.instructure.com.evil.example",
    ],
)
def test_issuer_on_another_address_than_the_configuration_is_refused(
    app: Flask, canvas: FakeCanvas, issuer: str
) -> None:
    """LTI-DR's issuer check: only the host that is the issuer can vouch for it. Refused
    before the registration token goes to any registration endpoint."""
    canvas.config = openid_configuration(issuer=issuer)
    for response in (start(app), confirm(app)):
        assert_refused(app, response, "names an issuer on another address")
    assert canvas.calls_to(REGISTRATION_ENDPOINT) == []


def test_canvas_url_is_the_account_domain_of_the_registration_endpoint(
    app: Flask, canvas: FakeCanvas
) -> None:
    """The issuer's host (canvas.instructure.com) is shared by every hosted Canvas; the
    district's own Canvas is where Canvas puts the registration endpoint."""
    assert confirm(app).status_code == 200
    platform = registered(app)
    assert platform is not None
    assert platform.canvas_url == CANVAS != ISSUER


def _resolve_as(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """No real DNS in tests: every host resolves to `address`."""
    monkeypatch.setattr(
        "lti_app.urls.socket.getaddrinfo",
        lambda host, port, *a, **k: [(2, 1, 6, "", (address, 0))],
    )


def test_plain_http_endpoint_from_canvas_refused_in_production(
    tmp_path: Path, sqlite_url: str, canvas: FakeCanvas, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve_as(monkeypatch, "93.184.215.14")
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    app = make_app(sqlite_url, tmp_path, app_env="production", encryption_keys=f"k:{key}")
    canvas.config = openid_configuration(jwks_uri="http://sso.canvaslms.com/api/lti/security/jwks")
    assert_refused(app, confirm(app), "not https")
    assert canvas.calls_to(REGISTRATION_ENDPOINT) == []
    plain = "http://district.instructure.com/api/lti/security/openid-configuration"
    assert_refused(app, start(app, openid_configuration=plain), "not https")
    assert canvas.calls_to(plain) == []
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1"])
def test_registration_urls_into_private_networks_refused_in_production(
    tmp_path: Path,
    sqlite_url: str,
    canvas: FakeCanvas,
    monkeypatch: pytest.MonkeyPatch,
    address: str,
) -> None:
    """SSRF: a pasted openid_configuration must not make the tool call its own network."""
    _resolve_as(monkeypatch, address)
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    app = make_app(sqlite_url, tmp_path, app_env="production", encryption_keys=f"k:{key}")
    assert_refused(app, start(app), "not public")
    assert canvas.calls_to(OPENID_CONFIGURATION) == []
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize("status", [400, 401, 422, 500, 502])
def test_registration_rejected_by_canvas(app: Flask, canvas: FakeCanvas, status: int) -> None:
    canvas.registration_status = status
    assert_refused(app, confirm(app), "Canvas did not accept the registration")
    assert len(canvas.registrations) == 1


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("reset"), requests.ReadTimeout("slow")]
)
def test_registration_endpoint_down(app: Flask, failure: Exception) -> None:
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration())
        mock.post(REGISTRATION_ENDPOINT, body=failure)
        assert_refused(app, confirm(app), "Canvas did not accept the registration")


@pytest.mark.parametrize(
    "answer",
    [
        {"client_name": "x"},
        {"client_id": None},
        {"client_id": ""},
        {"client_id": {"id": 1}},
        {"client_id": "9" * 256},
        ["client_id"],
        "nonsense",
    ],
)
def test_registration_answer_without_client_id(app: Flask, answer: Any) -> None:
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration())
        mock.post(REGISTRATION_ENDPOINT, json=answer)
        assert_refused(app, confirm(app), "Canvas did not accept the registration")


def test_error_page_may_be_framed_by_canvas(app: Flask) -> None:
    response = app.test_client().get("/lti/register", base_url=TOOL_BASE)
    assert response.status_code == 400
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]


# --- the registration token is a credential --------------------------------------------------


def test_registration_token_never_logged(
    app: Flask, canvas: FakeCanvas, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert start(app).status_code == 200
    assert confirm(app).status_code == 200
    canvas.registration_status = 500
    assert confirm(app).status_code == 400
    canvas.config = openid_configuration(issuer="https://evil.example")
    assert confirm(app).status_code == 400
    with responses.RequestsMock() as mock:
        mock.get(OPENID_CONFIGURATION, body=requests.ConnectionError(f"failed {REG_TOKEN}"))
        assert confirm(app).status_code == 400
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("lti_app")]
    # Operators see what happened (hosts and statuses), never the credential.
    assert any(
        m.startswith("registration_done issuer=https://canvas.instructure.com") for m in messages
    ), messages
    assert any(
        "registration_rejected host=district.instructure.com status=500" in m for m in messages
    ), messages
    assert any("registration_issuer_mismatch" in m and "evil.example" in m for m in messages)
    assert any(
        "registration_config_unreadable" in m and "ConnectionError" in m for m in messages
    ), messages
    for record in caplog.records:
        assert REG_TOKEN not in record.getMessage()
        assert REG_TOKEN not in str(record.exc_info or "")
    assert REG_TOKEN not in caplog.text


# --- district controls: REGISTRATION_ENABLED and REGISTRATION_ALLOWED_HOSTS -----------------


def test_registration_switched_off_answers_404_and_calls_nobody(
    tmp_path: Path, sqlite_url: str, canvas: FakeCanvas
) -> None:
    app = make_app(sqlite_url, tmp_path, registration_enabled="false")
    assert start(app).status_code == 404
    assert confirm(app).status_code == 404
    assert len(canvas.mock.calls) == 0
    assert registered(app) is None
    app.extensions["db_engine"].dispose()


@pytest.mark.parametrize(
    ("allowed", "refused_before"),
    [
        # The configuration's host (the issuer's) is not listed: refused before the token is
        # sent anywhere.
        ("district.instructure.com", OPENID_CONFIGURATION),
        # The registration endpoint's host (the district's Canvas) is not listed.
        ("canvas.instructure.com,other-district.instructure.com", REGISTRATION_ENDPOINT),
    ],
)
def test_allow_list_refuses_unlisted_canvas(
    tmp_path: Path, sqlite_url: str, canvas: FakeCanvas, allowed: str, refused_before: str
) -> None:
    app = make_app(sqlite_url, tmp_path, registration_allowed_hosts=allowed)
    html = assert_refused(app, confirm(app), "only accepts registrations from the Canvas")
    assert "administrator listed" in html
    assert canvas.calls_to(refused_before) == []
    assert canvas.registrations == []
    app.extensions["db_engine"].dispose()


def test_allow_list_accepts_the_listed_canvas(
    tmp_path: Path, sqlite_url: str, canvas: FakeCanvas
) -> None:
    app = make_app(
        sqlite_url,
        tmp_path,
        registration_allowed_hosts="Canvas.Instructure.com, district.instructure.com",
    )
    assert confirm(app).status_code == 200
    assert registered(app) is not None
    app.extensions["db_engine"].dispose()
