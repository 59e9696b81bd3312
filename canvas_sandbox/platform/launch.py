"""LTI 1.3 launches as Canvas makes them (docs/canvas.md §7.2-7.4).

Step 1 (login initiation): the parameters Canvas sends to the tool's ``oidc_initiation_url``,
with ``lti_message_hint`` a short-lived JWT signed by the platform. Step 2 (the tool's
authorization request): every check Canvas makes, then the RS256 ``id_token``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from canvas_sandbox.platform import keys
from canvas_sandbox.platform.store import (
    Deployment,
    DeveloperKey,
    Placement,
    deployment_for,
    key_by_client_id,
)
from canvas_sandbox.state import Course, SandboxState, User

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = LIS + "membership#"
INSTRUCTOR = MEMBERSHIP + "Instructor"
LEARNER = MEMBERSHIP + "Learner"
MENTOR = MEMBERSHIP + "Mentor"
TA_SUBROLE = LIS + "membership/Instructor#TeachingAssistant"
INSTITUTION_INSTRUCTOR = LIS + "institution/person#Instructor"
INSTITUTION_STUDENT = LIS + "institution/person#Student"
INSTITUTION_ADMIN = LIS + "institution/person#Administrator"
SYSTEM_USER = LIS + "system/person#User"
COURSE_OFFERING = LIS + "course#CourseOffering"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
PLACEMENT_CLAIM = "https://www.instructure.com/placement"
AGS_SCOPE_PREFIX = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
STORAGE_TARGET = "post_message_forwarding"
HINT_TTL = 300  # seconds a login initiation stays answerable
HINT_AUDIENCE = "canvas-sandbox:lti_message_hint"
ENROLLMENT_ROLES = {
    "TeacherEnrollment": [INSTRUCTOR],
    "TaEnrollment": [INSTRUCTOR, TA_SUBROLE],
    "StudentEnrollment": [LEARNER],
    # Observers: context Mentor only (User#roles has no institution role for observing).
    "ObserverEnrollment": [MENTOR],
}


@dataclass(frozen=True)
class Platform:
    """Who the sandbox is, as tools see it."""

    base_url: str
    issuer: str
    secret: str

    @property
    def domain(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/api/lti/authorize_redirect"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/api/lti/security/jwks"

    @property
    def token_url(self) -> str:
        return self.base_url + "/login/oauth2/token"


@dataclass(frozen=True)
class LaunchContext:
    """Where a launch happens: a course (course_navigation) or an account (account_navigation)."""

    placement: str
    account_id: int
    course: Course | None = None


class AuthorizeError(Exception):
    """The authorization request is refused. ``trusted_redirect`` says whether the error may
    be form-posted back to the tool (only once client_id and redirect_uri checked out)."""

    def __init__(self, error: str, description: str, trusted_redirect: bool) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.trusted_redirect = trusted_redirect


def opaque_id(*parts: object) -> str:
    """Canvas's opaque identifiers (login_hint, context ids): a sha1 hex of the record."""
    raw = ":".join(str(p) for p in parts).encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def login_hint_for(user: User) -> str:
    return opaque_id("user", user.id, user.lti_id)


def target_link_uri(key: DeveloperKey, placement: Placement) -> str:
    return placement.target_link_uri or key.target_link_uri


# -- step 1: login initiation ------------------------------------------------------------------
def login_initiation(
    platform: Platform,
    key: DeveloperKey,
    deployment: Deployment,
    user: User,
    where: LaunchContext,
) -> dict[str, str]:
    """The form Canvas posts to the tool's OIDC initiation URL (docs/canvas.md §7.2)."""
    placement = key.placement(where.placement)
    if placement is None:
        raise ValueError(f"{key.name} has no {where.placement} placement")
    target = target_link_uri(key, placement)
    now = int(time.time())
    hint_claims = {
        "aud": HINT_AUDIENCE,
        "iat": now,
        "exp": now + HINT_TTL,
        "jti": secrets.token_urlsafe(12),
        "user_id": user.id,
        "client_id": key.client_id,
        "deployment_id": deployment.deployment_id,
        "placement": where.placement,
        "account_id": where.account_id,
        "course_id": where.course.id if where.course else None,
        "target_link_uri": target,
        "login_hint": login_hint_for(user),
    }
    return {
        "iss": platform.issuer,
        "login_hint": login_hint_for(user),
        "client_id": key.client_id,
        "deployment_id": deployment.deployment_id,
        "target_link_uri": target,
        "lti_message_hint": jwt.encode(hint_claims, platform.secret, algorithm="HS256"),
        "canvas_environment": "prod",
        "canvas_region": "not_configured",
        "lti_storage_target": STORAGE_TARGET,
    }


