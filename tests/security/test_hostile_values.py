"""Each hostile value that once gave a 500 answers 4xx, says why, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lti_app.lti.launch_session import CSRF_FIELD
from tests.lti_platform import TOOL_BASE
from tests.pathways.conftest import COURSE, RL
from tests.security.conftest import Roles
from tests.security.course import Course
from tests.security.snapshot import database_dump

HUGE = "99999999999999999999"  # above 2**63
INT4_OVERFLOW = "3000000000"  # above 2**31 - 1: out of range for an int4 primary key


def mastery_form(csrf: str, **changes: str) -> dict[str, str]:
    """The built-in default scale (0-4 in halves), as the admin page posts it."""
    values = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]
    data = {
        CSRF_FIELD: csrf,
        "scope": "district",
        "scale_name": "District 0-4",
        "threshold": "3",
        "points_possible": "4",
        "method": "decaying_average",
        "parameter": "65",
        "minimum_evidence": "1",
        "override_rule": "resume_after_newer_evidence",
        "action": "save",
    }
    for i, v in enumerate(values):
        data |= {
            f"level-{i}-value": f"{v:g}",
            f"level-{i}-label": f"Level {v:g}",
            f"level-{i}-short_label": f"L{v:g}",
            f"level-{i}-color": "#336699",
            f"level-{i}-description": "",
            f"level-{i}-min_percent": f"{v / 4 * 100:g}",
        }
    return data | changes


def request_as(
    roles: Roles, role: str, method: str, path: str, data: dict[str, Any] | None = None
) -> Any:
    browser, session = roles[role]
    url = path.replace("<h>", session.handle)
    if method == "GET":
        return browser.client.get(url, base_url=TOOL_BASE)
    return browser.client.post(
        url, data={CSRF_FIELD: session.csrf, **(data or {})}, base_url=TOOL_BASE
    )


def assert_refused(
    app: Flask,
    roles: Roles,
    role: str,
    method: str,
    path: str,
    data: Any,
    statuses: tuple[int, ...],
) -> str:
    roles[role]  # launch first: the launch itself writes rows
    before = database_dump(app)
    response = request_as(roles, role, method, path, data)
    html: str = response.get_data(as_text=True)
    assert response.status_code in statuses, (response.status_code, html[:2000])
    assert database_dump(app) == before
    return html


def test_unicode_digit_in_grid_closed_groups(app: Flask, course: Course, roles: Roles) -> None:
    # "²" passes str.isdigit() but not int(): an unreadable group index is just ignored
    response = request_as(roles, "teacher", "GET", "/s/<h>/grid?closed=%C2%B2&closed=0")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_unicode_digit_in_bulk_approve(app: Flask, course: Course, roles: Roles) -> None:
    html = assert_refused(
        app, roles, "teacher", "POST", "/s/<h>/pathways/review/bulk", {"ids": ["²"]}, (400,)
    )
    assert "could not be read" in html


@pytest.mark.parametrize("value", ["²", "١٢", HUGE])
def test_menu_attempt_limit_not_ascii_digits(
    app: Flask, course: Course, roles: Roles, value: str
) -> None:
    data = {
        "offer": ["test"],
        "test-title": "Quiz",
        "test-instructions": "Friday",
        "test-attempt_limit": value,
    }
    html = assert_refused(
        app, roles, "teacher", "POST", f"/s/<h>/pathways/targets/{RL}", data, (400,)
    )
    assert "attempt limit is a whole number" in html
    assert f'value="{value}"' in html  # what was typed is kept


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("parameter", "²", "whole number"),
        ("minimum_evidence", "²", "whole number"),
        ("minimum_evidence", "9999999999", "Minimum evidence"),
        ("parameter", "-99999999999", "whole number"),
        ("level-8-value", "1e308", "Level"),
        ("level-0-value", "-1e308", "Level"),
        ("points_possible", "1e308", "points possible"),
        ("level-3-min_percent", "1e308", "percent"),
        ("threshold", "1e308", "threshold"),
    ],
)
def test_admin_mastery_numbers(
    app: Flask, course: Course, roles: Roles, field: str, value: str, message: str
) -> None:
    _, admin = roles["admin"]
    html = assert_refused(
        app,
        roles,
        "admin",
        "POST",
        "/s/<h>/admin/mastery",
        mastery_form(admin.csrf, **{field: value}),
        (400,),
    )
    assert message in html
    assert f'value="{value}"' in html


def test_admin_mastery_extreme_scale_both_ends(app: Flask, course: Course, roles: Roles) -> None:
    _, admin = roles["admin"]
    form = mastery_form(admin.csrf, **{"level-0-value": "-1e308", "level-8-value": "1e308"})
    for action in ("save", "preview"):
        assert_refused(
            app,
            roles,
            "admin",
            "POST",
            "/s/<h>/admin/mastery",
            form | {"action": action, "preview_course": COURSE},
            (400,),
        )


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("teacher", "POST", "/s/<h>/pathways/review/{id}"),
        ("teacher", "GET", "/s/<h>/pathways/demonstrations/{id}"),
        ("teacher", "POST", "/s/<h>/pathways/canvas-results/retry/{id}"),
        ("student", "POST", f"/s/<h>/me/targets/{RL}/demonstrations/{{id}}/withdraw"),
    ],
)
@pytest.mark.parametrize("demo_id", [HUGE, INT4_OVERFLOW, "١", "%C2%B2", "-1", "0" * 40 + "1"])
def test_ids_out_of_range_or_not_ascii(
    app: Flask, course: Course, roles: Roles, role: str, method: str, path: str, demo_id: str
) -> None:
    html = assert_refused(
        app, roles, role, method, path.format(id=demo_id), {"action": "approve_proposal"}, (404,)
    )
    assert "no such" in html.lower() or "not found" in html.lower()


@pytest.mark.parametrize(
    ("role", "method", "path", "data"),
    [
        ("teacher", "GET", "/s/%00/grid", None),
        ("teacher", "GET", "/s/<h>/grid/%00/97", None),
        ("teacher", "GET", "/s/<h>/grid?section=%00", None),
        (
            "teacher",
            "POST",
            f"/s/<h>/pathways/targets/{RL}",
            {"offer": ["test"], "test-title": "Q\x00", "test-instructions": "x"},
        ),
        ("student", "POST", f"/s/<h>/me/targets/{RL}/choose", {"kind": "test\x00"}),
        ("admin", "GET", "/s/<h>/admin/mastery?scope=%00", None),
        ("admin", "POST", "/s/<h>/admin/mastery", {"scale_name": "District\x00"}),
        ("admin", "POST", "/s/<h>/admin/mastery", {"level-2-label": "Lab\x00el"}),
        (
            "admin",
            "POST",
            "/s/<h>/admin/mastery",
            {"scope": COURSE + "\x00", "preview_course": COURSE + "\x00"},
        ),
        (
            "admin",
            "POST",
            "/s/<h>/admin/mastery",
            {"level-2-label": "Bell\x07", "level-3-label": "C1\x85"},
        ),
        ("teacher", "POST", "/s/<h>/pathways/review/bulk", {"ids": ["1\x7f"]}),
    ],
)
def test_control_characters_are_refused(
    app: Flask,
    course: Course,
    roles: Roles,
    role: str,
    method: str,
    path: str,
    data: dict[str, Any] | None,
) -> None:
    if data is not None and role == "admin":
        data = mastery_form(roles["admin"][1].csrf, **data)
    html = assert_refused(app, roles, role, method, path, data, (400,))
    assert "control character" in html
