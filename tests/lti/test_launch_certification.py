"""1EdTech certification cases (docs/lti.md §2): 12 known-bad payloads, valid variants.

Each bad payload goes through a real login first, so the only thing wrong is the payload.
A rejection must be a 4xx HTML page that says what to tell the admin, create no session
(no cookie, no row), and log its reason code.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_app.models.launch import LaunchSession
from tests.conftest import LtiBrowser
from tests.lti_platform import (
    ADMIN,
    CLAIM,
    INSTITUTION_INSTRUCTOR,
    INSTITUTION_STUDENT,
    INSTRUCTOR,
    LEARNER,
    LIS,
    TA,
)


def _b64(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def session_count(app: Flask) -> int:
    with app.extensions["db_sessionmaker"]() as db:
        return db.scalar(select(func.count()).select_from(LaunchSession)) or 0


def assert_rejected(app: Flask, response: Any, code: str, caplog: pytest.LogCaptureFixture) -> None:
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, body[:300])
    assert response.mimetype == "text/html"
    assert "Mastery Pathways could not open" in body
    assert f"<code>{code}</code>" in body
    assert not any(
        c.startswith("Set-Cookie") and "__Host-mp-" in c
        for c in [f"Set-Cookie: {v}" for v in response.headers.getlist("Set-Cookie")]
    )
    assert session_count(app) == 0
    assert f"launch_rejected reason={code} " in caplog.text


def drop(*names: str) -> Any:
    def mutate(claims: dict[str, Any]) -> None:
        for name in names:
            claims.pop(name, None)

    return mutate


def setv(name: str, value: Any) -> Any:
    def mutate(claims: dict[str, Any]) -> None:
        claims[name] = value

    return mutate


@pytest.fixture(autouse=True)
def _log_level(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lti_app")


# (case, mutate-claims, header, expected reason code)
BAD_PAYLOADS = [
    ("1 no kid in header", None, {"badtestonly": "12345"}, "kid_missing"),
    ("2 incorrect kid", None, {"kid": "imstester_66067"}, "kid_unknown"),
    ("3 wrong LTI version", setv(CLAIM + "version", "11.3"), None, "version_invalid"),
    ("4 no LTI version", drop(CLAIM + "version"), None, "version_missing"),
    (
        "6 missing LTI claims",
        drop(CLAIM + "message_type", CLAIM + "version", CLAIM + "roles"),
        None,
        "claims_missing",
    ),
    ("7 timestamps incorrect", lambda c: {**c, "iat": 11111, "exp": 22222}, None, "expired"),
    ("8 message_type missing", drop(CLAIM + "message_type"), None, "message_type_missing"),
    ("9 roles claim missing", drop(CLAIM + "roles"), None, "roles_missing"),
    ("10 deployment_id missing", drop(CLAIM + "deployment_id"), None, "deployment_missing"),
    (
        "11a resource_link claim missing",
        drop(CLAIM + "resource_link"),
        None,
        "resource_link_missing",
    ),
    (
        "11b resource_link id missing",
        setv(CLAIM + "resource_link", {"title": "no id"}),
        None,
        "resource_link_missing",
    ),
    ("12a sub empty", setv("sub", ""), None, "sub_missing"),
    ("12b sub absent", drop("sub"), None, "sub_missing"),
]


@pytest.mark.parametrize(
    ("case", "mutate", "header", "code"), BAD_PAYLOADS, ids=[c[0] for c in BAD_PAYLOADS]
)
def test_known_bad_payloads_are_rejected(
    app: Flask,
    browser: LtiBrowser,
    caplog: pytest.LogCaptureFixture,
    case: str,
    mutate: Any,
    header: dict[str, str] | None,
    code: str,
) -> None:
    response = browser.launch(mutate=mutate, headers=header)
    assert_rejected(app, response, code, caplog)


def test_case_5_invalid_lti_message(
    app: Flask, browser: LtiBrowser, caplog: pytest.LogCaptureFixture
) -> None:
    auth = browser.start()
    not_lti = f"{_b64({})}.{_b64({'name': 'badltilaunch'})}.c2ln"
    assert_rejected(app, browser.post_launch(not_lti, auth["state"]), "jwt_malformed", caplog)
    two_segments = f"{_b64({'alg': 'RS256'})}.{_b64({'name': 'x'})}"
    assert_rejected(app, browser.post_launch(two_segments, auth["state"]), "jwt_malformed", caplog)
    assert_rejected(app, browser.post_launch("garbage", auth["state"]), "jwt_malformed", caplog)


def test_missing_claims_are_listed_in_the_log_only(
    browser: LtiBrowser, caplog: pytest.LogCaptureFixture
) -> None:
    response = browser.launch(mutate=drop(CLAIM + "message_type", CLAIM + "roles"))
    assert "missing: message_type, roles" in caplog.text
    assert "message_type, roles" not in response.get_data(as_text=True)


VALID = [
    ("instructor", [INSTRUCTOR], None, "Teacher"),
    ("student", [LEARNER], None, "Student"),
    (
        "instructor multiple roles",
        [INSTRUCTOR, INSTITUTION_INSTRUCTOR, LIS + "institution/person#Mentor"],
        None,
        "Teacher",
    ),
    (
        "student multiple roles",
        [LEARNER, INSTITUTION_STUDENT, LIS + "institution/person#Mentor"],
        None,
        "Student",
    ),
    ("instructor short role", ["Instructor"], None, "Teacher"),
    ("student short role", ["Learner"], None, "Student"),
    ("unknown role", [LIS + "unknown/unknown#Helper"], None, "Nothing to show for your role"),
    ("no role", [""], None, "Nothing to show for your role"),
    ("empty roles list", [], None, "Nothing to show for your role"),
    ("email only", [LEARNER], drop("name", "given_name", "family_name"), "Student"),
    ("names only", [LEARNER], drop("email"), "Student"),
    (
        "no PII",
        [INSTRUCTOR],
        drop("name", "given_name", "family_name", "email", CLAIM + "lis"),
        "Teacher",
    ),
    (
        "email without context",
        [LEARNER],
        drop(CLAIM + "context"),
        "Open Mastery Pathways from a course",
    ),
    ("no tool_platform, no azp", [INSTRUCTOR], drop(CLAIM + "tool_platform", "azp"), "Teacher"),
    (
        "new resource_link_id",
        [LEARNER],
        setv(CLAIM + "resource_link", {"id": "brand-new-link-7"}),
        "Student",
    ),
    ("TA", [INSTRUCTOR, TA], None, "Teaching assistant"),
    ("admin outside a course", [ADMIN], drop(CLAIM + "context"), "District administration"),
    (
        "unknown claims ignored",
        [LEARNER],
        setv("https://example.org/claim/whatever", {"x": 1}),
        "Student",
    ),
]


@pytest.mark.parametrize(("case", "roles", "mutate", "expect"), VALID, ids=[v[0] for v in VALID])
def test_valid_launches_are_accepted(
    app: Flask, browser: LtiBrowser, case: str, roles: list[str], mutate: Any, expect: str
) -> None:
    response = browser.launch(roles=roles, mutate=mutate)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:500]
    assert expect in body
    assert session_count(app) == 1
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("__Host-mp-") for c in cookies)
