"""The installation page for district admins, /s/<handle>/admin, reached after a launch."""

from __future__ import annotations

import re

import pytest
import responses
from flask import Flask
from werkzeug.test import TestResponse

from lti_app.db import session_scope
from lti_app.lti.tool_keys import rotate
from lti_app.services import services
from tests.conftest import LtiBrowser
from tests.lti_platform import (
    ADMIN,
    INSTRUCTOR,
    LEARNER,
    LIS,
    SYSTEM_USER,
    TOOL_BASE,
    FakePlatform,
)

COOKIE_PREFIX = "__Host-mp-"
OTHER = FakePlatform(
    issuer="https://canvas.other-district.example",
    client_id="20000000000777",
    deployment_id="55:other-district-deployment",
    canvas_url="https://other-district.instructure.example",
    auth_url="https://sso.other-district.example/api/lti/authorize_redirect",
    token_url="https://sso.other-district.example/login/oauth2/token",
    jwks_url="https://sso.other-district.example/api/lti/security/jwks",
    key_name="platform-other",
)
# Same issuer as the default fake platform (hosted Canvas shares one), another developer key.
SAME_ISSUER_OTHER_KEY = FakePlatform(
    client_id="10000000000999",
    deployment_id="66:same-issuer-other-key",
    canvas_url="https://neighbour.canvas.test.example",
)


def handle_from_cookie(response: TestResponse) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE_PREFIX)]
    assert len(cookies) == 1, response.headers
    name = cookies[0].split("=", 1)[0]
    return name[len(COOKIE_PREFIX) :]


def admin_launch(browser: LtiBrowser) -> tuple[str, TestResponse]:
    response = browser.launch(roles=[ADMIN, SYSTEM_USER])
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    links = re.findall(r'href="/s/([A-Za-z0-9_-]+)/admin"', html)
    assert len(links) == 1, html
    handle = links[0]
    assert handle_from_cookie(response) == handle
    return handle, response


def admin_page(browser: LtiBrowser, handle: str) -> TestResponse:
    return browser.client.get(f"/s/{handle}/admin", base_url=TOOL_BASE)


def register(app: Flask, platform: FakePlatform) -> None:
    result = app.test_cli_runner().invoke(args=platform.cli_args())
    assert result.exit_code == 0, result.output


def rotate_keys(app: Flask, times: int) -> None:
    for _ in range(times):
        with app.app_context(), session_scope(app) as db:
            rotate(db, services().keyring)


# --- the admin's launch -------------------------------------------------------------------


def test_admin_launch_links_to_admin_page_and_sets_launch_cookie(browser: LtiBrowser) -> None:
    handle, response = admin_launch(browser)
    html = response.get_data(as_text=True)
    assert "Administrator" in html
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE_PREFIX)]
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite", "partitioned"} <= attributes
    assert "SameSite=None" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie  # __Host- cookies have none
    # The secret in the cookie is not the public handle.
    assert cookie.split(";")[0].split("=", 1)[1] != handle


def test_admin_launch_without_a_course_role_shows_one_badge(browser: LtiBrowser) -> None:
    """An account-navigation launch has no course role: "Administrator" only, never "Guest"."""
    _, response = admin_launch(browser)
    badges = re.findall(r'<span class="role-badge">([^<]*)</span>', response.get_data(as_text=True))
    assert badges == ["Administrator"]


def test_teacher_who_is_also_an_admin_shows_both_badges(browser: LtiBrowser) -> None:
    response = browser.launch(roles=[INSTRUCTOR, ADMIN])
    badges = re.findall(r'<span class="role-badge">([^<]*)</span>', response.get_data(as_text=True))
    assert badges == ["Teacher", "Administrator"]


# --- what the admin page shows ------------------------------------------------------------


