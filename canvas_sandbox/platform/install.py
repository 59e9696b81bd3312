"""Installing a tool: a developer key from its configuration JSON URL (docs/canvas.md §7.6)
or by LTI Dynamic Registration (docs/canvas.md §5), then a deployment in the account."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests

from canvas_sandbox.platform.launch import Platform
from canvas_sandbox.platform.store import (
    PRIVACY_LEVELS,
    DeveloperKey,
    Placement,
    PrivacyLevel,
    add_developer_key,
)
from canvas_sandbox.state import SandboxState

CANVAS_EXT = "canvas.instructure.com"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS = "https://canvas.instructure.com/lti/"
LTI_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti/scope/noticehandlers",
    "https://canvas.instructure.com/lti/public_jwk/scope/update",
    "https://canvas.instructure.com/lti/account_lookup/scope/show",
    "https://canvas.instructure.com/lti-ags/progress/scope/show",
)
SUPPORTED_PLACEMENTS = (
    "course_navigation",
    "account_navigation",
    "assignment_selection",
    "link_selection",
)
MESSAGE_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
REGISTRATION_TOKEN_TTL = 3600
REGISTRATION_AUDIENCE = "canvas-sandbox:registration"
FETCH_TIMEOUT = (3.05, 5.0)
MAX_CONFIG_BYTES = 256 * 1024


class InstallError(Exception):
    """The configuration cannot be installed; the message is for the admin."""


def _str(doc: dict[str, Any], name: str, where: str = "", required: bool = True) -> str:
    value = doc.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InstallError(f"{where}{name} is required and must be a string")
    return value


def _url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InstallError(f"{what} must be an absolute http(s) URL")
    return value


def _fields(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InstallError(f"{what} must be an object of strings")
    return dict(value)


# -- developer key JSON (docs/canvas.md §7.6) --------------------------------------------------
def fetch_config(url: str, http: requests.Session | None = None) -> dict[str, Any]:
    """GET the tool's configuration JSON (bounded in time and size, no redirects)."""
    _url(url, "The configuration URL")
    session = http or requests.Session()
    try:
        response = session.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        if len(response.content) > MAX_CONFIG_BYTES:
            raise InstallError("The configuration is larger than 256 KiB")
        doc: Any = response.json()
    except requests.RequestException as exc:
        raise InstallError(f"Could not fetch the configuration ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise InstallError("The configuration URL did not return JSON") from exc
    if not isinstance(doc, dict):
        raise InstallError("The configuration must be a JSON object")
    return doc


def key_values_from_config(doc: dict[str, Any], source_url: str = "") -> dict[str, Any]:
    """Validate a developer key JSON (field rules of docs/canvas.md §7.6) into DeveloperKey
    fields."""
    title = _str(doc, "title")
    description = _str(doc, "description")
    login = _url(_str(doc, "oidc_initiation_url"), "oidc_initiation_url")
    target = _url(_str(doc, "target_link_uri"), "target_link_uri")
    if ("public_jwk" in doc) == ("public_jwk_url" in doc):
        raise InstallError("exactly one of public_jwk and public_jwk_url is required")
    jwk_url = _url(_str(doc, "public_jwk_url"), "public_jwk_url") if "public_jwk_url" in doc else ""
    if "public_jwk" in doc:
        jwk = doc["public_jwk"]
        if not isinstance(jwk, dict) or not {"kty", "alg", "e", "n", "kid", "use"} <= set(jwk):
            raise InstallError("public_jwk must have kty, alg, e, n, kid and use")
    scopes = doc.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise InstallError("scopes must be a list of strings")
    unknown = [s for s in scopes if s not in LTI_SCOPES]
    if unknown:
        raise InstallError(f"unknown LTI scope {unknown[0]}")
    extensions = doc.get("extensions", [])
    if not isinstance(extensions, list):
        raise InstallError("extensions must be a list")
    ext = next(
        (e for e in extensions if isinstance(e, dict) and e.get("platform") == CANVAS_EXT), {}
    )
    privacy = ext.get("privacy_level", "anonymous")
    if privacy not in PRIVACY_LEVELS:
        raise InstallError(f"privacy_level must be one of {', '.join(PRIVACY_LEVELS)}")
    settings = ext.get("settings", {})
    if not isinstance(settings, dict):
        raise InstallError("extensions[].settings must be an object")
    text = settings.get("text") if isinstance(settings.get("text"), str) else title
    icon = settings.get("icon_url") if isinstance(settings.get("icon_url"), str) else ""
    placements = []
    for i, raw in enumerate(settings.get("placements", [])):
        where = f"placements[{i}]."
        if not isinstance(raw, dict):
            raise InstallError(f"placements[{i}] must be an object")
        name = _str(raw, "placement", where)
        if name not in SUPPORTED_PLACEMENTS:
            raise InstallError(f"{where}placement {name!r} is not supported by the sandbox")
        message_type = raw.get("message_type", "LtiResourceLinkRequest")
        if message_type not in MESSAGE_TYPES:
            raise InstallError(f"{where}message_type must be one of {', '.join(MESSAGE_TYPES)}")
        if raw.get("enabled", True) is False:
            continue
        placement_target = _str(raw, "target_link_uri", where, required=False)
        placements.append(
            Placement(
                placement=name,
                message_type=message_type,
                target_link_uri=_url(placement_target, where + "target_link_uri")
                if placement_target
                else "",
                text=_str(raw, "text", where, required=False) or str(text),
                icon_url=_str(raw, "icon_url", where, required=False) or str(icon),
                visibility=str(raw.get("visibility", "public")),
                default=str(raw.get("default", "enabled")),
                custom_fields=_fields(raw.get("custom_fields"), where + "custom_fields"),
            )
        )
    redirect_uris = [target, *(p.target_link_uri for p in placements if p.target_link_uri)]
    return {
        "name": title,
        "description": description,
        "oidc_initiation_url": login,
        "target_link_uri": target,
        "redirect_uris": list(dict.fromkeys(redirect_uris)),
        "public_jwk_url": jwk_url,
        "scopes": list(scopes),
        "placements": placements,
        "custom_fields": _fields(doc.get("custom_fields"), "custom_fields"),
        "privacy_level": privacy,
        "tool_id": str(ext.get("tool_id", "")),
        "domain": str(ext.get("domain", urlsplit(target).netloc)),
        "icon_url": str(icon),
        "installed_via": "config_url",
        "source_url": source_url,
    }


def install_from_config_url(
    state: SandboxState, url: str, http: requests.Session | None = None
) -> DeveloperKey:
    return add_developer_key(state, **key_values_from_config(fetch_config(url, http), url))


# -- Dynamic Registration (docs/canvas.md §5) --------------------------------------------------
def registration_token(platform: Platform, account_id: int, user_id: int) -> str:
    now = int(time.time())
    claims = {
        "iss": platform.base_url,
        "aud": REGISTRATION_AUDIENCE,
        "iat": now,
        "exp": now + REGISTRATION_TOKEN_TTL,
        "uuid": str(uuid.uuid4()),
        "account_id": account_id,
        "user_id": user_id,
    }
    return jwt.encode(claims, platform.secret, algorithm="HS256")


def read_registration_token(platform: Platform, authorization: str) -> dict[str, Any]:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InstallError("a Bearer registration token is required")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            platform.secret,
            algorithms=["HS256"],
            audience=REGISTRATION_AUDIENCE,
            options={"require": ["exp", "iat", "uuid"]},
        )
    except jwt.PyJWTError as exc:
        raise InstallError("the registration token is invalid or expired") from exc
    return claims


