"""LTI Dynamic Registration as Canvas does it (canvas-api.md §6.5).

Canvas opens our registration URL with `openid_configuration` and `registration_token`; we
read the platform configuration with the token, post our client metadata to the
registration endpoint, and store the platform with the client_id Canvas assigned. Deployment
ids are learned at first launch, so such platforms auto-register deployments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.launch.tool_configuration import registration_request
from lti_app.models.tenancy import Deployment, Platform
from lti_app.urls import origin_of, resolves_to_public_addresses

PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"

# Hosts, statuses and exception class names only: never a URL's query, a body or the token.
log = logging.getLogger(__name__)


class RegistrationError(Exception):
    """Registration cannot go on; the message is safe to show the admin."""


@dataclass(frozen=True)
class PlatformConfiguration:
    issuer: str
    authorization_endpoint: str
    registration_endpoint: str
    token_endpoint: str
    jwks_uri: str
    scopes_supported: list[str] | None
    canvas_url: str
    product: str


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string_list(value: Any) -> list[str] | None:
    """scopes_supported as a list of strings; anything else means "not said"."""
    if not isinstance(value, list):
        return None
    return [v for v in value if isinstance(v, str)]


def _host(url: str) -> str:
    return urlsplit(url).netloc[:255]


def _check_url(url: str, allow_http: bool) -> str:
    parts = urlsplit(url)
    if len(url) > 1024:  # the platform table's URL columns
        raise RegistrationError("Canvas gave an address longer than 1024 characters.")
    if parts.scheme not in (("https", "http") if allow_http else ("https",)) or not parts.netloc:
        raise RegistrationError(f"Canvas gave an address that is not https: {url[:200]}")
    # In production the tool only talks to public hosts (no SSRF into its own network);
    # development and tests run Canvas on loopback.
    if not allow_http and not resolves_to_public_addresses(url):
        raise RegistrationError(f"Canvas gave an address that is not public: {_host(url)}")
    return url


def fetch_configuration(
    http: requests.Session,
    openid_configuration: str,
    registration_token: str,
    timeout: tuple[float, float],
    allow_http: bool,
) -> PlatformConfiguration:
    _check_url(openid_configuration, allow_http)
    try:
        response = http.get(
            openid_configuration,
            headers={"Authorization": f"Bearer {registration_token}"},
            timeout=timeout,
            allow_redirects=False,
        )
        response.raise_for_status()
        doc: Any = response.json()
    except (requests.RequestException, ValueError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning(
            "registration_config_unreadable host=%s status=%s error=%s",
            _host(openid_configuration),
            status,
            type(exc).__name__,
        )
        raise RegistrationError(
            "Could not read Canvas's OpenID configuration; start the installation again."
        ) from exc
    if not isinstance(doc, dict):
        raise RegistrationError("Canvas's OpenID configuration is not a JSON object.")
    issuer = doc.get("issuer")
    if "issuer" in doc and (not isinstance(issuer, str) or not issuer.strip() or len(issuer) > 255):
        raise RegistrationError("Canvas's OpenID configuration has no usable issuer.")
    try:
        config = PlatformConfiguration(
            issuer=str(doc["issuer"]),
            authorization_endpoint=_check_url(str(doc["authorization_endpoint"]), allow_http),
            registration_endpoint=_check_url(str(doc["registration_endpoint"]), allow_http),
            token_endpoint=_check_url(str(doc["token_endpoint"]), allow_http),
            jwks_uri=_check_url(str(doc["jwks_uri"]), allow_http),
            scopes_supported=_string_list(doc.get("scopes_supported")),
            canvas_url=origin_of(openid_configuration),
            product=str(_object(doc.get(PLATFORM_CONFIG)).get("product_family_code", "")),
        )
    except KeyError as exc:
        log.warning(
            "registration_config_incomplete host=%s missing=%s",
            _host(openid_configuration),
            exc.args[0],
        )
        raise RegistrationError(f"Canvas's OpenID configuration lacks {exc.args[0]}.") from exc
    # The registration token is a credential: only send it back to the host that gave it.
    if urlsplit(config.registration_endpoint).netloc != urlsplit(openid_configuration).netloc:
        log.warning(
            "registration_endpoint_foreign host=%s endpoint_host=%s",
            _host(openid_configuration),
            _host(config.registration_endpoint),
        )
        raise RegistrationError("The registration endpoint is on another host than Canvas.")
    return config


def register(
    http: requests.Session,
    db: Session,
    config: PlatformConfiguration,
    registration_token: str,
    tool_base_url: str,
    timeout: tuple[float, float],
) -> Platform:
    body = registration_request(tool_base_url, config.scopes_supported)
    try:
        response = http.post(
            config.registration_endpoint,
            json=body,
            headers={"Authorization": f"Bearer {registration_token}"},
            timeout=timeout,
            allow_redirects=False,
        )
        response.raise_for_status()
        answer: Any = response.json()
        client_id = answer["client_id"]
        if isinstance(client_id, int) and not isinstance(client_id, bool):
            client_id = str(client_id)
        if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 255:
            raise ValueError("client_id is not a usable string")
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning(
            "registration_rejected host=%s status=%s error=%s",
            _host(config.registration_endpoint),
            status,
            type(exc).__name__,
        )
        raise RegistrationError(
            "Canvas did not accept the registration; start the installation again."
        ) from exc
    platform = db.scalar(
        select(Platform).where(Platform.issuer == config.issuer, Platform.client_id == client_id)
    )
    if platform is None:
        platform = Platform(issuer=config.issuer, client_id=client_id)
        db.add(platform)
    platform.auth_login_url = config.authorization_endpoint
    platform.auth_token_url = config.token_endpoint
    platform.jwks_url = config.jwks_uri
    platform.canvas_url = config.canvas_url
    platform.auto_register_deployments = True
    platform.registered_via = "dynamic_registration"
    deployment_id = _object(answer.get(TOOL_CONFIG)).get("deployment_id")
    if isinstance(deployment_id, int) and not isinstance(deployment_id, bool):
        deployment_id = str(deployment_id)
    if not isinstance(deployment_id, str) or len(deployment_id) > 255:
        deployment_id = None  # learned at the first launch instead
    if deployment_id and not any(d.deployment_id == deployment_id for d in platform.deployments):
        platform.deployments.append(Deployment(deployment_id=str(deployment_id)))
    db.flush()
    log.info(
        "registration_done issuer=%s client_id=%s canvas=%s",
        config.issuer[:255],
        client_id[:255],
        config.canvas_url[:255],
    )
    return platform