def read_message_hint(platform: Platform, hint: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            hint,
            platform.secret,
            algorithms=["HS256"],
            audience=HINT_AUDIENCE,
            options={"require": ["exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthorizeError("invalid_request", "lti_message_hint expired", True) from exc
    except jwt.PyJWTError as exc:
        raise AuthorizeError("invalid_request", "lti_message_hint invalid", True) from exc
    return claims


# -- step 2: the authorization request ---------------------------------------------------------
REQUIRED_FIXED = {
    "scope": "openid",
    "response_type": "id_token",
    "response_mode": "form_post",
    "prompt": "none",
}


def check_client(state: SandboxState, params: dict[str, str]) -> DeveloperKey:
    """client_id and the exact redirect_uri first: until both check out, nothing may be sent
    back to the redirect_uri."""
    key = key_by_client_id(state, params.get("client_id", ""))
    if key is None or not key.enabled:
        raise AuthorizeError("invalid_client", "unknown or disabled client_id", False)
    if params.get("redirect_uri", "") not in key.redirect_uris:
        raise AuthorizeError(
            "invalid_request", "redirect_uri does not match the developer key", False
        )
    return key


@dataclass(frozen=True)
class Authorized:
    redirect_uri: str
    id_token: str
    state: str
    claims: dict[str, Any]


def authorize(
    platform: Platform, state: SandboxState, params: dict[str, str], user: User | None
) -> Authorized:
    """Every check Canvas makes on the tool's authorization request, then the id_token."""
    key = check_client(state, params)
    for name, expected in REQUIRED_FIXED.items():
        if params.get(name) != expected:
            code = "unsupported_response_type" if name == "response_type" else "invalid_request"
            raise AuthorizeError(code, f"{name} must be {expected}", True)
    for name in ("state", "nonce", "login_hint", "lti_message_hint"):
        if not params.get(name):
            raise AuthorizeError("invalid_request", f"{name} is missing", True)
    hint = read_message_hint(platform, params["lti_message_hint"])
    if hint.get("client_id") != key.client_id:
        raise AuthorizeError("invalid_request", "lti_message_hint is for another client", True)
    if hint.get("login_hint") != params["login_hint"]:
        raise AuthorizeError("invalid_request", "login_hint does not match", True)
    if user is None:
        raise AuthorizeError("login_required", "Must have an active user session", True)
    if hint.get("user_id") != user.id:
        raise AuthorizeError("login_required", "the session user is not the launching user", True)
    course = state.courses.get(hint["course_id"]) if hint.get("course_id") else None
    where = LaunchContext(str(hint["placement"]), int(hint["account_id"]), course)
    deployment = deployment_for(state, key, where.account_id)
    if deployment is None or deployment.deployment_id != hint.get("deployment_id"):
        raise AuthorizeError("invalid_request", "the tool is no longer installed here", True)
    claims = id_token_claims(platform, state, key, deployment, user, where, params["nonce"])
    return Authorized(params["redirect_uri"], keys.sign(state, claims), params["state"], claims)


# -- the id_token ------------------------------------------------------------------------------
def _split_name(user: User) -> tuple[str, str]:
    family, _, given = user.sortable_name.partition(",")
    if given.strip():
        return given.strip(), family.strip()
    first, _, last = user.name.rpartition(" ")
    return (first or user.name), last


def institution_roles(state: SandboxState, user: User) -> list[str]:
    with state.lock:
        types = {
            e.type
            for e in state.enrollments.values()
            if e.user_id == user.id and e.workflow_state == "active"
        }
    roles = []
    if types & {"TeacherEnrollment", "TaEnrollment"}:
        roles.append(INSTITUTION_INSTRUCTOR)
    if "StudentEnrollment" in types:
        roles.append(INSTITUTION_STUDENT)
    if user.account_admin_of:
        roles.append(INSTITUTION_ADMIN)
    return roles


def lti_roles(state: SandboxState, user: User, where: LaunchContext) -> list[str]:
    """LIS v2 URIs as Canvas's ``$com.instructure.User.allRoles``: context roles for the
    course, institution roles from everything the user is, and system User for everyone."""
    roles: list[str] = []
    if where.course is not None:
        for enrollment_type in sorted(state.course_roles(where.course.id, user.id)):
            for role in ENROLLMENT_ROLES.get(enrollment_type, []):
                if role not in roles:
                    roles.append(role)
    return [*roles, *institution_roles(state, user), SYSTEM_USER]


SANDBOX_TIME_ZONE = "America/Los_Angeles"


def substitutions(
    platform: Platform, state: SandboxState, user: User, where: LaunchContext
) -> dict[str, str | bool]:
    """The variable expansions available in this launch; anything else goes back literally."""
    account = state.accounts[where.account_id]
    root_id = _root(state, where.account_id)
    given, family = _split_name(user)
    values: dict[str, str | bool] = {
        "$Canvas.api.baseUrl": platform.base_url,
        "$Canvas.api.domain": platform.domain,
        "$Canvas.user.id": str(user.id),
        "$Canvas.user.loginId": user.login_id,
        # lib/lti/variable_expander.rb, register_expansion "Canvas.user.isRootAccountAdmin":
        # @current_user.roles(@root_account).include?("root_admin"), a boolean, not a string.
        "$Canvas.user.isRootAccountAdmin": root_id in user.account_admin_of,
        "$Canvas.account.id": str(account.id),
        "$Canvas.account.name": account.name,
        "$Canvas.root_account.id": str(root_id),
        "$Canvas.rootAccount.id": str(root_id),
        "$Person.name.full": user.name,
        "$Person.name.given": given,
        "$Person.name.family": family,
        "$Person.email.primary": user.email,
        # canvas-lms VariableExpander: Time.zone's name, the user's zone or else the account's
        # (the sandbox's users keep the account's, as its course JSON does).
        "$Person.address.timezone": SANDBOX_TIME_ZONE,
        "$User.id": str(user.id),
        "$ToolConsumerInstance.guid": state.accounts[root_id].lti_guid,
    }
    if where.course is not None:
        course = where.course
        enrollments = [
            e
            for e in state.enrollments_in(course.id)
            if e.user_id == user.id and e.workflow_state == "active"
        ]
        values.update(
            {
                "$Canvas.course.id": str(course.id),
                "$Canvas.course.name": course.name,
                "$Canvas.course.workflowState": course.workflow_state,
                "$Canvas.membership.roles": ",".join(sorted({e.type for e in enrollments})),
                "$Canvas.course.sectionIds": ",".join(
                    str(i) for i in sorted({e.section_id for e in enrollments})
                ),
                "$Context.id": course.lti_context_id,
                "$Context.title": course.name,
                "$Context.label": course.course_code,
            }
        )
        if not enrollments:
            del values["$Canvas.membership.roles"]  # admins viewing a course: not available
    return values


def expand_custom(
    fields: dict[str, str], available: dict[str, str | bool]
) -> dict[str, str | bool]:
    """Each custom field's value expanded when it names an available variable, else as it is
    (Canvas sends unknown variables back literally)."""
    return {name: available.get(value, value) for name, value in fields.items()}


def id_token_claims(
    platform: Platform,
    state: SandboxState,
    key: DeveloperKey,
    deployment: Deployment,
    user: User,
    where: LaunchContext,
    nonce: str,
) -> dict[str, Any]:
    placement = key.placement(where.placement)
    if placement is None:
        raise AuthorizeError("invalid_request", "placement not configured", True)
    now = int(time.time())
    account = state.accounts[where.account_id]
    root = state.accounts[_root(state, where.account_id)]
    given, family = _split_name(user)
    course = where.course
    return_url = (
        f"{platform.base_url}/courses/{course.id}/external_content/success/external_tool_redirect"
        if course
        else f"{platform.base_url}/accounts/{account.id}/external_content/success/"
        "external_tool_redirect"
    )
    claims: dict[str, Any] = {
        "iss": platform.issuer,
        "aud": key.client_id,
        "azp": key.client_id,
        "sub": user.lti_id,
        "exp": now + 3600,
        "iat": now,
        "nonce": nonce,
        CLAIM + "deployment_id": deployment.deployment_id,
        CLAIM + "message_type": placement.message_type,
        CLAIM + "version": "1.3.0",
        CLAIM + "target_link_uri": target_link_uri(key, placement),
        CLAIM + "resource_link": {
            "id": course.lti_context_id if course else opaque_id("account", account.id),
            "title": placement.text,
            "description": None,
        },
        CLAIM + "roles": lti_roles(state, user, where),
        CLAIM + "tool_platform": {
            "guid": root.lti_guid,
            "name": root.name,
            "version": "cloud",
            "product_family_code": "canvas",
        },
        # Canvas sends I18n.locale, the user's language (Lti::Messages::JwtMessage
        # add_launch_presentation_claims! and add_i18n_claims!).
        CLAIM + "launch_presentation": {
            "document_target": "iframe",
            "return_url": return_url,
            "locale": user.locale or "en",
        },
        "locale": user.locale or "en",
        CLAIM + "custom": expand_custom(
            {**key.custom_fields, **placement.custom_fields},
            substitutions(platform, state, user, where),
        ),
        CLAIM + "lti11_legacy_user_id": opaque_id("lti11", user.id),
        PLACEMENT_CLAIM: where.placement,
    }
    if course is not None:
        claims[CLAIM + "context"] = {
            "id": course.lti_context_id,
            "label": course.course_code,
            "title": course.name,
            "type": [COURSE_OFFERING],
        }
        ags = [s for s in key.scopes if s.startswith(AGS_SCOPE_PREFIX)]
        if ags:
            claims[AGS_CLAIM] = {
                "scope": ags,
                "lineitems": f"{platform.base_url}/api/lti/courses/{course.id}/line_items",
            }
        if NRPS_SCOPE in key.scopes:
            claims[NRPS_CLAIM] = {
                "context_memberships_url": (
                    f"{platform.base_url}/api/lti/courses/{course.id}/names_and_roles"
                ),
                "service_versions": ["2.0"],
            }
    level = key.privacy_level
    if level in ("name_only", "public"):
        claims.update({"name": user.name, "given_name": given, "family_name": family})
        lis = {
            name: value
            for name, value in (
                ("person_sourcedid", getattr(user, "sis_user_id", None)),
                ("course_offering_sourcedid", getattr(course, "sis_course_id", None)),
            )
            if value
        }
        if lis:
            claims[CLAIM + "lis"] = lis
    if level in ("email_only", "public"):
        claims["email"] = user.email
    if level == "public":
        claims["picture"] = f"{platform.base_url}/sandbox_static/avatar-50.svg"
        observees = observee_lti_ids(state, user, course) if course is not None else []
        if observees:  # add_mentorship_claims!: public tools only, and only when there are any
            claims[CLAIM + "role_scope_mentor"] = observees
    return claims


def observee_lti_ids(state: SandboxState, user: User, course: Course) -> list[str]:
    """canvas-lms ``JwtMessage#current_observee_list``: the LTI ids of the students this user
    observes in the course, from their active observer enrollments there."""
    with state.lock:
        ids = [
            e.associated_user_id
            for e in sorted(state.enrollments_in(course.id), key=lambda e: e.id)
            if e.user_id == user.id
            and e.type == "ObserverEnrollment"
            and e.workflow_state == "active"
            and e.associated_user_id in state.users
        ]
        return [state.users[i].lti_id for i in ids if i is not None]


def _root(state: SandboxState, account_id: int) -> int:
    current = account_id
    seen: set[int] = set()
    while (parent := state.accounts[current].parent_account_id) is not None and parent not in seen:
        seen.add(current)
        current = parent
    return current