def openid_configuration(
    platform: Platform, state: SandboxState, account_id: int
) -> dict[str, Any]:
    account = state.accounts[account_id]
    return {
        "issuer": platform.issuer,
        "authorization_endpoint": platform.authorize_url,
        "registration_endpoint": platform.base_url + "/api/lti/registrations",
        "jwks_uri": platform.jwks_url,
        "token_endpoint": platform.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", *LTI_SCOPES],
        "response_types_supported": ["id_token"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": [
            "sub",
            "picture",
            "email",
            "name",
            "given_name",
            "family_name",
            "locale",
        ],
        "subject_types_supported": ["public"],
        "authorization_server": platform.domain,
        PLATFORM_CONFIG: {
            "product_family_code": "canvas",
            "version": "OpenSource",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest", "placements": list(SUPPORTED_PLACEMENTS)},
                {
                    "type": "LtiDeepLinkingRequest",
                    "placements": ["assignment_selection", "link_selection"],
                },
            ],
            # lti_platform_configuration: variables = Lti::VariableExpander.expansion_keys; here
            # the ones the sandbox substitutes (platform/launch.py, substitutions).
            "variables": [
                "$Canvas.course.id",
                "$Canvas.user.id",
                "$Canvas.api.baseUrl",
                "$Canvas.api.domain",
                "$Canvas.membership.roles",
                "$Canvas.account.id",
                "$Canvas.root_account.id",
                "$Canvas.course.sectionIds",
                "$Canvas.user.loginId",
                "$Canvas.user.isRootAccountAdmin",
                "$Person.address.timezone",
            ],
            CANVAS + "account_name": account.name,
            CANVAS + "account_lti_guid": account.lti_guid,
        },
    }


