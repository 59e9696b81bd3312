"""The sandbox as an LTI 1.3 platform (docs/canvas.md §5, §7): login initiation, the
authorization endpoint's checks, id_token claims, key rotation, Dynamic Registration and
developer key JSON installs. Flask test client only; the tool's own JSON shapes come from
lti_app (tests may import both packages)."""

from __future__ import annotations

import re
import time
from html import unescape
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox.platform import context, install, keys, register
from canvas_sandbox.platform.launch import CLAIM
from canvas_sandbox.platform.store import add_developer_key, deploy, developer_keys
from canvas_sandbox.state import Account, Course, Enrollment, SandboxState, Section, User
from lti_app.lti.tool_configuration import developer_key_json, registration_request
from tests.http_calls import send_kwargs

BASE = "http://localhost:8100"
TOOL = "http://127.0.0.1:5000"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
LEARNER = LIS + "membership#Learner"
TA = LIS + "membership/Instructor#TeachingAssistant"
INST_INSTRUCTOR = LIS + "institution/person#Instructor"
INST_STUDENT = LIS + "institution/person#Student"
INST_ADMIN = LIS + "institution/person#Administrator"
SYSTEM_USER = LIS + "system/person#User"
ADMIN, TEACHER, TA_USER, STUDENT, OTHER_STUDENT = 1, 2, 3, 4, 5
COURSE = 101


def tiny_district() -> SandboxState:
    """One account, one course, one of each role (plus a student of another course)."""
    s = SandboxState()
    s.accounts[1] = Account(1, "Riverside USD", lti_guid="riverside-guid:canvas-lms")
    people = [
        (ADMIN, "Avery Admin", "Admin, Avery", [1]),
        (TEACHER, "Rosa Rivera", "Rivera, Rosa", []),
        (TA_USER, "Tam Ashe", "Ashe, Tam", []),
        (STUDENT, "Sam Student", "Student, Sam", []),
        (OTHER_STUDENT, "Olga Other", "Other, Olga", []),
    ]
    for uid, name, sortable, admin_of in people:
        s.users[uid] = User(
            uid,
            name,
            sortable,
            name.split()[0],
            lti_id=f"0000000{uid}-aaaa-4bbb-8ccc-dddddddddddd",
            login_id=f"user{uid}",
            email=f"user{uid}@riverside.example",
            account_admin_of=admin_of,
        )
    s.courses[COURSE] = Course(COURSE, 1, "ELA 7 – Period 2", "ELA7-P2", "4dde05e8ca1973bcca9bffc1")
    s.courses[102] = Course(102, 1, "Math 7 – Period 4", "MATH7-P4", "9f3c05e8ca1973bcca9bffc2")
    s.sections[11] = Section(11, COURSE, "Period 2")
    s.sections[12] = Section(12, 102, "Period 4")
    for eid, (uid, cid, sec, kind) in enumerate(
        [
            (TEACHER, COURSE, 11, "TeacherEnrollment"),
            (TA_USER, COURSE, 11, "TaEnrollment"),
            (STUDENT, COURSE, 11, "StudentEnrollment"),
            (OTHER_STUDENT, 102, 12, "StudentEnrollment"),
        ],
        start=1,
    ):
        s.enrollments[eid] = Enrollment(eid, uid, cid, sec, kind)  # type: ignore[arg-type]
    return s


def make_app(state: SandboxState) -> Flask:
    app = Flask("canvas_sandbox_test")
    app.extensions["sandbox_state"] = state
    app.extensions["sandbox_config"] = SimpleNamespace(base_url=BASE)
    register(app)
    return app


def install_tool(state: SandboxState, doc: dict[str, Any] | None = None) -> Any:
    key = add_developer_key(
        state, **install.key_values_from_config(doc or developer_key_json(TOOL))
    )
    deploy(state, key, 1)
    return key


@pytest.fixture
def state() -> SandboxState:
    return tiny_district()


@pytest.fixture
def app(state: SandboxState) -> Flask:
    return make_app(state)


@pytest.fixture
def tool(state: SandboxState) -> Any:
    return install_tool(state)


def client_as(app: Flask, user_id: int | None) -> FlaskClient:
    client = app.test_client()
    if user_id is not None:
        response = client.post("/users/switch", data={"user_id": str(user_id), "next": "/"})
        assert response.status_code == 303
    return client


