"""Pages reached without the session cookie hand the secret on (for session_nav.js); pages
reached with the cookie never put it in the HTML."""

from __future__ import annotations

import re

from tests.conftest import LtiBrowser
from tests.lti_platform import ADMIN, SYSTEM_USER, TOOL_BASE

COOKIE_PREFIX = "__Host-mp-"


def launch_admin(browser: LtiBrowser) -> tuple[str, str]:
    response = browser.launch(roles=[ADMIN, SYSTEM_USER])
    html = response.get_data(as_text=True)
    handle = re.findall(r'href="/s/([A-Za-z0-9_-]+)/admin"', html)[0]
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE_PREFIX + handle)
    )
    secret = cookie.split("=", 1)[1].split(";", 1)[0]
    return handle, secret


def test_header_authenticated_page_carries_secret_for_next_navigation(browser: LtiBrowser) -> None:
    handle, secret = launch_admin(browser)
    cookieless = browser.client.application.test_client()  # a browser that kept no cookie
    page = cookieless.get(
        f"/s/{handle}/admin", base_url=TOOL_BASE, headers={"X-Launch-Token": secret}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert f'<meta name="mp-launch" content="{secret}"' in html
    assert f'data-base="/s/{handle}/"' in html
    assert "session_nav.js" in html
    # without the secret the page is refused, whatever the handle
    bare = cookieless.get(f"/s/{handle}/admin", base_url=TOOL_BASE)
    assert bare.status_code == 401


def test_cookie_authenticated_page_does_not_echo_the_secret(browser: LtiBrowser) -> None:
    handle, secret = launch_admin(browser)
    page = browser.client.get(f"/s/{handle}/admin", base_url=TOOL_BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert secret not in html
    assert "mp-launch" not in html