def key_values_from_registration(body: Any) -> dict[str, Any]:
    """Validate the tool's registration request into DeveloperKey fields."""
    if not isinstance(body, dict):
        raise InstallError("the registration must be a JSON object")
    if body.get("application_type") != "web":
        raise InstallError('application_type must be "web"')
    grants = body.get("grant_types")
    if not isinstance(grants, list) or not {"client_credentials", "implicit"} <= set(grants):
        raise InstallError("grant_types must include client_credentials and implicit")
    if body.get("response_types") != ["id_token"]:
        raise InstallError('response_types must be ["id_token"]')
    if body.get("token_endpoint_auth_method") != "private_key_jwt":
        raise InstallError('token_endpoint_auth_method must be "private_key_jwt"')
    login = _url(_str(body, "initiate_login_uri"), "initiate_login_uri")
    jwks_uri = _url(_str(body, "jwks_uri"), "jwks_uri")
    redirects = body.get("redirect_uris")
    if not isinstance(redirects, list) or not redirects:
        raise InstallError("redirect_uris must be a non-empty list")
    redirect_uris = [_url(str(u), "redirect_uris[]") for u in redirects]
    name = _str(body, "client_name")
    scope = body.get("scope", "")
    scopes = [s for s in str(scope).split() if s in LTI_SCOPES]
    config = body.get(TOOL_CONFIG)
    if not isinstance(config, dict):
        raise InstallError(f"{TOOL_CONFIG} is required")
    _str(config, "domain", "tool configuration ")
    target = _url(_str(config, "target_link_uri", "tool configuration "), "target_link_uri")
    messages = config.get("messages", [])
    if not isinstance(messages, list):
        raise InstallError("messages must be a list")
    privacy: PrivacyLevel = config.get(CANVAS + "privacy_level", "anonymous")
    if privacy not in PRIVACY_LEVELS:
        raise InstallError("privacy_level is not one Canvas knows")
    icon = str(body.get("logo_uri", ""))
    placements = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InstallError(f"messages[{i}] must be an object")
        message_type = message.get("type")
        if message_type not in MESSAGE_TYPES:
            raise InstallError(f"messages[{i}].type must be one of {', '.join(MESSAGE_TYPES)}")
        names = message.get("placements", [])
        if not isinstance(names, list):
            raise InstallError(f"messages[{i}].placements must be a list")
        message_target = message.get("target_link_uri") or ""
        for name_ in names:
            if name_ not in SUPPORTED_PLACEMENTS:
                continue  # Canvas ignores placements it does not offer here
            enabled = message.get(CANVAS + "course_navigation/default_enabled", True)
            placements.append(
                Placement(
                    placement=name_,
                    message_type=str(message_type),
                    target_link_uri=_url(str(message_target), "target_link_uri")
                    if message_target
                    else "",
                    text=str(message.get("label") or name),
                    icon_url=str(message.get("icon_uri") or icon),
                    visibility=str(message.get(CANVAS + "visibility", "public")),
                    default="enabled" if enabled else "disabled",
                    custom_fields=_fields(message.get("custom_parameters"), "custom_parameters"),
                )
            )
    return {
        "name": name,
        "description": str(config.get("description", "")),
        "oidc_initiation_url": login,
        "target_link_uri": target,
        "redirect_uris": redirect_uris,
        "public_jwk_url": jwks_uri,
        "scopes": scopes,
        "placements": placements,
        "custom_fields": _fields(config.get("custom_parameters"), "custom_parameters"),
        "privacy_level": privacy,
        "tool_id": str(config.get(CANVAS + "tool_id", "")),
        "domain": str(config["domain"]),
        "icon_url": icon,
        "installed_via": "dynamic_registration",
        "registration": body,
    }


def registration_response(key: DeveloperKey, deployment_id: str) -> dict[str, Any]:
    """The registration as stored, with the client_id (and the deployment Canvas made)."""
    body = dict(key.registration or {})
    config = dict(body.get(TOOL_CONFIG) or {})
    config["deployment_id"] = deployment_id
    body[TOOL_CONFIG] = config
    body["client_id"] = key.client_id
    body["scope"] = " ".join(key.scopes)
    return body
