"""Every route of the app, every method, as every role, with hostile values in every path
segment, query parameter and form field: never a 5xx, and a refused (4xx) request changes
nothing in the database.

One example walks every (route, method) once as one role; hypothesis draws which path
segments, parameters and fields get a hostile value (the rest stay real: a live session
handle, the course's targets, real demonstration ids, a valid admin form) so requests get past
the session and CSRF checks into the views. The database is fixed per test and the run is
derandomized, so CI sees the same requests every time.
"""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import PathwayKind
from lti_app.models.writeback import WritebackItem
from lti_app.writeback import dispatch
from tests.lti_platform import TOOL_BASE
from tests.pathways.conftest import AVA, COURSE, RL, W
from tests.security.conftest import Roles
from tests.security.course import Course
from tests.security.snapshot import database_dump
from tests.security.test_hostile_values import mastery_form

ROLES = ("anonymous", "student", "teacher", "admin", "observer")
EXAMPLES = 6  # per role: 6 x 46 route-methods = 276 random requests

HOSTILE = [
    "²",  # isdigit() but not int()
    "١٢",  # Arabic-Indic digits: int() and \d accept them
    "٣",
    "99999999999999999999",  # above 2**63
    str(2**31),  # above int4
    str(2**63),
    "-1",
    "-99999999999",
    "0",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "nan",
    "1_000",
    "0x10",
    "\x00",
    "a\x00b",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u202egoogle.com",
    "\u2066x\u2069",
    "x" * 5000,
    "",
    " ",
    "%00",
    "../../etc/passwd",
    "'; drop table demonstration; --",
    "\ufeff",
    "😀",
    "line\r\nbreak",
    "<script>alert(1)</script>",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    # control characters come from the list above, often enough; more would stop every
    # request at the input guard and never reach the views
    st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12),
)

KINDS = [k.value for k in PathwayKind]
MENU_FIELDS = ["offer"] + [
    f"{k}-{f}" for k in KINDS for f in ("title", "instructions", "due", "attempt_limit")
]
LIBRARY_FIELDS = ["enabled"] + [f"{k}-{f}" for k in KINDS for f in ("title", "instructions")]
LOGIN_FIELDS = [
    "iss",
    "login_hint",
    "client_id",
    "lti_deployment_id",
    "deployment_id",
    "target_link_uri",
    "lti_message_hint",
    "lti_storage_target",
]
REGISTER_FIELDS = ["openid_configuration", "registration_token"]

# What each endpoint reads from the query string and the form (read from the views); a new
# route fails test_every_route_is_walked until it is listed here.
QUERY: dict[str, list[str]] = {
    "lti.login": LOGIN_FIELDS,
    "lti.register": REGISTER_FIELDS,
    "canvas.oauth_start": ["state"],
    "canvas.oauth_callback": ["state", "code", "error"],
    "mastery.settings": ["scope", "preset"],
    "grid.grid": ["section", "sort", "closed"],
    "writeback.page": ["status"],
    "evidence.page": ["target", "section"],
    "evidence.done": ["target", "section"],
    "report.class_report": ["period", "from", "to", "section"],
    "report.student_report": ["period", "from", "to", "saved"],
    "report.print_view": ["period", "from", "to", "section", "student"],
    "report.pdf": ["period", "from", "to", "section", "student"],
    "district.district": ["term", "csv"],
    "district.school": ["term", "csv"],
    "district.course": ["term", "csv"],
    "district.class_grid": ["csv"],
}
FORM: dict[str, list[str]] = {
    "lti.login": LOGIN_FIELDS,
    "lti.launch": ["id_token", "state", "lti_storage_target", "lti_storage_verified", "error"],
    "lti.register": REGISTER_FIELDS,
    "session.sign_out": [],
    "language.switch": ["language", "next"],
    "canvas.sync_start": [],
    "canvas.connect": [],
    "canvas.disconnect": [],
    "mastery.settings_post": [k for k in mastery_form("") if k != CSRF_FIELD],
    "grid.override": ["action", "level", "reason", "send_to_canvas"],
    "pathways.menu_post": MENU_FIELDS,
    "pathways.menu_copy": ["to"],
    "pathways.review_act": ["action", "note", "level"],
    "pathways.review_bulk": ["ids"],
    "pathways.library_post": LIBRARY_FIELDS,
    "student.choose": ["kind"],
    "student.act": ["proposal", "evidence", "links", "reflection"],
    "writeback.retry_all": [],
    "writeback.retry_one": [],
    "evidence.save": ["target", "section", f"lv-{AVA}", "lv-813", "note", "observed_on"],
    "evidence.upload": ["file"],
    "report.save_comments": ["period"],
}
GET_ONLY = {
    "static",
    "lti.jwks",
    "lti.config_json",
    "session.home",
    "session.admin",
    "canvas.sync_page",
    "canvas.sync_status",
    "mastery.export",
    "grid.levels_css",
    "grid.drilldown",
    "grid.override_done",
    "pathways.index",
    "pathways.menu",
    "pathways.review",
    "pathways.detail",
    "pathways.analytics",
    "pathways.library",
    "student.targets",
    "student.target",
    "student.done",
    "family.family_targets",
    "family.family_target",
    "writeback.status_json",
    "district.my_record",
    "district.record",
}
# Valid values, so that a request with one hostile field reaches the code behind the checks.
VALID_FORM: dict[str, dict[str, Any]] = {
    "grid.override": {"level": "3", "reason": "Seen in class", "send_to_canvas": "1"},
    "evidence.save": {"target": RL, f"lv-{AVA}": "3", "note": "Seen", "observed_on": ""},
    "pathways.menu_post": {
        "offer": ["test"],
        "test-title": "Quiz",
        "test-instructions": "Friday",
        "test-attempt_limit": "2",
    },
    "pathways.menu_copy": {"to": [W]},
    "pathways.review_act": {"action": "approve_proposal", "note": "Fine", "level": "3"},
    "pathways.review_bulk": {"ids": ["1"]},
    "student.choose": {"kind": "project"},
    "student.act": {
        "proposal": "A poster",
        "evidence": "Done",
        "links": "https://ava.example/work",
        "reflection": "I practised",
    },
}