def hidden_fields(html: str, form_id: str | None = None) -> dict[str, str]:
    if form_id is not None:
        match = re.search(rf'<form id="{form_id}".*?</form>', html, re.S)
        assert match, f"no form {form_id}"
        html = match.group(0)
    return {
        unescape(n): unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def login_fields(client: FlaskClient, tool_id: int, course_id: int = COURSE) -> dict[str, str]:
    response = client.get(f"/courses/{course_id}/external_tools/{tool_id}")
    assert response.status_code == 200, response.text
    return hidden_fields(response.text, "tool_form")


def auth_params(login: dict[str, str], **changes: str | None) -> dict[str, str]:
    """The tool's authorization request (what pylti1p3 builds from the login)."""
    params: dict[str, str | None] = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": TOOL + "/lti/launch",
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "state": "state-" + "s" * 20,
        "nonce": "nonce-" + "n" * 20,
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def launch_claims(client: FlaskClient, tool: Any, course_id: int = COURSE) -> dict[str, Any]:
    login = login_fields(client, tool.id, course_id)
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login))
    assert response.status_code == 200, response.text
    fields = hidden_fields(response.text)
    assert set(fields) == {"id_token", "state", "lti_storage_target"}
    return verify(client, fields["id_token"], tool.client_id)


def verify(client: FlaskClient, id_token: str, client_id: str) -> dict[str, Any]:
    """Verify as a tool would: the kid from the header, the key from the JWKS."""
    kid = jwt.get_unverified_header(id_token)["kid"]
    jwks = client.get("/api/lti/security/jwks").get_json()
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        id_token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=client_id, issuer=BASE
    )
    return claims


# -- login initiation (docs/canvas.md §7.2) ---------------------------------------------------
def test_tool_tab_posts_every_canvas_login_parameter_into_the_tool_frame(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    client = client_as(app, TEACHER)
    page = client.get(f"/courses/{COURSE}/external_tools/{tool.id}").text
    form = re.search(r'<form id="tool_form" method="post" action="([^"]+)" target="([^"]+)"', page)
    assert form is not None
    assert form.groups() == (TOOL + "/lti/login", "tool_content")
    assert 'name="post_message_forwarding"' in page
    assert 'name="tool_content"' in page
    login = hidden_fields(page, "tool_form")
    assert set(login) == {
        "iss",
        "login_hint",
        "client_id",
        "deployment_id",
        "target_link_uri",
        "lti_message_hint",
        "canvas_environment",
        "canvas_region",
        "lti_storage_target",
    }
    assert login["iss"] == BASE
    assert login["client_id"] == tool.client_id == "10000000000001"
    assert re.fullmatch(r"12:[0-9a-f]{40}", login["deployment_id"])
    assert login["target_link_uri"] == TOOL + "/lti/launch?placement=course"
    assert login["lti_storage_target"] == "post_message_forwarding"
    assert login["canvas_environment"] == "prod"
    assert re.fullmatch(r"[0-9a-f]{40}", login["login_hint"])
    assert login["login_hint"] != str(TEACHER)  # opaque, not the Canvas id
    # The message hint is a short-lived JWT the platform signed.
    header = jwt.get_unverified_header(login["lti_message_hint"])
    body = jwt.decode(login["lti_message_hint"], options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert 0 < body["exp"] - time.time() <= 300


def test_deployment_and_client_ids_are_deterministic_for_a_fresh_state() -> None:
    first, second = tiny_district(), tiny_district()
    a, b = install_tool(first), install_tool(second)
    assert a.client_id == b.client_id
    assert deploy(first, a, 1).deployment_id == deploy(second, b, 1).deployment_id
    assert deploy(first, a, 1) is deploy(first, a, 1)  # idempotent


def test_student_of_another_course_sees_neither_the_course_nor_its_tool(
    app: Flask, tool: Any
) -> None:
    client = client_as(app, OTHER_STUDENT)
    assert client.get(f"/courses/{COURSE}").status_code == 401
    assert client.get(f"/courses/{COURSE}/external_tools/{tool.id}").status_code == 401
    assert client_as(app, None).get(f"/courses/{COURSE}").status_code == 401


# -- the authorization endpoint (docs/canvas.md §7.3) ------------------------------------------
@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"scope": "openid profile"}, "invalid_request"),
        ({"response_type": "code"}, "unsupported_response_type"),
        ({"response_mode": "query"}, "invalid_request"),
        ({"prompt": None}, "invalid_request"),
        ({"state": None}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"login_hint": "0" * 40}, "invalid_request"),
        ({"lti_message_hint": None}, "invalid_request"),
        ({"lti_message_hint": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}, "invalid_request"),
    ],
)
def test_authorize_refuses_and_posts_the_error_back(
    app: Flask, tool: Any, change: dict[str, str | None], error: str
) -> None:
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login, **change))
    assert response.status_code == 400
    fields = hidden_fields(response.text)
    assert fields["error"] == error
    assert "id_token" not in fields
    assert f'action="{TOOL}/lti/launch"' in response.text


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "10000000000099"},
        {"redirect_uri": TOOL + "/lti/launch/"},
        {"redirect_uri": "https://evil.example/lti/launch"},
        {"redirect_uri": None},
    ],
)
def test_authorize_never_posts_to_an_unverified_redirect_uri(
    app: Flask, tool: Any, change: dict[str, str | None]
) -> None:
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login, **change))
    assert response.status_code == 400
    assert "<form" not in response.text
    assert "id_token" not in response.text


