"""Error pages inside a session: never the session secret, always the tenant's framing; HSTS
in production only."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from flask import Flask

from lti_app.pathways import service as pathways_service
from tests.conftest import LtiBrowser, close_app, make_app
from tests.lti_platform import INSTRUCTOR, TOOL_BASE
from tests.security.course import Course

TENANT_FRAMING = "frame-ancestors https://school.canvas.test.example"


def cookieless_session(app: Flask, browser: LtiBrowser) -> tuple[str, str]:
    """A launch whose secret is then presented only as the header (Safari, no cookies)."""
    landing = browser.launch(roles=[INSTRUCTOR]).get_data(as_text=True)
    secret = re.findall(r'<meta name="mp-launch" content="([^"]+)"', landing)[0]
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', landing)[0]
    return handle, secret


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/pathways/demonstrations/999999", 404),  # the view refuses: not in this course
        ("/pathways/demonstrations/99999999999999999999", 404),  # no route matches
        ("/no-such-page", 404),
        ("/grid?section=%00", 400),  # refused before any view
        ("/pathways/review", 500),  # the view fails (made to, below)
    ],
)
def test_error_pages_in_a_session_keep_the_tenant_and_never_carry_the_secret(
    app: Flask,
    course: Course,
    browser: LtiBrowser,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    status: int,
) -> None:
    handle, secret = cookieless_session(app, browser)

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pathways_service, "review_queue", broken)
    client = app.test_client()  # no cookie jar: the header alone proves the session
    response = client.get(
        f"/s/{handle}{path}", headers={"X-Launch-Token": secret}, base_url=TOOL_BASE
    )
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert secret not in html and "mp-launch" not in html
    assert response.headers["Content-Security-Policy"].endswith(TENANT_FRAMING)


def test_a_page_with_controls_still_hands_the_secret_on(
    app: Flask, course: Course, browser: LtiBrowser
) -> None:
    handle, secret = cookieless_session(app, browser)
    client = app.test_client()
    response = client.get(
        f"/s/{handle}/pathways/review", headers={"X-Launch-Token": secret}, base_url=TOOL_BASE
    )
    assert response.status_code == 200
    assert f'<meta name="mp-launch" content="{secret}"' in response.get_data(as_text=True)


def test_error_pages_of_no_valid_session_name_no_tenant(app: Flask, browser: LtiBrowser) -> None:
    handle, _ = cookieless_session(app, browser)
    for path in (f"/s/{handle}/no-such-page", "/s/unknown/no-such-page", "/no-such-page"):
        response = app.test_client().get(
            path, headers={"X-Launch-Token": "wrong"}, base_url=TOOL_BASE
        )
        assert response.status_code == 404
        assert response.headers["Content-Security-Policy"].endswith("frame-ancestors *")
        assert "school.canvas" not in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("env", "expected"), [("production", True), ("development", False), ("testing", False)]
)
def test_strict_transport_security_in_production_only(
    tmp_path: Path, sqlite_url: str, env: str, expected: bool
) -> None:
    key = base64.urlsafe_b64encode(bytes([1]) * 32).decode().rstrip("=")
    app = make_app(
        sqlite_url,
        tmp_path,
        app_env=env,
        secret_key="s" * 48,
        public_base_url="https://tool.example.org",
        encryption_keys=f"k1:{key}",
    )
    try:
        assert app.extensions["mp_services"].settings.is_production is expected
        for path in ("/lti/config.json", "/no-such-page"):
            response = app.test_client().get(path, base_url="https://tool.example.org")
            hsts = response.headers.get("Strict-Transport-Security")
            assert hsts == ("max-age=31536000; includeSubDomains" if expected else None)
    finally:
        close_app(app)