def path_values(course: Course, item_id: int) -> dict[str, str]:
    return {
        "oid": RL,
        "uid": AVA,
        "student_id": AVA,
        "demo_id": str(course.demos["proposal"]),
        "item_id": str(item_id),
        "action": "withdraw",
        "what": "set",
        "fmt": "csv",
        "spec": "ff0000-00ff00",
        "filename": "app.css",
        "count": "1",
        "account_id": "1",
        "course_id": COURSE,
    }


def walk_plan(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every route and method the app answers."""
    plan = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            plan.append((rule.endpoint, rule.rule, method))
    return sorted(plan)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name resolution beyond this machine (a registration URL is checked by DNS) and no
    background delivery racing the database comparisons."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "tests resolve loopback only")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(dispatch, "kick", lambda *_args: None)


def test_every_route_is_walked(app: Flask) -> None:
    """The tables above name every route: a new one is walked (or this fails)."""
    for endpoint, _rule, method in walk_plan(app):
        assert endpoint in (FORM if method == "POST" else (QUERY | dict.fromkeys(GET_ONLY))), (
            endpoint
        )


def _url(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: quote(values[m.group(1)], safe=""), rule)


def send(
    app: Flask,
    roles: Roles,
    role: str,
    endpoint: str,
    rule: str,
    method: str,
    path: dict[str, str],
    query: dict[str, str],
    fields: dict[str, Any],
) -> None:
    """One request as ``role`` (real handle and CSRF token unless ``path``/``fields`` say
    otherwise); never a 5xx, and a 4xx leaves every table as it was."""
    client = roles[role][0].client if role != "anonymous" else app.test_client()
    session = roles[role][1] if role != "anonymous" else roles["teacher"][1]
    url = _url(rule, {"handle": session.handle, **path})
    form: dict[str, Any] = {}
    if method == "POST" and role != "anonymous":
        form = (
            mastery_form(session.csrf)
            if endpoint == "mastery.settings_post"
            else {CSRF_FIELD: session.csrf, **VALID_FORM.get(endpoint, {})}
        )
    form |= fields
    before = database_dump(app)
    response = client.open(
        url, method=method, query_string=query, data=form or None, base_url=TOOL_BASE
    )
    status = response.status_code
    where = f"{role} {method} {url[:200]!r} query={str(query)[:300]} form={str(form)[:600]}"
    assert status < 500, f"{status} for {where}"
    if status >= 400:
        assert database_dump(app) == before, f"{status} changed the database: {where}"
    if endpoint == "session.sign_out" and status < 400:
        roles.forget(role)  # the session ended: the next request launches again


# Each of these once gave a 500 somewhere; every one goes into every slot of every route.
CORE = ["²", "١٢", "99999999999999999999", str(2**31), "-1", "1e308", "nan", "\x00", "x" * 3000]


@pytest.mark.parametrize("role", ROLES)
def test_each_known_hostile_value_in_every_slot_of_every_route(
    app: Flask, course: Course, roles: Roles, loopback_only: None, role: str
) -> None:
    """Deterministic: the value in every path segment but the handle, every query parameter
    and every form field the route reads, all at once. Routes outside /s/<handle>/ do not
    depend on the role and are walked once, anonymously."""
    with app.app_context(), session_scope(app) as db:
        item_id = db.scalars(select(WritebackItem.id)).first() or 1
    for value in CORE:
        for endpoint, rule, method in walk_plan(app):
            if role != "anonymous" and not rule.startswith("/s/"):
                continue
            path = dict.fromkeys(path_values(Course(0, {"proposal": 0}), item_id), value)
            query = dict.fromkeys(QUERY.get(endpoint, []), value)
            fields = dict.fromkeys(FORM.get(endpoint, []), value)
            send(app, roles, role, endpoint, rule, method, path, query, fields)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # the database evolves: a shrink would not replay
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
@pytest.mark.parametrize("role", ROLES)
def test_hostile_values_never_give_a_server_error_and_refusals_change_nothing(
    app: Flask, course: Course, roles: Roles, loopback_only: None, role: str, data: st.DataObject
) -> None:
    """Random: which segments, parameters and fields get a hostile value, plus an unknown
    parameter and field; everything else real."""
    with app.app_context(), session_scope(app) as db:
        item_id = db.scalars(select(WritebackItem.id)).first() or 1
    real_path = path_values(course, item_id)
    for endpoint, rule, method in walk_plan(app):
        path = dict(real_path)
        for name in re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule):
            if data.draw(st.integers(0, 3), label=f"{name} hostile?") == 0:
                path[name] = data.draw(hostile, label=name)
        query = {
            name: data.draw(hostile, label=f"?{name}")
            for name in QUERY.get(endpoint, [])
            if data.draw(st.booleans())
        }
        if data.draw(st.booleans()):
            query[data.draw(hostile, label="extra query")] = data.draw(hostile)
        fields: dict[str, Any] = {}
        if method == "POST":
            names = FORM[endpoint] + [data.draw(hostile, label="extra field")]
            for name in data.draw(
                st.lists(st.sampled_from(names), min_size=1, max_size=3),
                label=f"{endpoint} fields",
            ):
                fields[name] = data.draw(hostile, label=name)
        send(app, roles, role, endpoint, rule, method, path, query, fields)
