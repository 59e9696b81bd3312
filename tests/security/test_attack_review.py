"""Attack review after the registration / token-binding / hostile-input fix round.

Every test asserts the behaviour the fix round promised. The review found: URLs that urlsplit
and urllib3 read as two hosts (a backslash before "@"), unparseable ports and nesting that gave
500s, and control characters from Canvas's answers reaching logs and the database; each is
fixed (lti_app.urls.checked_url, the registration's identifier and document rules).

Loopback / mocked HTTP only (responses); no sleeps.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from tests.conftest import make_app
from tests.lti.test_dynamic_registration import (
    CANVAS,
    ISSUER,
    OPENID_CONFIGURATION,
    REG_TOKEN,
    REGISTRATION_ENDPOINT,
    TOOL_CONFIG,
    openid_configuration,
)
from tests.lti_platform import TOOL_BASE

EVIL = "https://evil.example"
# urlsplit (the checks) reads the host after the last "@"; urllib3 (what requests connects to)
# ends the authority at the backslash: the check sees canvas.instructure.com, the request goes
# to evil.example.
BACKSLASH_CONFIG = EVIL + "\\@canvas.instructure.com/api/lti/security/openid-configuration"
BACKSLASH_REGISTRATION = EVIL + "\\@district.instructure.com/api/lti/registrations"
EVIL_ANY = re.compile(re.escape(EVIL) + r"/.*")


def _post_register(app: Flask, config_url: str, token: str = REG_TOKEN) -> Any:
    return app.test_client().post(
        "/lti/register",
        data={"openid_configuration": config_url, "registration_token": token},
        base_url=TOOL_BASE,
    )


def _get_register(app: Flask, config_url: str, token: str = REG_TOKEN) -> Any:
    return app.test_client().get(
        "/lti/register",
        query_string={"openid_configuration": config_url, "registration_token": token},
        base_url=TOOL_BASE,
    )


def _platforms(app: Flask) -> list[tuple[str, str, str]]:
    with session_scope(app) as db:
        return [
            (p.issuer, p.client_id, p.canvas_url)
            for p in db.scalars(select(Platform).order_by(Platform.id))
        ]


def _evil_calls(mock: responses.RequestsMock) -> list[Any]:
    return [c for c in mock.calls if str(c.request.url).startswith(EVIL)]


def _serve(mock: responses.RequestsMock, url: Any, config: dict[str, Any], client_id: Any) -> None:
    mock.add(responses.GET, url, json=config)
    mock.add(responses.POST, url, json={"client_id": client_id})


# --- registration: the origin comparison -------------------------------------------------------


def test_backslash_config_url_cannot_claim_canvas_issuer(app: Flask) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        attacker = openid_configuration(
            issuer=ISSUER,
            authorization_endpoint=EVIL + "/auth",
            registration_endpoint=EVIL + "/reg",
            token_endpoint=EVIL + "/token",
            jwks_uri=EVIL + "/jwks",
        )
        _serve(mock, EVIL_ANY, attacker, "31337")
        response = _post_register(app, BACKSLASH_CONFIG)
        evil = _evil_calls(mock)
    assert evil == [], [c.request.url for c in evil]
    assert response.status_code == 400
    assert all(p[0] != ISSUER for p in _platforms(app))


def test_backslash_config_url_does_not_pass_the_allow_list(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(
        sqlite_url,
        tmp_path,
        registration_allowed_hosts="canvas.instructure.com,district.instructure.com",
    )
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            _serve(mock, EVIL_ANY, openid_configuration(), "31337")
            response = _get_register(app, BACKSLASH_CONFIG)
            evil = _evil_calls(mock)
        sent = [c.request.headers.get("Authorization") for c in evil]
        assert sent == [], "registration token sent to an unlisted host"
        assert response.status_code == 400
    finally:
        app.extensions["db_engine"].dispose()


def _resolve_by_host(monkeypatch: pytest.MonkeyPatch, table: dict[str, str]) -> None:
    def fake(host: str, port: Any, *a: Any, **k: Any) -> list[Any]:
        return [(2, 1, 6, "", (table.get(host, "93.184.215.14"), 0))]

    monkeypatch.setattr("lti_app.urls.socket.getaddrinfo", fake)


def test_backslash_config_url_is_no_ssrf_into_the_private_network(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve_by_host(monkeypatch, {"10.1.2.3": "10.1.2.3", "169.254.169.254": "169.254.169.254"})
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    app = make_app(sqlite_url, tmp_path, app_env="production", encryption_keys=f"k:{key}")
    try:
        internal = "https://169.254.169.254\\@canvas.instructure.com/latest/meta-data"
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.add(responses.GET, re.compile(r"https://169\.254\.169\.254/.*"), json={})
            response = _get_register(app, internal)
            inside = [c.request.url for c in mock.calls]
        assert inside == [], "the tool called its own network"
        assert response.status_code == 400
    finally:
        app.extensions["db_engine"].dispose()


def test_backslash_registration_endpoint_is_no_ssrf(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolve_by_host(monkeypatch, {"10.1.2.3": "10.1.2.3"})
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    app = make_app(sqlite_url, tmp_path, app_env="production", encryption_keys=f"k:{key}")
    try:
        internal = "https://10.1.2.3\\@district.instructure.com/api/lti/registrations"
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.get(
                OPENID_CONFIGURATION, json=openid_configuration(registration_endpoint=internal)
            )
            mock.add(responses.POST, re.compile(r"https://10\.1\.2\.3/.*"), json={"client_id": "7"})
            _post_register(app, OPENID_CONFIGURATION)
            inside = [c.request.url for c in mock.calls if "10.1.2.3" in str(c.request.url)]
        assert inside == [], "registration posted into the private network"
    finally:
        app.extensions["db_engine"].dispose()


def test_backslash_registration_endpoint_cannot_borrow_a_canvas_url(app: Flask) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            OPENID_CONFIGURATION,
            json=openid_configuration(registration_endpoint=BACKSLASH_REGISTRATION),
        )
        mock.add(responses.POST, EVIL_ANY, json={"client_id": "31337"})
        mock.add(responses.POST, REGISTRATION_ENDPOINT, json={"client_id": "31337"})
        _post_register(app, OPENID_CONFIGURATION)
        evil = _evil_calls(mock)
    assert evil == [], [c.request.url for c in evil]


# --- registration: values that only Python's URL parser rejects -> 500 ------------------------


@pytest.mark.parametrize("value", ["https://[::1/x", "https://[canvas.instructure.com]/x"])
def test_unparseable_openid_configuration_parameter_is_a_400(app: Flask, value: str) -> None:
    assert _get_register(app, value).status_code == 400
    assert _post_register(app, value).status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        "https://canvas.instructure.com:99999/api/lti/security/openid-configuration",
        "https://canvas.instructure.com:abc/api/lti/security/openid-configuration",
        "https://canvas.instructure.com:-1/x",
    ],
)
def test_bad_port_in_openid_configuration_parameter_is_a_400(app: Flask, value: str) -> None:
    assert _get_register(app, value).status_code == 400


@pytest.mark.parametrize(
    "issuer",
    ["https://canvas.instructure.com:99999", "https://canvas.instructure.com:x", "https://[::1"],
)
def test_issuer_with_unparseable_port_is_a_400(app: Flask, issuer: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration(issuer=issuer))
        assert _get_register(app, OPENID_CONFIGURATION).status_code == 400


def test_registration_endpoint_with_unparseable_port_is_a_400(app: Flask) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            OPENID_CONFIGURATION,
            json=openid_configuration(
                registration_endpoint=CANVAS + ":99999/api/lti/registrations"
            ),
        )
        assert _get_register(app, OPENID_CONFIGURATION).status_code == 400
        assert _post_register(app, OPENID_CONFIGURATION).status_code == 400


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "jwks_uri", "token_endpoint"])
def test_endpoint_with_unparseable_port_is_refused(app: Flask, endpoint: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            OPENID_CONFIGURATION,
            json=openid_configuration(**{endpoint: "https://sso.canvaslms.com:99999/x"}),
        )
        mock.post(REGISTRATION_ENDPOINT, json={"client_id": "4242"})
        response = _post_register(app, OPENID_CONFIGURATION)
    assert response.status_code == 400
    assert all(p[1] != "4242" for p in _platforms(app))


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_configuration_is_a_400(app: Flask, depth: int) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            OPENID_CONFIGURATION,
            body='{"issuer": ' + "[" * depth + "]" * depth + "}",
            content_type="application/json",
        )
        assert _get_register(app, OPENID_CONFIGURATION).status_code == 400


# --- registration: control characters from the configuration / the answer -------------------


@pytest.mark.parametrize(
    "client_id",
    ["4242\nregistration_done issuer=https://forged.example client_id=1", "4242\x00", "42\u202e24"],
)
def test_control_characters_in_client_id_are_refused(
    app: Flask, client_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration())
        mock.post(REGISTRATION_ENDPOINT, json={"client_id": client_id})
        response = _post_register(app, OPENID_CONFIGURATION)
    assert response.status_code == 400
    assert [p for p in _platforms(app) if p[0] == ISSUER] == []
    for record in caplog.records:
        assert "\n" not in record.getMessage()


@pytest.mark.parametrize(
    "issuer",
    [
        ISSUER + "/\nregistration_done issuer=https://forged.example",
        ISSUER + "/\x00",
        ISSUER + "/\t",
    ],
)
def test_control_characters_in_issuer_are_refused(
    app: Flask, issuer: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration(issuer=issuer))
        mock.post(REGISTRATION_ENDPOINT, json={"client_id": "4242"})
        response = _post_register(app, OPENID_CONFIGURATION)
    assert response.status_code == 400
    assert [p for p in _platforms(app) if p[1] == "4242"] == []
    for record in caplog.records:
        assert "\n" not in record.getMessage()


@pytest.mark.parametrize(
    "endpoint", ["authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"]
)
def test_control_characters_in_endpoints_are_refused(app: Flask, endpoint: str) -> None:
    url = {
        "authorization_endpoint": "https://sso.canvaslms.com/api/lti/\r\nauthorize_redirect",
        "token_endpoint": "https://sso.canvaslms.com/login/\r\noauth2/token",
        "jwks_uri": "https://sso.canvaslms.com/api/lti/\x00jwks",
        "registration_endpoint": CANVAS + "/api/lti/\r\nregistrations",
    }[endpoint]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration(**{endpoint: url}))
        mock.add(responses.POST, re.compile(re.escape(CANVAS) + ".*"), json={"client_id": "4242"})
        response = _post_register(app, OPENID_CONFIGURATION)
    assert response.status_code == 400
    assert [p for p in _platforms(app) if p[1] == "4242"] == []


@pytest.mark.parametrize("deployment_id", ["1:abc\r\nX", "1:abc\x00", "1:\u202eabc"])
def test_control_characters_in_deployment_id_are_not_stored(app: Flask, deployment_id: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(OPENID_CONFIGURATION, json=openid_configuration())
        mock.post(
            REGISTRATION_ENDPOINT,
            json={"client_id": "4242", TOOL_CONFIG: {"deployment_id": deployment_id}},
        )
        response = _post_register(app, OPENID_CONFIGURATION)
    assert response.status_code < 500
    with session_scope(app) as db:
        for p in db.scalars(select(Platform)):
            for d in p.deployments:
                assert d.deployment_id != deployment_id


# --- token binding: the Canvas client's origin check -------------------------------------------

CANVAS_BASE = "https://canvas.test"
API_TOKEN = "7~sEcReTtOkEn-attack-review"
SECTIONS = CANVAS_BASE + "/api/v1/courses/12/sections"


def _client() -> Any:
    from lti_app.canvas.client import CanvasClient, StaticToken

    return CanvasClient(
        CANVAS_BASE,
        StaticToken(API_TOKEN),
        sleep=lambda s: None,
        jitter=lambda low, high: 0.0,
    )


def _token_leaks(mock: responses.RequestsMock) -> list[str]:
    return [
        str(c.request.url)
        for c in mock.calls
        if not str(c.request.url).startswith(CANVAS_BASE + "/")
        and API_TOKEN in str(c.request.headers.get("Authorization"))
    ]


def test_backslash_next_link_never_carries_the_token_away() -> None:
    foreign = "https://evil.test\\@canvas.test/api/v1/courses/12/sections?page=2"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            SECTIONS,
            json=[{"id": 1, "name": "A", "course_id": 12}],
            headers={"Link": f'<{foreign}>; rel="next"'},
        )
        mock.get(re.compile(r"https://evil\.test/.*"), json=[])
        with contextlib.suppress(Exception):  # refusing is the expected outcome
            _client().sections("12")
        assert _token_leaks(mock) == []


def test_backslash_redirect_never_carries_the_token_away() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            CANVAS_BASE + "/api/v1/courses/12/root_outcome_group",
            status=302,
            headers={"Location": "https://evil.test\\@canvas.test/steal"},
        )
        mock.get(re.compile(r"https://evil\.test/.*"), json={})
        with contextlib.suppress(Exception):  # refusing is the expected outcome
            _client()._get("/api/v1/courses/12/root_outcome_group")
        assert _token_leaks(mock) == []


@pytest.mark.parametrize(
    "location",
    [
        "//evil.test/x",
        "https://canvas.test@evil.test/x",
        "https://canvas.test.evil.test/x",
        "https://canvas.test#@evil.test/x",
        "https://canvas.test%2F@evil.test/x",
        "https:evil.test/x",
        "/\\evil.test/x",
        "https://canvas.test:443@evil.test/x",
    ],
)
def test_other_redirect_tricks_keep_the_token_home(location: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(
            CANVAS_BASE + "/api/v1/courses/12/root_outcome_group",
            status=302,
            headers={"Location": location},
        )
        mock.get(re.compile(r"https://evil\.test/.*"), json={})
        mock.get(re.compile(re.escape(CANVAS_BASE) + r"/.+"), json={})
        with contextlib.suppress(Exception):  # refusing is the expected outcome
            _client()._get("/api/v1/courses/12/root_outcome_group")
        assert _token_leaks(mock) == []