def test_authorize_refuses_a_tampered_or_expired_message_hint(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    body = jwt.decode(login["lti_message_hint"], options={"verify_signature": False})
    forged = jwt.encode(
        {**body, "user_id": ADMIN}, "not-the-platform-secret-" + "x" * 16, algorithm="HS256"
    )
    secret = context.platform_secret(state)
    expired = jwt.encode({**body, "exp": int(time.time()) - 1}, secret, algorithm="HS256")
    for hint in (forged, expired):
        params = auth_params(login, lti_message_hint=hint)
        response = client.get("/api/lti/authorize_redirect", query_string=params)
        assert response.status_code == 400
        assert hidden_fields(response.text)["error"] == "invalid_request"


def test_a_message_hint_is_bound_to_its_developer_key(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    other = install_tool(state)
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    # The other key's redirect URIs are the same tool's, so only the hint can tell them apart.
    params = auth_params(login, client_id=other.client_id)
    response = client.get("/api/lti/authorize_redirect", query_string=params)
    assert response.status_code == 400
    assert hidden_fields(response.text)["error"] == "invalid_request"
    assert "id_token" not in response.text


def test_authorize_needs_the_launching_user_session(app: Flask, tool: Any) -> None:
    login = login_fields(client_as(app, TEACHER), tool.id)
    for client in (client_as(app, None), client_as(app, STUDENT)):
        response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login))
        assert response.status_code == 400
        assert hidden_fields(response.text)["error"] == "login_required"


def test_authorize_refuses_a_disabled_key(app: Flask, tool: Any) -> None:
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    tool.enabled = False
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login))
    assert response.status_code == 400
    assert "id_token" not in response.text


def test_authorize_accepts_post_and_echoes_state(app: Flask, tool: Any) -> None:
    client = client_as(app, TEACHER)
    login = login_fields(client, tool.id)
    response = client.post("/api/lti/authorize_redirect", data=auth_params(login))
    assert response.status_code == 200
    fields = hidden_fields(response.text)
    assert fields["state"] == "state-" + "s" * 20
    assert fields["lti_storage_target"] == "post_message_forwarding"
    assert f'action="{TOOL}/lti/launch"' in response.text


