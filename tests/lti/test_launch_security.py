"""docs/lti.md §5.3-5.21 (the checklist) and the extra negatives of §2.3, with real tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from flask import Flask

from lti_app.lti.login import LAUNCH_PATH
from lti_app.models.launch import OidcLogin
from tests.conftest import LtiBrowser, make_app
from tests.lti.test_launch_certification import session_count
from tests.lti_platform import (
    CLAIM,
    INSTRUCTOR,
    LEARNER,
    TOOL_BASE,
    FakePlatform,
    auth_query,
    login_params,
    rsa_key,
)


@pytest.fixture(autouse=True)
def _log_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lti_app")


def reason(response: Any) -> str:
    match = re.search(r"<code>([a-z_]+)</code>", response.get_data(as_text=True))
    return match.group(1) if match else f"(no reason; status {response.status_code})"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- 3: algorithms ---------------------------------------------------------------------------


def test_alg_none_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    claims = platform.claims(auth["nonce"])
    token = (
        f"{b64(json.dumps({'alg': 'none', 'kid': platform.kid}).encode())}."
        f"{b64(json.dumps(claims).encode())}."
    )
    response = browser.post_launch(token, auth["state"])
    assert (response.status_code, reason(response)) == (401, "alg_not_allowed")


def test_hs256_signed_with_platform_public_key_is_rejected(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    auth = browser.start()
    public_pem = platform.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "kid": platform.kid, "typ": "JWT"}).encode())
    body = b64(json.dumps(platform.claims(auth["nonce"])).encode())
    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    response = browser.post_launch(f"{header}.{body}.{b64(signature)}", auth["state"])
    assert (response.status_code, reason(response)) == (401, "alg_not_allowed")


def test_rs384_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    token = jwt.encode(
        platform.claims(auth["nonce"]),
        platform.private_key,
        algorithm="RS384",
        headers={"kid": platform.kid},
    )
    response = browser.post_launch(token, auth["state"])
    assert (response.status_code, reason(response)) == (401, "alg_not_allowed")


# -- 4, 5: keys ------------------------------------------------------------------------------


def test_unknown_kid_refetches_jwks_exactly_once_then_fails(
    browser: LtiBrowser, jwks: responses.RequestsMock, platform: FakePlatform
) -> None:
    assert browser.launch().status_code == 200  # warms the cache: one fetch
    assert len(jwks.calls) == 1
    # Age the cache past the refetch limiter (which allows one refetch per 5 s per URL).
    browser.client.application.extensions["mp_services"].platform_keys._sets[
        platform.jwks_url
    ].fetched_at -= 60
    response = browser.launch(headers={"kid": "never-published"})
    assert (response.status_code, reason(response)) == (401, "kid_unknown")
    assert len(jwks.calls) == 2


def test_rotated_platform_key_is_found_by_one_refetch(
    browser: LtiBrowser, jwks: responses.RequestsMock, platform: FakePlatform
) -> None:
    assert browser.launch().status_code == 200
    browser.client.application.extensions["mp_services"].platform_keys._sets[
        platform.jwks_url
    ].fetched_at -= 60
    platform.extra_keys["2026-12-01T00:00:00Z"] = "platform-next"
    jwks.replace(responses.GET, platform.jwks_url, json=platform.jwks())

    auth = browser.start()
    token = platform.sign(
        platform.claims(auth["nonce"]),
        headers={"kid": "2026-12-01T00:00:00Z"},
        key_name="platform-next",
    )
    response = browser.post_launch(token, auth["state"])
    assert response.status_code == 200, reason(response)
    assert len(jwks.calls) == 2


def test_random_kids_do_not_turn_the_tool_into_a_jwks_amplifier(
    browser: LtiBrowser, jwks: responses.RequestsMock
) -> None:
    assert browser.launch().status_code == 200
    for n in range(5):
        response = browser.launch(headers={"kid": f"random-{n}"})
        assert reason(response) == "kid_unknown"
    assert len(jwks.calls) == 1  # refetches are rate-limited per JWKS URL


def test_jwks_cached_between_launches(browser: LtiBrowser, jwks: responses.RequestsMock) -> None:
    for _ in range(3):
        assert browser.launch().status_code == 200
    assert len(jwks.calls) == 1


@pytest.mark.parametrize("header_name", ["jku", "x5u"])
def test_key_location_headers_are_ignored(
    browser: LtiBrowser, jwks: responses.RequestsMock, platform: FakePlatform, header_name: str
) -> None:
    evil = "https://attacker.example/jwks.json"
    auth = browser.start()
    # Signed by an attacker key that only the attacker's URL would publish.
    token = jwt.encode(
        platform.claims(auth["nonce"]),
        rsa_key("attacker"),
        algorithm="RS256",
        headers={"kid": platform.kid, header_name: evil},
    )
    response = browser.post_launch(token, auth["state"])
    assert (response.status_code, reason(response)) == (401, "signature_invalid")
    assert all(call.request.url == platform.jwks_url for call in jwks.calls)


def test_embedded_jwk_header_is_ignored(browser: LtiBrowser, platform: FakePlatform) -> None:
    attacker = rsa_key("attacker")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    auth = browser.start()
    token = jwt.encode(
        platform.claims(auth["nonce"]),
        attacker,
        algorithm="RS256",
        headers={"kid": platform.kid, "jwk": jwk},
    )
    response = browser.post_launch(token, auth["state"])
    assert (response.status_code, reason(response)) == (401, "signature_invalid")


def test_tampered_payload_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    header, _body, sig = platform.sign(platform.claims(auth["nonce"])).split(".")
    forged = platform.claims(auth["nonce"], roles=[INSTRUCTOR])
    forged["sub"] = "someone-else"
    token = f"{header}.{b64(json.dumps(forged).encode())}.{sig}"
    response = browser.post_launch(token, auth["state"])
    assert (response.status_code, reason(response)) == (401, "signature_invalid")


def test_jwks_endpoint_down_gives_a_503_page(app: Flask, platform: FakePlatform) -> None:
    browser = LtiBrowser(app.test_client(), platform)
    with responses.RequestsMock() as mock:
        mock.get(platform.jwks_url, body=requests.ConnectTimeout("down"))
        response = browser.launch()
    assert (response.status_code, reason(response)) == (503, "jwks_unavailable")
    assert "Wait a minute" in response.get_data(as_text=True)


def test_jwks_http_error_gives_a_503_page(app: Flask, platform: FakePlatform) -> None:
    browser = LtiBrowser(app.test_client(), platform)
    with responses.RequestsMock() as mock:
        mock.get(platform.jwks_url, status=502, body="bad gateway")
        response = browser.launch()
    assert (response.status_code, reason(response)) == (503, "jwks_unavailable")


def test_jwks_fetch_uses_a_timeout(app: Flask, platform: FakePlatform) -> None:
    browser = LtiBrowser(app.test_client(), platform)
    seen: dict[str, Any] = {}
    with responses.RequestsMock() as mock:

        def callback(request: Any) -> tuple[int, dict[str, str], str]:
            seen["timeout"] = request.req_kwargs.get("timeout")
            return 200, {}, json.dumps(platform.jwks())

        mock.add_callback(responses.GET, platform.jwks_url, callback=callback)
        assert browser.launch().status_code == 200
    assert seen["timeout"] is not None and all(t > 0 for t in seen["timeout"])


# -- 6: audience -----------------------------------------------------------------------------

AUD_CASES = [
    ("wrong aud string", {"aud": "99999", "azp": "99999"}, 400, "client_unknown"),
    (
        "aud array without client id",
        {"aud": ["99999", "88888"], "azp": "99999"},
        400,
        "client_unknown",
    ),
    ("multi aud wrong azp", {"aud": ["CLIENT", "88888"], "azp": "88888"}, 400, "client_unknown"),
    ("multi aud azp not in aud", {"aud": ["CLIENT", "88888"], "azp": "77777"}, 401, "azp_invalid"),
    ("multi aud without azp", {"aud": ["CLIENT", "88888"]}, 401, "azp_missing"),
    ("single aud, wrong azp", {"aud": "CLIENT", "azp": "88888"}, 401, "azp_invalid"),
]


@pytest.mark.parametrize(
    ("case", "change", "status", "code"), AUD_CASES, ids=[c[0] for c in AUD_CASES]
)
def test_audience_rules(
    browser: LtiBrowser,
    platform: FakePlatform,
    case: str,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    def mutate(claims: dict[str, Any]) -> None:
        claims.pop("azp", None)
        for key, value in change.items():
            claims[key] = json.loads(json.dumps(value).replace("CLIENT", platform.client_id))

    response = browser.launch(mutate=mutate)
    assert (response.status_code, reason(response)) == (status, code)


def test_multi_aud_with_matching_azp_is_accepted(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    response = browser.launch(
        mutate=lambda c: {**c, "aud": [platform.client_id, "other"], "azp": platform.client_id}
    )
    assert response.status_code == 200, reason(response)


# -- 7: time ---------------------------------------------------------------------------------

TIME_CASES = [
    ("exp past the 60 s leeway", {"exp": -90}, "expired"),
    ("iat 10 minutes old", {"iat": -600}, "iat_too_old"),
    ("iat 5 minutes in the future", {"iat": 300}, "iat_future"),
]


@pytest.mark.parametrize(("case", "offsets", "code"), TIME_CASES, ids=[c[0] for c in TIME_CASES])
def test_time_rules(browser: LtiBrowser, case: str, offsets: dict[str, int], code: str) -> None:
    now = int(time.time())
    response = browser.launch(mutate=lambda c: {**c, **{k: now + v for k, v in offsets.items()}})
    assert (response.status_code, reason(response)) == (401, code)


def test_exp_is_required(browser: LtiBrowser) -> None:
    response = browser.launch(mutate=lambda c: {k: v for k, v in c.items() if k != "exp"})
    assert (response.status_code, reason(response)) == (400, "claims_missing")


def test_thirty_seconds_of_clock_skew_is_accepted(browser: LtiBrowser) -> None:
    now = int(time.time())
    response = browser.launch(mutate=lambda c: {**c, "iat": now + 30})
    assert response.status_code == 200, reason(response)


# -- 8, 9: replay and nonces -----------------------------------------------------------------


def test_replayed_id_token_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    token = platform.sign(platform.claims(auth["nonce"]))
    assert browser.post_launch(token, auth["state"]).status_code == 200
    again = browser.post_launch(token, auth["state"])
    assert (again.status_code, reason(again)) == (401, "nonce_replayed")


def test_nonce_not_issued_for_this_state_is_rejected(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    auth = browser.start()
    response = browser.post_launch(platform.sign(platform.claims("made-up-nonce")), auth["state"])
    assert (response.status_code, reason(response)) == (401, "nonce_invalid")


def test_nonce_of_another_login_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    first, second = browser.start(), browser.start()
    response = browser.post_launch(platform.sign(platform.claims(first["nonce"])), second["state"])
    assert (response.status_code, reason(response)) == (401, "nonce_invalid")


def test_forged_token_does_not_burn_the_real_login(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    auth = browser.start()
    forged = platform.sign(platform.claims(auth["nonce"]), key_name="attacker")
    assert reason(browser.post_launch(forged, auth["state"])) == "signature_invalid"
    real = browser.post_launch(platform.sign(platform.claims(auth["nonce"])), auth["state"])
    assert real.status_code == 200, reason(real)


def _concurrent_launch(app: Flask, platform: FakePlatform, n: int) -> list[int]:
    browser = LtiBrowser(app.test_client(), platform)
    auth = browser.start()
    token = platform.sign(platform.claims(auth["nonce"]))
    assert browser.client._cookies is not None
    cookies = {c.key: c.value for c in browser.client._cookies.values()}
    barrier = threading.Barrier(n)
    statuses: list[int] = []

    def post() -> None:
        client = app.test_client()
        for key, value in cookies.items():
            client.set_cookie(key, value, domain="tool.test")
        barrier.wait(timeout=10)
        statuses.append(
            client.post(
                LAUNCH_PATH, data={"id_token": token, "state": auth["state"]}, base_url=TOOL_BASE
            ).status_code
        )

    threads = [threading.Thread(target=post) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return statuses


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_posts_of_one_token_exactly_one_wins(
    backend_url: str,
    tmp_path: Path,
    platform: FakePlatform,
    jwks: responses.RequestsMock,
    attempt: int,
) -> None:
    app = make_app(backend_url, tmp_path)
    assert app.test_cli_runner().invoke(args=platform.cli_args()).exit_code == 0
    statuses = _concurrent_launch(app, platform, 4)
    assert sorted(statuses) == [200, 401, 401, 401]
    assert session_count(app) == 1
    app.extensions["db_engine"].dispose()


# -- 10: state ---------------------------------------------------------------------------------


def test_missing_state_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    response = browser.post_launch(platform.sign(platform.claims(auth["nonce"])), "")
    assert (response.status_code, reason(response)) == (400, "state_missing")


def test_unknown_state_is_rejected(browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    response = browser.post_launch(platform.sign(platform.claims(auth["nonce"])), "state-forged")
    assert (response.status_code, reason(response)) == (401, "state_unknown")


def test_state_from_another_browser_is_rejected(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    """Login CSRF: the attacker's (state, id_token) pushed into a victim's browser."""
    auth = browser.start()
    victim = LtiBrowser(app.test_client(), platform)
    response = victim.post_launch(platform.sign(platform.claims(auth["nonce"])), auth["state"])
    assert (response.status_code, reason(response)) == (401, "state_mismatch")
    assert session_count(app) == 0


def test_expired_state_is_rejected(app: Flask, browser: LtiBrowser, platform: FakePlatform) -> None:
    auth = browser.start()
    with app.extensions["db_sessionmaker"]() as db, db.begin():
        login = db.get(OidcLogin, auth["state"])
        assert login is not None
        login.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    response = browser.post_launch(platform.sign(platform.claims(auth["nonce"])), auth["state"])
    assert (response.status_code, reason(response)) == (401, "state_unknown")


def test_storage_verified_flag_from_a_foreign_origin_is_not_trusted(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    auth = browser.start()
    victim = LtiBrowser(app.test_client(), platform)
    token = platform.sign(platform.claims(auth["nonce"]))
    response = victim.client.post(
        LAUNCH_PATH,
        base_url=TOOL_BASE,
        data={"id_token": token, "state": auth["state"], "lti_storage_verified": "1"},
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert (response.status_code, reason(response)) == (401, "state_mismatch")


def test_platform_storage_relay_then_verified_post(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    """Cookies blocked: the launch renders the storage check, whose same-origin POST wins."""
    page = browser.login(lti_storage_target="post_message_forwarding").get_data(as_text=True)
    next_url = re.search(r'data-next="([^"]+)"', page)
    assert next_url
    auth = auth_query(next_url.group(1).replace("&amp;", "&"))
    cookieless = LtiBrowser(app.test_client(), platform)
    token = platform.sign(platform.claims(auth["nonce"]))
    relay = cookieless.post_launch(
        token, auth["state"], lti_storage_target="post_message_forwarding"
    )
    body = relay.get_data(as_text=True)
    assert relay.status_code == 200
    assert 'data-mode="get"' in body and 'data-target="post_message_forwarding"' in body
    assert 'data-origin="https://sso.canvas.test.example"' in body
    assert session_count(app) == 0
    final = cookieless.client.post(
        LAUNCH_PATH,
        base_url=TOOL_BASE,
        data={"id_token": token, "state": auth["state"], "lti_storage_verified": "1"},
        headers={"Origin": TOOL_BASE, "Sec-Fetch-Site": "same-origin"},
    )
    assert final.status_code == 200, reason(final)
    assert session_count(app) == 1


def test_login_with_storage_target_renders_put_data_page(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    response = browser.login(lti_storage_target="post_message_forwarding")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-mode="put"' in body
    assert f'data-origin="{platform.auth_url.split("/api")[0]}"' in body
    assert (
        "frame-ancestors https://school.canvas.test.example"
        in response.headers["Content-Security-Policy"]
    )
    assert any(c.startswith("__Host-lti1p3-state-") for c in response.headers.getlist("Set-Cookie"))


# -- 11, 12: deployment and target_link_uri --------------------------------------------------


def test_unknown_deployment_is_rejected(browser: LtiBrowser) -> None:
    auth = browser.start(lti_deployment_id="")
    claims = browser.platform.claims(auth["nonce"])
    claims[CLAIM + "deployment_id"] = "99:not-installed"
    response = browser.post_launch(browser.platform.sign(claims), auth["state"])
    assert (response.status_code, reason(response)) == (403, "deployment_unknown")


def test_deployment_differing_from_login_hint_is_rejected(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    args = platform.cli_args()
    args[args.index("--deployment-id") + 1] = "8:second"
    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    auth = browser.start()  # login says 7:...
    claims = platform.claims(auth["nonce"])
    claims[CLAIM + "deployment_id"] = "8:second"
    response = browser.post_launch(platform.sign(claims), auth["state"])
    assert (response.status_code, reason(response)) == (401, "deployment_mismatch")


def test_second_deployment_launches(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    args = platform.cli_args()
    args[args.index("--deployment-id") + 1] = "8:second"
    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    auth = browser.start(lti_deployment_id="8:second")
    claims = platform.claims(auth["nonce"])
    claims[CLAIM + "deployment_id"] = "8:second"
    assert browser.post_launch(platform.sign(claims), auth["state"]).status_code == 200


def test_target_link_uri_claim_must_equal_login_value(browser: LtiBrowser) -> None:
    response = browser.launch(
        mutate=lambda c: {
            **c,
            CLAIM + "target_link_uri": TOOL_BASE + "/lti/launch?placement=account",
        }
    )
    assert (response.status_code, reason(response)) == (401, "target_link_uri_invalid")


@pytest.mark.parametrize(
    "target",
    [
        "https://attacker.example/lti/launch",
        "https://tool.test/somewhere/else",
        "https://tool.test.attacker.example/lti/launch",
        "javascript:alert(1)",
        "",
    ],
)
def test_login_target_must_be_our_launch_url(browser: LtiBrowser, target: str) -> None:
    response = browser.login(target_link_uri=target)
    assert response.status_code == 401
    assert "Location" not in response.headers
    assert reason(response) == "target_link_uri_invalid"


# -- 13: login initiation ----------------------------------------------------------------------


def test_login_redirects_with_every_oidc_parameter(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    response = browser.login()
    assert response.status_code == 302
    assert response.headers["Location"].startswith(platform.auth_url + "?")
    query = auth_query(response.headers["Location"])
    assert query["scope"] == "openid"
    assert query["response_type"] == "id_token"
    assert query["response_mode"] == "form_post"
    assert query["prompt"] == "none"
    assert query["client_id"] == platform.client_id
    assert query["redirect_uri"] == TOOL_BASE + LAUNCH_PATH
    assert query["login_hint"] == login_params(platform)["login_hint"]
    assert query["lti_message_hint"] == login_params(platform)["lti_message_hint"]
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32


def test_login_by_get_works_too(browser: LtiBrowser, platform: FakePlatform) -> None:
    response = browser.client.get(
        "/lti/login", query_string=login_params(platform), base_url=TOOL_BASE
    )
    assert response.status_code == 302


def test_redirect_uri_never_comes_from_the_request(browser: LtiBrowser) -> None:
    response = browser.login(redirect_uri="https://attacker.example/steal")
    assert auth_query(response.headers["Location"])["redirect_uri"] == TOOL_BASE + LAUNCH_PATH


def test_unknown_issuer_at_login(browser: LtiBrowser) -> None:
    response = browser.login(iss="https://unknown.example")
    assert (response.status_code, reason(response)) == (400, "iss_unknown")
    assert "Location" not in response.headers


def test_unknown_client_at_login(browser: LtiBrowser) -> None:
    response = browser.login(client_id="does-not-exist")
    assert (response.status_code, reason(response)) == (400, "client_unknown")


def test_single_client_issuer_needs_no_client_id(
    browser: LtiBrowser, platform: FakePlatform
) -> None:
    params = login_params(platform)
    params.pop("client_id")
    response = browser.client.post("/lti/login", data=params, base_url=TOOL_BASE)
    assert response.status_code == 302


def test_ambiguous_issuer_without_client_id_at_login(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    args = platform.cli_args()
    args[args.index("--client-id") + 1] = "20000000000099"
    assert app.test_cli_runner().invoke(args=args).exit_code == 0
    params = login_params(platform)
    params.pop("client_id")
    response = browser.client.post("/lti/login", data=params, base_url=TOOL_BASE)
    assert (response.status_code, reason(response)) == (400, "client_ambiguous")


def test_login_without_login_hint(browser: LtiBrowser) -> None:
    response = browser.login(login_hint="")
    assert (response.status_code, reason(response)) == (400, "login_hint_missing")


def test_unknown_issuer_at_launch(browser: LtiBrowser) -> None:
    response = browser.launch(mutate=lambda c: {**c, "iss": "https://unknown.example"})
    assert (response.status_code, reason(response)) == (400, "iss_unknown")


def test_known_issuer_unknown_client_at_launch(browser: LtiBrowser) -> None:
    response = browser.launch(mutate=lambda c: {**c, "aud": "31337", "azp": "31337"})
    assert (response.status_code, reason(response)) == (400, "client_unknown")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("LtiDeepLinkingRequest", "message_type_unsupported"),
        ("SomethingElse", "message_type_unsupported"),
    ],
)
def test_unsupported_message_types(browser: LtiBrowser, value: str, code: str) -> None:
    response = browser.launch(mutate=lambda c: {**c, CLAIM + "message_type": value})
    assert (response.status_code, reason(response)) == (400, code)


def test_roles_not_an_array(browser: LtiBrowser) -> None:
    response = browser.launch(mutate=lambda c: {**c, CLAIM + "roles": INSTRUCTOR})
    assert (response.status_code, reason(response)) == (400, "roles_invalid")


# -- 14: request shape -------------------------------------------------------------------------


def test_get_on_launch_is_405(browser: LtiBrowser) -> None:
    response = browser.client.get(LAUNCH_PATH, base_url=TOOL_BASE)
    assert (response.status_code, reason(response)) == (405, "method_not_allowed")


def test_oversized_body_is_413(browser: LtiBrowser) -> None:
    response = browser.client.post(
        LAUNCH_PATH, data={"id_token": "x" * 400_000, "state": "s"}, base_url=TOOL_BASE
    )
    assert (response.status_code, reason(response)) == (413, "body_too_large")


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/x-www-form-urlencoded", b"id_token=%E0%A4%A&state=%ZZ"),
        (
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nContent-Disposition: form-data\r\n\r\nbroken",
        ),
        ("application/json", b'{"id_token": "not a form"}'),
        ("application/x-www-form-urlencoded", b"\xff\xfe\x00\x00"),
    ],
)
def test_malformed_bodies_never_500(browser: LtiBrowser, content_type: str, payload: bytes) -> None:
    response = browser.client.post(
        LAUNCH_PATH, data=payload, content_type=content_type, base_url=TOOL_BASE
    )
    assert 400 <= response.status_code < 500
    assert response.mimetype == "text/html"


# -- 15, 17: cookies and framing ---------------------------------------------------------------


def _cookie_flags(set_cookie: str) -> set[str]:
    return {p.strip().split("=")[0].lower() for p in set_cookie.split(";")[1:]}


def test_every_cookie_is_secure_httponly_samesite_none_partitioned(browser: LtiBrowser) -> None:
    login = browser.login()
    response = browser.post_launch(
        browser.platform.sign(
            browser.platform.claims(auth_query(login.headers["Location"])["nonce"])
        ),
        auth_query(login.headers["Location"])["state"],
    )
    cookies = login.headers.getlist("Set-Cookie") + response.headers.getlist("Set-Cookie")
    assert len(cookies) >= 2
    for cookie in cookies:
        assert cookie.startswith("__Host-")
        assert {"secure", "httponly", "partitioned", "path"} <= _cookie_flags(cookie)
        assert "SameSite=None" in cookie
        assert "Domain=" not in cookie


def test_behind_a_tls_proxy(
    tmp_path: Path, sqlite_url: str, platform: FakePlatform, jwks: responses.RequestsMock
) -> None:
    app = make_app(sqlite_url, tmp_path, proxy_fix_hops=1)
    assert app.test_cli_runner().invoke(args=platform.cli_args()).exit_code == 0
    client = app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tool.test"}
    login = client.post(
        "/lti/login", data=login_params(platform), headers=headers, base_url="http://10.0.0.5:8000"
    )
    assert login.status_code == 302
    for cookie in login.headers.getlist("Set-Cookie"):
        assert "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie
    query = auth_query(login.headers["Location"])
    state_cookie = login.headers.getlist("Set-Cookie")[0].split(";")[0].split("=", 1)
    client.set_cookie(state_cookie[0], state_cookie[1], domain="10.0.0.5")
    launch = client.post(
        LAUNCH_PATH,
        headers=headers,
        base_url="http://10.0.0.5:8000",
        data={"id_token": platform.sign(platform.claims(query["nonce"])), "state": query["state"]},
    )
    assert launch.status_code == 200, reason(launch)


def test_launch_pages_may_only_be_framed_by_the_tenants_canvas(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    response = browser.launch()
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://school.canvas.test.example" in csp
    assert "*" not in csp.split("frame-ancestors")[1]
    assert "X-Frame-Options" not in response.headers


def test_tenant_a_pages_never_list_tenant_b(
    app: Flask, browser: LtiBrowser, platform: FakePlatform, jwks: responses.RequestsMock
) -> None:
    other = FakePlatform(
        issuer="https://other.example",
        client_id="555",
        canvas_url="https://other-district.example",
        jwks_url="https://sso.other.example/jwks",
        auth_url="https://sso.other.example/authorize",
        key_name="platform-b",
    )
    assert app.test_cli_runner().invoke(args=other.cli_args()).exit_code == 0
    jwks.get(other.jwks_url, json=other.jwks())
    a = browser.launch()
    b = LtiBrowser(app.test_client(), other).launch()
    assert b.status_code == 200
    assert "other-district" not in a.headers["Content-Security-Policy"]
    assert "school.canvas" not in b.headers["Content-Security-Policy"]


def test_error_pages_of_a_known_tenant_are_framed_by_that_tenant(browser: LtiBrowser) -> None:
    response = browser.launch(mutate=lambda c: {**c, CLAIM + "version": "1.1"})
    csp = response.headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://school.canvas.test.example")


def test_non_iframe_endpoints_forbid_framing(browser: LtiBrowser) -> None:
    response = browser.client.get("/lti/config.json", base_url=TOOL_BASE)
    assert response.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")


# -- 18-21: sessions ---------------------------------------------------------------------------


def _handle(response: Any) -> str:
    match = re.search(r'action="/s/([^/]+)/sign-out"', response.get_data(as_text=True))
    assert match, "landing page has no session handle"
    return match.group(1)


def _csrf(response: Any) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def test_session_pages_need_the_launch_secret(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    landing = browser.launch()
    handle = _handle(landing)
    assert browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE).status_code == 200
    stranger = app.test_client()
    assert stranger.get(f"/s/{handle}/", base_url=TOOL_BASE).status_code == 401
    assert (
        stranger.get(
            f"/s/{handle}/", base_url=TOOL_BASE, headers={"X-Launch-Token": "guess"}
        ).status_code
        == 401
    )


def test_cookieless_browser_can_use_the_token_from_the_page(
    app: Flask, browser: LtiBrowser
) -> None:
    landing = browser.launch()
    token = re.search(r'name="mp-launch" content="([^"]+)"', landing.get_data(as_text=True))
    assert token
    cookieless = app.test_client()
    response = cookieless.get(
        f"/s/{_handle(landing)}/", base_url=TOOL_BASE, headers={"X-Launch-Token": token.group(1)}
    )
    assert response.status_code == 200


def test_state_changes_need_csrf_token_and_our_origin(browser: LtiBrowser) -> None:
    landing = browser.launch()
    handle, csrf = _handle(landing), _csrf(landing)
    url = f"/s/{handle}/sign-out"
    assert browser.client.post(url, base_url=TOOL_BASE).status_code == 403
    assert (
        browser.client.post(url, data={"csrf_token": "wrong"}, base_url=TOOL_BASE).status_code
        == 403
    )
    assert (
        browser.client.post(
            url,
            data={"csrf_token": csrf},
            base_url=TOOL_BASE,
            headers={"Origin": "https://attacker.example"},
        ).status_code
        == 403
    )
    ok = browser.client.post(
        url, data={"csrf_token": csrf}, base_url=TOOL_BASE, headers={"Origin": TOOL_BASE}
    )
    assert ok.status_code == 200
    assert "signed out" in ok.get_data(as_text=True)
    assert browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE).status_code == 401


def test_each_launch_gets_a_fresh_session(browser: LtiBrowser) -> None:
    browser.client.set_cookie("__Host-mp-planted", "attacker-chosen", domain="tool.test")
    first, second = browser.launch(), browser.launch()
    assert _handle(first) != _handle(second)
    assert "planted" not in {_handle(first), _handle(second)}


def test_two_courses_in_two_tabs_do_not_mix(browser: LtiBrowser) -> None:
    def course(course_id: str, title: str) -> Any:
        def mutate(c: dict[str, Any]) -> None:
            c[CLAIM + "context"] = {
                **c[CLAIM + "context"],
                "id": "ctx-" + course_id,
                "title": title,
            }
            c[CLAIM + "custom"] = {**c[CLAIM + "custom"], "canvas_course_id": course_id}
            c["sub"] = "same-teacher"

        return mutate

    x = browser.launch(mutate=course("101", "Course X"))
    y = browser.launch(mutate=course("202", "Course Y"))
    hx, hy = _handle(x), _handle(y)
    assert "Course X" in browser.client.get(f"/s/{hx}/", base_url=TOOL_BASE).get_data(as_text=True)
    assert "Course Y" in browser.client.get(f"/s/{hy}/", base_url=TOOL_BASE).get_data(as_text=True)
    # Tab X's secret does not open tab Y's session.
    x_secret = browser.client.get_cookie(f"__Host-mp-{hx}", domain="tool.test")
    assert x_secret is not None
    other = browser.client.application.test_client()
    assert (
        other.get(
            f"/s/{hy}/", base_url=TOOL_BASE, headers={"X-Launch-Token": x_secret.value}
        ).status_code
        == 401
    )


def test_launch_as_another_user_ends_the_previous_users_session(browser: LtiBrowser) -> None:
    a = browser.launch(mutate=lambda c: {**c, "sub": "user-a"})
    handle_a = _handle(a)
    b = browser.launch(roles=[LEARNER], mutate=lambda c: {**c, "sub": "user-b"})
    assert b.status_code == 200
    assert any(c.startswith(f"__Host-mp-{handle_a}=;") for c in b.headers.getlist("Set-Cookie"))
    assert browser.client.get(f"/s/{handle_a}/", base_url=TOOL_BASE).status_code == 401


def test_secrets_never_in_urls_or_logs(
    browser: LtiBrowser, platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login = browser.login()
    query = auth_query(login.headers["Location"])
    token = platform.sign(platform.claims(query["nonce"]))
    landing = browser.post_launch(token, query["state"])
    secret_cookie = [c for c in landing.headers.getlist("Set-Cookie") if c.startswith("__Host-mp-")]
    secret = secret_cookie[0].split(";")[0].split("=", 1)[1]
    html = landing.get_data(as_text=True)
    for href in re.findall(r'(?:href|action)="([^"]+)"', html):
        assert secret not in href
    browser.post_launch(token, query["state"])  # a rejected replay is logged too
    for sensitive in (
        token,
        secret,
        query["state"],
        query["nonce"],
        login_params(platform)["login_hint"],
    ):
        assert sensitive not in caplog.text


def test_a_browser_keeps_a_bounded_number_of_sessions(browser: LtiBrowser) -> None:
    """Opening the tool all day must not grow the Cookie header without limit."""
    handles = [
        _handle(browser.launch(mutate=lambda c: {**c, "sub": "busy-teacher"})) for _ in range(12)
    ]
    live = [
        h for h in handles if browser.client.get(f"/s/{h}/", base_url=TOOL_BASE).status_code == 200
    ]
    assert live == handles[-5:]
    assert browser.client._cookies is not None
    held = [c for c in browser.client._cookies.values() if c.key.startswith("__Host-mp-")]
    assert len(held) == 5


# --- the platform answers with an OIDC error instead of an id_token -------------------------


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        ("login_required", 401, "Canvas could not confirm who you are"),
        ("invalid_request", 400, "Canvas refused to start the launch"),
    ],
)
def test_platform_error_response_gets_its_own_page(
    app: Flask,
    browser: LtiBrowser,
    caplog: pytest.LogCaptureFixture,
    error: str,
    status: int,
    title: str,
) -> None:
    auth = browser.start()
    with caplog.at_level(logging.INFO):
        response = browser.client.post(
            LAUNCH_PATH,
            data={
                "error": error,
                "error_description": "Must have an active user session",
                "state": auth["state"],
            },
            base_url=TOOL_BASE,
        )
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert title in html
    assert "not a valid LTI 1.3 token" not in html
    assert auth["state"] not in caplog.text
    assert session_count(app) == 0
