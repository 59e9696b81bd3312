"""LTI Dynamic Registration as Canvas does it (docs/canvas.md §5, canvas-lms
`Lti::IMS::DynamicRegistrationController` and `SecurityController#openid_configuration`).

Canvas opens our registration URL with `openid_configuration` and `registration_token`; we
read the platform configuration with the token, post our client metadata to the
registration endpoint, and store the platform with the client_id Canvas assigned. Deployment
ids are learned at first launch, so such platforms auto-register deployments.

The endpoint is unauthenticated by design, so what it may do is narrow:
- the configuration's `issuer` must be on the scheme, host and port it was read from (the
  LTI-DR spec's issuer check): nobody can claim an issuer whose host they do not serve.
  Canvas's other endpoints are not on that host (Instructure-hosted Canvas: issuer
  canvas.instructure.com, authorize/token/JWKS on sso.canvaslms.com, the registration
  endpoint on the account's own domain), so they are trusted as the issuer's host served
  them, after the URL checks;
- it only ever creates a platform: an (issuer, client_id) that exists is refused, because
  Canvas assigns a new client_id to every registration (a collision is never legitimate);
  changing a platform is `flask --app lti_app platform update`;
- REGISTRATION_ALLOWED_HOSTS narrows the Canvases that may register at all.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.lti.tool_configuration import registration_request
from lti_app.models.tenancy import Deployment, Platform
from lti_app.translatable import _l
from lti_app.urls import UnsafeUrl, checked_url, origin_of, resolves_to_public_addresses

PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"

# Hosts, statuses and exception class names only: never a URL's query, a body or the token.
log = logging.getLogger(__name__)


class RegistrationError(Exception):
    """Registration cannot go on; the message is safe to show the admin."""

    status = 400


class AlreadyRegistered(RegistrationError):
    """The (issuer, client_id) Canvas answered is installed already; nothing was changed."""

    status = 409


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


# Canvas's ids (client ids, deployment ids such as "7:8865aa05...") are printable ASCII:
# nothing that could forge a log line, hide in a page or fail to store.
_IDENTIFIER = re.compile(r"[!-~]{1,255}")
# Canvas's configuration and registration answers are a few kilobytes.
MAX_DOCUMENT_BYTES = 1_000_000


def _identifier(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and _IDENTIFIER.fullmatch(value) else None


def _json_body(response: requests.Response, timeout: tuple[float, float]) -> Any:
    """The JSON document, read within a size and a time budget; ValueError otherwise."""
    deadline = time.monotonic() + 2 * sum(timeout)
    body = bytearray()
    try:
        for chunk in response.iter_content(65536):
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES or time.monotonic() > deadline:
                raise ValueError("the document is too large or too slow")
    finally:
        response.close()
    try:
        return json.loads(bytes(body))
    except RecursionError:
        raise ValueError("the document is nested too deeply") from None


def _with_token(
    http: requests.Session,
    method: str,
    url: str,
    registration_token: str,
    timeout: tuple[float, float],
    **kwargs: Any,
) -> Any:
    """One request carrying the registration token (never following a redirect with it); its
    JSON answer, read within the size and time budget."""
    response = http.request(
        method,
        url,
        headers={"Authorization": f"Bearer {registration_token}"},
        timeout=timeout,
        allow_redirects=False,
        stream=True,
        **kwargs,
    )
    response.raise_for_status()
    return _json_body(response, timeout)


def _host(url: str) -> str:
    return urlsplit(url).netloc[:255]


def _check_url(url: str, allow_http: bool) -> str:
    if len(url) > 1024:  # the platform table's URL columns
        raise RegistrationError(_l("Canvas gave an address longer than 1024 characters."))
    try:
        parts = checked_url(url)
    except UnsafeUrl as exc:
        raise RegistrationError(
            _l("Canvas gave an address that cannot be used: %(why)s.", why=str(exc))
        ) from None
    if parts.scheme not in (("https", "http") if allow_http else ("https",)):
        # The origin only: Canvas's configuration URL carries the registration token.
        raise RegistrationError(
            _l("Canvas gave an address that is not https: %(origin)s", origin=origin_of(url))
        )
    # In production the tool only talks to public hosts (no SSRF into its own network);
    # development and tests run Canvas on loopback.
    if not allow_http and not resolves_to_public_addresses(url):
        raise RegistrationError(
            _l("Canvas gave an address that is not public: %(host)s", host=_host(url))
        )
    return url


def _hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _check_allowed(url: str, allowed_hosts: frozenset[str], what: str) -> None:
    if allowed_hosts and _hostname(url) not in allowed_hosts:
        log.warning("registration_host_not_allowed what=%s host=%s", what, _host(url))
        raise RegistrationError(
            _l(
                "This tool only accepts registrations from the Canvas its administrator listed; "
                "%(host)s is not one of them.",
                host=_hostname(url)[:200],
            )
        )


def fetch_configuration(
    http: requests.Session,
    openid_configuration: str,
    registration_token: str,
    timeout: tuple[float, float],
    allow_http: bool,
    allowed_hosts: frozenset[str] = frozenset(),
) -> PlatformConfiguration:
    _check_url(openid_configuration, allow_http)
    # Before the registration token goes anywhere.
    _check_allowed(openid_configuration, allowed_hosts, "configuration")
    try:
        doc: Any = _with_token(http, "GET", openid_configuration, registration_token, timeout)
    except (requests.RequestException, ValueError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning(
            "registration_config_unreadable host=%s status=%s error=%s",
            _host(openid_configuration),
            status,
            type(exc).__name__,
        )
        raise RegistrationError(
            _l("Could not read Canvas's OpenID configuration; start the installation again.")
        ) from exc
    if not isinstance(doc, dict):
        raise RegistrationError(_l("Canvas's OpenID configuration is not a JSON object."))
    if "issuer" not in doc:
        raise RegistrationError(_l("Canvas's OpenID configuration lacks issuer."))
    issuer = doc["issuer"]
    if not isinstance(issuer, str) or not issuer.strip() or len(issuer) > 255:
        raise RegistrationError(_l("Canvas's OpenID configuration has no usable issuer."))
    try:
        checked_url(issuer)
    except UnsafeUrl:
        raise RegistrationError(_l("Canvas's OpenID configuration has no usable issuer.")) from None
    if origin_of(issuer) != origin_of(openid_configuration):
        # Only the host that is the issuer can vouch for it: a configuration served from
        # anywhere else could claim any Canvas's issuer.
        log.warning(
            "registration_issuer_mismatch host=%s issuer_host=%s",
            _host(openid_configuration),
            _host(issuer),
        )
        raise RegistrationError(
            _l(
                "Canvas's OpenID configuration names an issuer on another address than the one "
                "it was read from; the installation was stopped. Start it again from Canvas."
            )
        )
    try:
        config = PlatformConfiguration(
            issuer=issuer,
            authorization_endpoint=_check_url(str(doc["authorization_endpoint"]), allow_http),
            registration_endpoint=_check_url(str(doc["registration_endpoint"]), allow_http),
            token_endpoint=_check_url(str(doc["token_endpoint"]), allow_http),
            jwks_uri=_check_url(str(doc["jwks_uri"]), allow_http),
            scopes_supported=_string_list(doc.get("scopes_supported")),
            # Canvas puts the registration endpoint on the account's own domain: the Canvas
            # whose API the tool reads and that frames it (the issuer's host is shared).
            canvas_url=origin_of(str(doc["registration_endpoint"])),
            product=str(_object(doc.get(PLATFORM_CONFIG)).get("product_family_code", "")),
        )
    except KeyError as exc:
        log.warning(
            "registration_config_incomplete host=%s missing=%s",
            _host(openid_configuration),
            exc.args[0],
        )
        raise RegistrationError(
            _l("Canvas's OpenID configuration lacks %(field)s.", field=str(exc.args[0]))
        ) from exc
    _check_allowed(config.registration_endpoint, allowed_hosts, "registration_endpoint")
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
        answer: Any = _with_token(
            http, "POST", config.registration_endpoint, registration_token, timeout, json=body
        )
        client_id = _identifier(answer["client_id"])
        if client_id is None:
            raise ValueError("client_id is not a usable identifier")
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        log.warning(
            "registration_rejected host=%s status=%s error=%s",
            _host(config.registration_endpoint),
            status,
            type(exc).__name__,
        )
        raise RegistrationError(
            _l("Canvas did not accept the registration; start the installation again.")
        ) from exc
    platform = Platform(
        issuer=config.issuer,
        client_id=client_id,
        auth_login_url=config.authorization_endpoint,
        auth_token_url=config.token_endpoint,
        jwks_url=config.jwks_uri,
        canvas_url=config.canvas_url,
        auto_register_deployments=True,
        registered_via="dynamic_registration",
    )
    # Anything else is learned at the first launch instead.
    deployment_id = _identifier(_object(answer.get(TOOL_CONFIG)).get("deployment_id"))
    if deployment_id is not None:
        platform.deployments.append(Deployment(deployment_id=deployment_id, auto_registered=True))
    # Insert only, never update: the unique (issuer, client_id) decides, also between two
    # concurrent registrations.
    try:
        with db.begin_nested():
            db.add(platform)
    except IntegrityError:
        log.warning(
            "registration_refused_existing issuer=%s client_id=%s",
            config.issuer[:255],
            client_id[:255],
        )
        raise AlreadyRegistered(
            _l(
                "Canvas %(issuer)s with client id %(client_id)s is installed already; nothing was "
                "changed. A new registration always gets a new client id from Canvas. To change "
                "an installed Canvas's addresses, the tool's administrator runs `flask --app "
                "lti_app platform update`.",
                issuer=config.issuer[:200],
                client_id=client_id[:64],
            )
        ) from None
    log.info(
        "registration_done issuer=%s client_id=%s canvas=%s",
        config.issuer[:255],
        client_id[:255],
        config.canvas_url[:255],
    )
    return platform