# -- id_token claims (docs/canvas.md §7.4) ----------------------------------------------------
def test_teacher_launch_claims_are_canvas_shaped(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    claims = launch_claims(client_as(app, TEACHER), tool)
    teacher, course = state.users[TEACHER], state.courses[COURSE]
    assert claims["aud"] == claims["azp"] == tool.client_id
    assert claims["sub"] == teacher.lti_id
    assert claims["nonce"] == "nonce-" + "n" * 20
    assert claims["exp"] - claims["iat"] == 3600
    assert claims[CLAIM + "deployment_id"] == state.table("lti_deployments")[12].deployment_id
    assert claims[CLAIM + "message_type"] == "LtiResourceLinkRequest"
    assert claims[CLAIM + "version"] == "1.3.0"
    assert claims[CLAIM + "target_link_uri"] == TOOL + "/lti/launch?placement=course"
    assert claims[CLAIM + "resource_link"]["id"]
    assert claims[CLAIM + "context"] == {
        "id": course.lti_context_id,
        "label": "ELA7-P2",
        "title": "ELA 7 – Period 2",
        "type": [LIS + "course#CourseOffering"],
    }
    assert claims[CLAIM + "roles"] == [INSTRUCTOR, INST_INSTRUCTOR, SYSTEM_USER]
    assert claims[CLAIM + "custom"] == {
        "canvas_course_id": str(COURSE),
        "canvas_user_id": str(TEACHER),
        "canvas_api_base": BASE,
        "canvas_roles": "TeacherEnrollment",
        "canvas_user_time_zone": "America/Los_Angeles",
        # The course's account; a teacher is no root account admin.
        "canvas_account_id": str(course.account_id),
        "canvas_root_account_admin": False,  # a JSON boolean, as Canvas's expander gives it
    }
    assert claims["https://www.instructure.com/placement"] == "course_navigation"
    assert claims[CLAIM + "tool_platform"] == {
        "guid": "riverside-guid:canvas-lms",
        "name": "Riverside USD",
        "version": "cloud",
        "product_family_code": "canvas",
    }
    presentation = claims[CLAIM + "launch_presentation"]
    assert presentation["document_target"] == "iframe"
    assert presentation["return_url"].startswith(f"{BASE}/courses/{COURSE}/external_content/")
    assert claims["locale"] == "en"
    # privacy_level "public": name, email and picture
    assert (claims["name"], claims["given_name"], claims["family_name"]) == (
        "Rosa Rivera",
        "Rosa",
        "Rivera",
    )
    assert claims["email"] == teacher.email
    assert client_as(app, None).get(urlsplit(claims["picture"]).path).status_code == 200


def test_the_launch_carries_the_users_language_as_canvas_does(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    """Canvas sends I18n.locale, the user's own language setting, in launch_presentation and
    as the top-level locale claim (Lti::Messages::JwtMessage); without one, its default."""
    state.users[STUDENT].locale = "es"
    claims = launch_claims(client_as(app, STUDENT), tool)
    assert claims[CLAIM + "launch_presentation"]["locale"] == "es"
    assert claims["locale"] == "es"
    other = launch_claims(client_as(app, TEACHER), tool)
    assert other[CLAIM + "launch_presentation"]["locale"] == other["locale"] == "en"
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitems"] == f"{BASE}/api/lti/courses/{COURSE}/line_items"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in ags["scope"]
    nrps = claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert nrps["context_memberships_url"] == f"{BASE}/api/lti/courses/{COURSE}/names_and_roles"


def test_student_and_ta_roles(app: Flask, tool: Any) -> None:
    student = launch_claims(client_as(app, STUDENT), tool)
    assert student[CLAIM + "roles"] == [LEARNER, INST_STUDENT, SYSTEM_USER]
    assert student[CLAIM + "custom"]["canvas_roles"] == "StudentEnrollment"
    ta = launch_claims(client_as(app, TA_USER), tool)
    assert ta[CLAIM + "roles"] == [INSTRUCTOR, TA, INST_INSTRUCTOR, SYSTEM_USER]
    assert ta[CLAIM + "custom"]["canvas_roles"] == "TaEnrollment"


def test_custom_fields_substitute_known_variables_and_return_unknown_ones(
    app: Flask, state: SandboxState
) -> None:
    doc = developer_key_json(TOOL)
    doc["custom_fields"] = {
        "domain": "$Canvas.api.domain",
        "account": "$Canvas.account.id",
        "zone": "$Person.address.timezone",
        "made_up": "$Canvas.not.a.variable",
        "plain": "hello",
    }
    doc["extensions"][0]["privacy_level"] = "anonymous"
    placement = doc["extensions"][0]["settings"]["placements"][0]
    placement["custom_fields"] = {"plain": "placement wins"}
    tool = install_tool(state, doc)
    claims = launch_claims(client_as(app, STUDENT), tool)
    assert claims[CLAIM + "custom"] == {
        "domain": "localhost:8100",
        "account": "1",
        "zone": "America/Los_Angeles",
        "made_up": "$Canvas.not.a.variable",
        "plain": "placement wins",
    }
    # anonymous: sub only, no name or email
    for name in ("name", "given_name", "family_name", "email", "picture"):
        assert name not in claims
    assert claims["sub"] == state.users[STUDENT].lti_id


def test_admin_account_navigation_launch_has_no_course_context(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    client = client_as(app, ADMIN)
    page = client.get(f"/accounts/1/external_tools/{tool.id}")
    assert page.status_code == 200
    login = hidden_fields(page.text, "tool_form")
    assert login["target_link_uri"] == TOOL + "/lti/launch?placement=account"
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login))
    claims = verify(client, hidden_fields(response.text)["id_token"], tool.client_id)
    assert CLAIM + "context" not in claims
    assert INST_ADMIN in claims[CLAIM + "roles"]
    assert claims["https://www.instructure.com/placement"] == "account_navigation"
    assert claims[CLAIM + "custom"]["canvas_course_id"] == "$Canvas.course.id"
    # teachers and students get no account navigation
    assert client_as(app, TEACHER).get(f"/accounts/1/external_tools/{tool.id}").status_code == 401


# -- signing keys and rotation ------------------------------------------------------------------
def test_rotation_signs_with_the_new_key_and_keeps_the_old_one_published(
    app: Flask, tool: Any, state: SandboxState
) -> None:
    client = client_as(app, TEACHER)
    before = launch_claims(client, tool)
    old_kid = keys.current(state).kid
    old_token = keys.sign(state, before)
    admin = client_as(app, ADMIN)
    page = admin.get("/accounts/1/developer_keys").text
    token = hidden_fields(page)["authenticity_token"]
    assert admin.post("/accounts/1/security/rotate", data={}).status_code == 403  # CSRF
    assert (
        admin.post("/accounts/1/security/rotate", data={"authenticity_token": token}).status_code
        == 303
    )
    new_kid = keys.current(state).kid
    assert new_kid != old_kid
    published = [k["kid"] for k in client.get("/api/lti/security/jwks").get_json()["keys"]]
    assert published == [new_kid, old_kid]
    login = login_fields(client, tool.id)
    response = client.get("/api/lti/authorize_redirect", query_string=auth_params(login))
    assert jwt.get_unverified_header(hidden_fields(response.text)["id_token"])["kid"] == new_kid
    # a token signed just before the rotation still verifies against the published set
    assert verify(client, old_token, tool.client_id)["sub"] == before["sub"]
    jwk = client.get("/api/lti/security/jwks").get_json()["keys"][0]
    assert set(jwk) == {"kty", "e", "n", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")


def test_teachers_cannot_rotate_keys(app: Flask) -> None:
    client = client_as(app, TEACHER)
    assert client.post("/accounts/1/security/rotate").status_code == 401


# -- Dynamic Registration (docs/canvas.md §5) ---------------------------------------------------
def registration_frame(app: Flask) -> tuple[FlaskClient, str, str]:
    admin = client_as(app, ADMIN)
    page = admin.get(
        "/accounts/1/developer_keys/register",
        query_string={"registration_url": TOOL + "/lti/register"},
    ).text
    src = unescape(re.search(r'id="registration_frame"[^>]*src="([^"]+)"', page, re.S).group(1))  # type: ignore[union-attr]
    query = {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}
    assert src.startswith(TOOL + "/lti/register?")
    assert query["openid_configuration"] == BASE + "/api/lti/security/openid-configuration"
    return admin, query["openid_configuration"], query["registration_token"]


def test_openid_configuration_needs_the_registration_token(app: Flask) -> None:
    client, url, token = registration_frame(app)
    path = urlsplit(url).path
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["issuer"] == BASE
    assert doc["authorization_endpoint"] == BASE + "/api/lti/authorize_redirect"
    assert doc["registration_endpoint"] == BASE + "/api/lti/registrations"
    assert doc["jwks_uri"] == BASE + "/api/lti/security/jwks"
    assert doc["token_endpoint"] == BASE + "/login/oauth2/token"
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    platform_config = doc["https://purl.imsglobal.org/spec/lti-platform-configuration"]
    assert platform_config["product_family_code"] == "canvas"
    assert platform_config["https://canvas.instructure.com/lti/account_name"] == "Riverside USD"


def test_registration_stores_the_tool_and_answers_with_client_and_deployment_ids(
    app: Flask, state: SandboxState
) -> None:
    client, url, token = registration_frame(app)
    scopes = client.get(
        urlsplit(url).path, headers={"Authorization": f"Bearer {token}"}
    ).get_json()["scopes_supported"]
    body = registration_request(TOOL, scopes)
    assert client.post("/api/lti/registrations", json=body).status_code == 401
    response = client.post(
        "/api/lti/registrations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    answer = response.get_json()
    (key,) = developer_keys(state).values()
    assert answer["client_id"] == key.client_id
    tool_config = answer["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert re.fullmatch(r"\d+:[0-9a-f]{40}", tool_config["deployment_id"])
    assert answer["redirect_uris"] == [TOOL + "/lti/launch"]
    assert key.installed_via == "dynamic_registration"
    assert key.privacy_level == "public"
    assert {p.placement for p in key.placements} == {"course_navigation", "account_navigation"}
    assert key.placement("course_navigation").text == "Mastery Pathways"  # type: ignore[union-attr]
    assert key.custom_fields["canvas_course_id"] == "$Canvas.course.id"
    # The token is single-use.
    again = client.post(
        "/api/lti/registrations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert again.status_code == 401
    used = client.get(urlsplit(url).path, headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 401
    # The new tool appears as a course tab and launches.
    claims = launch_claims(client_as(app, TEACHER), key)
    assert claims[CLAIM + "deployment_id"] == tool_config["deployment_id"]


def test_registration_refuses_an_invalid_body(app: Flask, state: SandboxState) -> None:
    client, _url, token = registration_frame(app)
    body = registration_request(TOOL, None)
    body["response_types"] = ["code"]
    response = client.post(
        "/api/lti/registrations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422
    assert "response_types" in response.get_json()["errors"][0]["message"]
    assert developer_keys(state) == {}


def test_registration_page_needs_an_admin_and_a_url(app: Flask) -> None:
    assert client_as(app, TEACHER).get("/accounts/1/developer_keys/register").status_code == 401
    page = client_as(app, ADMIN).get(
        "/accounts/1/developer_keys/register", query_string={"registration_url": "javascript:x"}
    )
    assert "registration_frame" not in page.text


# -- developer key JSON install (docs/canvas.md §7.6) ---------------------------------------------
@responses.activate
def test_install_from_config_url(app: Flask, state: SandboxState) -> None:
    responses.get(TOOL + "/lti/config.json", json=developer_key_json(TOOL))
    admin = client_as(app, ADMIN)
    token = hidden_fields(admin.get("/accounts/1/developer_keys").text)["authenticity_token"]
    response = admin.post(
        "/accounts/1/developer_keys/install",
        data={"config_url": TOOL + "/lti/config.json", "authenticity_token": token},
    )
    assert response.status_code == 303
    assert "Installed" in unescape(response.headers["Location"])
    (key,) = developer_keys(state).values()
    assert key.installed_via == "config_url"
    assert key.oidc_initiation_url == TOOL + "/lti/login"
    assert key.redirect_uris == [
        TOOL + "/lti/launch",
        TOOL + "/lti/launch?placement=course",
        TOOL + "/lti/launch?placement=account",
    ]
    assert key.public_jwk_url == TOOL + "/.well-known/jwks.json"
    assert key.placement("course_navigation").visibility == "members"  # type: ignore[union-attr]
    listing = admin.get("/accounts/1/developer_keys").text
    assert key.client_id in listing
    # the fetch is bounded in time
    assert send_kwargs(responses.calls[0].request)["timeout"] == install.FETCH_TIMEOUT


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("title"), "title is required"),
        (lambda d: d.pop("oidc_initiation_url"), "oidc_initiation_url is required"),
        (lambda d: d.update(public_jwk={"kty": "RSA"}), "exactly one of public_jwk"),
        (lambda d: d["extensions"][0].update(privacy_level="everyone"), "privacy_level"),
        (lambda d: d.update(scopes=["url:GET|/api/v1/courses"]), "unknown LTI scope"),
    ],
)
def test_config_json_field_rules(mutate: Any, message: str) -> None:
    doc = developer_key_json(TOOL)
    mutate(doc)
    with pytest.raises(install.InstallError, match=re.escape(message)):
        install.key_values_from_config(doc)


@responses.activate
def test_install_reports_an_unreachable_tool(app: Flask, state: SandboxState) -> None:
    # a redirect is not followed (it could point anywhere); a 404 is reported
    responses.get(
        TOOL + "/lti/config.json", status=302, headers={"Location": TOOL + "/elsewhere.json"}
    )
    responses.get(TOOL + "/elsewhere.json", json=developer_key_json(TOOL))
    admin = client_as(app, ADMIN)
    token = hidden_fields(admin.get("/accounts/1/developer_keys").text)["authenticity_token"]
    response = admin.post(
        "/accounts/1/developer_keys/install",
        data={"config_url": TOOL + "/lti/config.json", "authenticity_token": token},
    )
    assert "error=Could+not+fetch" in response.headers["Location"]
    assert developer_keys(state) == {}


def test_platform_storage_frame_is_served(app: Flask) -> None:
    page = client_as(app, None).get("/post_message_forwarding").text
    assert "post_message_forwarding.js" in page
    script = client_as(app, None).get("/sandbox_static/post_message_forwarding.js").text
    assert "event.source.postMessage(reply, event.origin)" in script
    assert "lti.capabilities" in script
