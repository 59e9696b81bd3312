"""The Canvas developer key JSON at /lti/config.json (docs/canvas.md §7.6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from lti_app.lti.tool_configuration import developer_key_json
from tests.conftest import LtiBrowser, make_app
from tests.lti_platform import TOOL_BASE

# TokenScopes::LTI_SCOPES: the LTI scopes Canvas accepts on a developer key (docs/canvas.md §7.6).
CANVAS_LTI_SCOPES = {
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti/scope/noticehandlers",
    "https://canvas.instructure.com/lti/public_jwk/scope/update",
    "https://canvas.instructure.com/lti/account_lookup/scope/show",
    "https://canvas.instructure.com/lti-ags/progress/scope/show",
    "https://canvas.instructure.com/lti/page_content/show",
}
PLACEMENT_KEYS = {
    "placement", "message_type", "target_link_uri", "text", "icon_url", "enabled",
    "custom_fields", "selection_width", "selection_height", "required_permissions",
    "canvas_icon_class", "windowTarget", "display_type", "default", "visibility",
    "root_account_only",
}  # fmt: skip


@pytest.fixture
def config(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/lti/config.json", base_url=TOOL_BASE)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def all_urls(value: Any) -> list[str]:
    """Every URL in the document except the scopes (names that look like URLs)."""
    if isinstance(value, dict) and "scopes" in value:
        value = {k: v for k, v in value.items() if k != "scopes"}
    if isinstance(value, str):
        return [value] if value.startswith(("http://", "https://")) else []
    if isinstance(value, dict):
        return [u for v in value.values() for u in all_urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in all_urls(v)]
    return []


def test_required_top_level_fields(config: dict[str, Any]) -> None:
    assert config["title"] == "Mastery Pathways"
    assert config["description"]
    assert config["oidc_initiation_url"] == "https://tool.test/lti/login"
    assert config["target_link_uri"] == "https://tool.test/lti/launch"
    # Exactly one of public_jwk and public_jwk_url.
    assert config["public_jwk_url"] == "https://tool.test/.well-known/jwks.json"
    assert "public_jwk" not in config


def test_canvas_extension(config: dict[str, Any]) -> None:
    [ext] = config["extensions"]
    assert ext["platform"] == "canvas.instructure.com"
    assert ext["domain"] == "tool.test"
    assert ext["privacy_level"] in {"anonymous", "name_only", "email_only", "public"}
    # Names arrive in the launch (the pages greet the user), so at least name_only.
    assert ext["privacy_level"] in {"name_only", "public"}
    assert ext["tool_id"]
    assert ext["settings"]["text"] == "Mastery Pathways"
    assert ext["settings"]["icon_url"] == "https://tool.test/static/icon.svg"


def test_placements(config: dict[str, Any]) -> None:
    placements = {p["placement"]: p for p in config["extensions"][0]["settings"]["placements"]}
    assert set(placements) == {"course_navigation", "account_navigation"}
    for name, p in placements.items():
        assert p["message_type"] == "LtiResourceLinkRequest", name
        assert set(p) <= PLACEMENT_KEYS, set(p) - PLACEMENT_KEYS
        target = urlsplit(p["target_link_uri"])
        assert (target.scheme, target.netloc, target.path) == ("https", "tool.test", "/lti/launch")
        assert p["text"]
    course = placements["course_navigation"]
    assert course["default"] in {"enabled", "disabled"}
    assert course["visibility"] in {"public", "members", "admins"}
    assert parse_qs(urlsplit(course["target_link_uri"]).query) == {"placement": ["course"]}
    account = placements["account_navigation"]
    assert parse_qs(urlsplit(account["target_link_uri"]).query) == {"placement": ["account"]}


def test_custom_fields(config: dict[str, Any]) -> None:
    fields = config["custom_fields"]
    assert fields["canvas_course_id"] == "$Canvas.course.id"
    assert fields["canvas_user_id"] == "$Canvas.user.id"
    assert fields["canvas_api_base"] == "$Canvas.api.baseUrl"
    assert fields["canvas_roles"] == "$Canvas.membership.roles"
    assert fields["canvas_user_time_zone"] == "$Person.address.timezone"
    assert fields["canvas_account_id"] == "$Canvas.account.id"
    assert fields["canvas_root_account_admin"] == "$Canvas.user.isRootAccountAdmin"
    assert all(isinstance(v, str) and v.startswith("$") for v in fields.values())


def test_scopes_are_ones_canvas_accepts(config: dict[str, Any]) -> None:
    assert config["scopes"]
    assert set(config["scopes"]) <= CANVAS_LTI_SCOPES
    assert len(config["scopes"]) == len(set(config["scopes"]))


def test_every_url_is_on_the_public_base_url(config: dict[str, Any]) -> None:
    urls = all_urls(config)
    assert len(urls) >= 7
    for url in urls:
        assert url.startswith("https://tool.test/"), url


def test_config_follows_public_base_url(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path, public_base_url="https://mastery.district.example/")
    body = app.test_client().get("/lti/config.json").get_json()
    assert body["oidc_initiation_url"] == "https://mastery.district.example/lti/login"
    assert body["extensions"][0]["domain"] == "mastery.district.example"
    for url in all_urls(body):
        assert url.startswith("https://mastery.district.example/"), url
    assert "tool.test" not in str(body)
    app.extensions["db_engine"].dispose()


def test_endpoint_equals_builder(config: dict[str, Any]) -> None:
    assert config == developer_key_json(TOOL_BASE)


def test_advertised_urls_are_served(app: Flask, config: dict[str, Any]) -> None:
    client = app.test_client()
    jwks = client.get(urlsplit(config["public_jwk_url"]).path, base_url=TOOL_BASE)
    assert jwks.status_code == 200
    assert jwks.get_json()["keys"]
    icon = client.get(urlsplit(config["extensions"][0]["settings"]["icon_url"]).path)
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"


@pytest.mark.parametrize("placement", ["course_navigation", "account_navigation"])
def test_placement_target_is_accepted_at_login(
    browser: LtiBrowser, config: dict[str, Any], placement: str
) -> None:
    """Canvas sends the placement's target_link_uri at login: the tool must accept it."""
    [target] = [
        p["target_link_uri"]
        for p in config["extensions"][0]["settings"]["placements"]
        if p["placement"] == placement
    ]
    response = browser.login(target_link_uri=target)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(browser.platform.auth_url)