def test_admin_page_lists_installation(browser: LtiBrowser, platform: FakePlatform) -> None:
    handle, _ = admin_launch(browser)
    response = admin_page(browser, handle)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Installation" in html
    assert platform.deployment_id in html
    assert platform.issuer in html
    assert platform.client_id in html
    assert platform.canvas_url in html
    assert "command line" in html
    assert "https://tool.test/lti/config.json" in html
    assert "https://tool.test/lti/register" in html
    assert "https://tool.test/.well-known/jwks.json" in html
    assert "Current (signing)" in html
    # The deployment that just launched shows its last launch.
    row = re.search(
        re.escape(platform.deployment_id) + r"</code></td><td>[^<]*</td><td>([^<]*)</td>", html
    )
    assert row is not None
    assert row.group(1) != "never"
    assert f"frame-ancestors {platform.canvas_url}" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_page_lists_every_deployment_of_this_platform(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    register(app, FakePlatform(deployment_id="12:second-subaccount"))
    handle, _ = admin_launch(browser)
    html = admin_page(browser, handle).get_data(as_text=True)
    assert platform.deployment_id in html
    assert "12:second-subaccount" in html
    assert html.index(platform.deployment_id) < html.index("12:second-subaccount")


def test_admin_page_key_status(app: Flask, browser: LtiBrowser) -> None:
    rotate_keys(app, 3)  # one retired, one previous, one current
    handle, _ = admin_launch(browser)
    html = admin_page(browser, handle).get_data(as_text=True)
    assert html.count("Current (signing)") == 1
    assert html.count("Previous (still published)") == 1
    assert html.count("Retired") == 1
    assert "keys rotate" in html


def test_admin_page_never_lists_another_tenant(app: Flask, browser: LtiBrowser) -> None:
    register(app, OTHER)
    register(app, SAME_ISSUER_OTHER_KEY)
    handle, _ = admin_launch(browser)
    html = admin_page(browser, handle).get_data(as_text=True)
    for other in (OTHER, SAME_ISSUER_OTHER_KEY):
        assert other.client_id not in html
        assert other.deployment_id not in html
        assert other.canvas_url not in html
    assert OTHER.issuer not in html
    assert "sso.other-district.example" not in html


def test_other_tenants_admin_sees_only_their_own(
    app: Flask, browser: LtiBrowser, platform: FakePlatform, jwks: responses.RequestsMock
) -> None:
    register(app, OTHER)
    jwks.get(OTHER.jwks_url, json=OTHER.jwks())
    other_browser = LtiBrowser(app.test_client(), OTHER)
    other_handle, _ = admin_launch(other_browser)
    html = admin_page(other_browser, other_handle).get_data(as_text=True)
    assert OTHER.deployment_id in html
    assert OTHER.client_id in html
    assert platform.deployment_id not in html
    assert platform.client_id not in html
    assert platform.canvas_url not in html

    # And one tenant's session is useless on the other's handle.
    own_handle, _ = admin_launch(browser)
    assert admin_page(other_browser, own_handle).status_code == 401
    assert admin_page(browser, other_handle).status_code == 401


# --- who may open it ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "roles",
    [
        [INSTRUCTOR, SYSTEM_USER],
        [LEARNER, LIS + "institution/person#Student"],
        [SYSTEM_USER],
        # Look-alikes of the admin role are not the admin role.
        [LIS + "membership#Administrator"],
        ["Administrator"],
    ],
)
def test_non_admin_gets_403(browser: LtiBrowser, roles: list[str]) -> None:
    response = browser.launch(roles=roles)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "/admin" not in response.get_data(as_text=True)
    handle = handle_from_cookie(response)
    refused = admin_page(browser, handle)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403, html
    assert "This page is for district administrators." in html
    assert "config.json" not in html
    assert browser.platform.client_id not in html


def test_teacher_who_is_also_admin_may_open_it(browser: LtiBrowser) -> None:
    response = browser.launch(roles=[INSTRUCTOR, ADMIN])
    handle = handle_from_cookie(response)
    assert admin_page(browser, handle).status_code == 200


def test_without_session_secret_401(app: Flask, browser: LtiBrowser) -> None:
    handle, _ = admin_launch(browser)
    stranger = app.test_client()
    response = stranger.get(f"/s/{handle}/admin", base_url=TOOL_BASE)
    assert response.status_code == 401
    assert "Your session has ended." in response.get_data(as_text=True)
    wrong = stranger.get(
        f"/s/{handle}/admin", base_url=TOOL_BASE, headers={"X-Launch-Token": "guess"}
    )
    assert wrong.status_code == 401
    assert admin_page(browser, "no-such-handle").status_code == 401


def test_launch_token_header_works_without_cookies(app: Flask, browser: LtiBrowser) -> None:
    """Browsers that block third-party cookies send the launch token from the page instead."""
    handle, response = admin_launch(browser)
    token = re.search(r'<meta name="mp-launch" content="([^"]+)"', response.get_data(as_text=True))
    assert token is not None
    cookieless = app.test_client()
    ok = cookieless.get(
        f"/s/{handle}/admin", base_url=TOOL_BASE, headers={"X-Launch-Token": token.group(1)}
    )
    assert ok.status_code == 200
    assert browser.platform.deployment_id in ok.get_data(as_text=True)


def test_admin_page_is_read_only(browser: LtiBrowser) -> None:
    handle, _ = admin_launch(browser)
    response = browser.client.post(f"/s/{handle}/admin", base_url=TOOL_BASE)
    assert response.status_code == 405
