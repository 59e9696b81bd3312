"""Launch validation on pylti1p3, closing the gaps its 2.0.0 release leaves open.

Order: token shape and header, registration, signature with audience/azp/time rules, the
required claims, then the login this launch answers (state bound to this browser, nonce
issued for that state, deployment and target_link_uri as the login said), then the
deployment and message rules from pylti1p3. The single-use consumption of the login is a
separate last step (consume_login), so a forged token can never burn a real one.
"""

from __future__ import annotations

import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskRequest
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch

from lti_app.lti.errors import LaunchError
from lti_app.lti.platform_keys import PlatformKeyCache
from lti_app.lti.state_store import DbSessionService, PartitionedCookieService
from lti_app.lti.tool_conf import DbToolConf, PlatformInfo

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
VERSION = CLAIM + "version"
ROLES = CLAIM + "roles"
DEPLOYMENT_ID = CLAIM + "deployment_id"
RESOURCE_LINK = CLAIM + "resource_link"
TARGET_LINK_URI = CLAIM + "target_link_uri"
SUPPORTED_MESSAGE_TYPES = frozenset({"LtiResourceLinkRequest"})


@dataclass(frozen=True)
class LaunchRules:
    leeway: int
    max_age: int


def unverified_parts(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and body, unverified: only for choosing a registration and a key.

    pylti1p3's own decoder; PyJWT parses the token once more when it verifies it (its strict
    base64 check costs about a millisecond per parse of a Canvas-sized token).
    """
    parts = id_token.split(".")
    if len(parts) != 3:
        raise LaunchError("jwt_malformed", "not a three-part JWS")
    try:
        header = json.loads(MessageLaunch.urlsafe_b64decode(parts[0]))
        body = json.loads(MessageLaunch.urlsafe_b64decode(parts[1]))
    except (ValueError, binascii.Error) as exc:
        raise LaunchError("jwt_malformed", type(exc).__name__) from exc
    if not isinstance(header, dict) or not isinstance(body, dict):
        raise LaunchError("jwt_malformed", "header or body is not a JSON object")
    return header, body


def audience_client_id(body: dict[str, Any]) -> str:
    """The client id this token is for: aud, or azp when aud lists several audiences."""
    aud = body.get("aud")
    if isinstance(aud, str) and aud:
        return aud
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        if len(aud) == 1:
            return str(aud[0])
        azp = body.get("azp")
        if not azp:
            raise LaunchError("azp_missing", f"{len(aud)} audiences and no azp")
        if azp not in aud:
            raise LaunchError("azp_invalid", "azp is not one of the audiences")
        return str(azp)
    raise LaunchError("aud_invalid", "aud missing or not a string/list of strings")


class HardenedMessageLaunch(FlaskMessageLaunch):  # type: ignore[misc]
    def __init__(
        self,
        request: FlaskRequest,
        tool_conf: DbToolConf,
        session_service: DbSessionService,
        cookie_service: PartitionedCookieService,
        key_cache: PlatformKeyCache,
        rules: LaunchRules,
        storage_verified: bool = False,
        requests_session: requests.Session | None = None,
    ) -> None:
        # pylti1p3 makes a new requests.Session per launch unless given one.
        super().__init__(
            request,
            tool_conf,
            session_service=session_service,
            cookie_service=cookie_service,
            requests_session=requests_session,
        )
        self._tool_conf_db = tool_conf
        self._sessions = session_service
        self._key_cache = key_cache
        self._rules = rules
        # True only when the launch view has checked the Platform Storage round trip.
        self._storage_verified = storage_verified
        # The registration the token names, once found (for tenant-aware error pages).
        self.platform: PlatformInfo | None = None
        self._state = ""

    # -- pylti1p3 hooks ---------------------------------------------------------------------
    def get_client_id(self) -> str:
        return audience_client_id(self._get_jwt_body())

    def validate(self) -> HardenedMessageLaunch:
        self._validated = True
        try:
            self._validate_token()
            self._validate_claims()
            self._validate_login()
            self._step("deployment_unknown", self.validate_deployment)
            self._step("claims_missing", self.validate_message)
        except BaseException:
            self._validated = False
            raise
        return self

    def consume_login(self) -> None:
        """The single-use step: mark the login used, or fail if another request already did.

        Callers run it last, just before their commit: a forged token never gets this far,
        and the database write lock it takes is held only until that commit.
        """
        assert self._validated, "validate() first"
        if not self._sessions.consume(self._state):
            raise LaunchError("nonce_replayed", "login already consumed")

    # -- steps ------------------------------------------------------------------------------
    @staticmethod
    def _step(code: str, fn: Any) -> None:
        try:
            fn()
        except LtiException as exc:
            raise LaunchError(code, str(exc)) from exc

    def _validate_token(self) -> None:
        id_token = self._get_request_param("id_token")
        if not id_token:
            raise LaunchError("jwt_malformed", "no id_token")
        header, body = unverified_parts(id_token)
        self._jwt = {"header": header, "body": body}
        alg = header.get("alg")
        if not alg:
            raise LaunchError("jwt_malformed", "no alg in header")
        if alg != "RS256":
            raise LaunchError("alg_not_allowed", f"alg {alg!r}")
        kid = header.get("kid")
        if not kid or not isinstance(kid, str):
            raise LaunchError("kid_missing")
        iss = body.get("iss")
        if not iss or not isinstance(iss, str):
            raise LaunchError("iss_missing")
        client_id = audience_client_id(body)
        platform = self._tool_conf_db.platform(iss, client_id)
        if platform is None:
            known_iss = self._tool_conf_db.issuer_client_count(iss) > 0
            raise LaunchError("client_unknown" if known_iss else "iss_unknown")
        self.platform = platform
        self._step("client_unknown", self.validate_registration)

        key = self._key_cache.key_for(platform.jwks_url, kid)
        try:
            verified = jwt.decode(
                id_token,
                key=key,
                algorithms=["RS256"],
                audience=client_id,
                issuer=iss,
                leeway=self._rules.leeway,
                options={"require": ["exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchError("expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchError("iat_future", str(exc)) from exc
        except jwt.InvalidAudienceError as exc:
            raise LaunchError("aud_invalid", str(exc)) from exc
        except jwt.InvalidIssuerError as exc:
            raise LaunchError("iss_unknown", str(exc)) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise LaunchError("claims_missing", str(exc)) from exc
        except jwt.InvalidSignatureError as exc:
            raise LaunchError("signature_invalid") from exc
        except jwt.PyJWTError as exc:
            raise LaunchError("jwt_malformed", type(exc).__name__) from exc
        azp = verified.get("azp")
        if azp is not None and azp != client_id:
            raise LaunchError("azp_invalid")
        iat = verified["iat"]
        if not isinstance(iat, int | float) or time.time() - iat > (
            self._rules.max_age + self._rules.leeway
        ):
            raise LaunchError("iat_too_old", "iat older than the accepted age")
        self._jwt["body"] = verified

    def _validate_claims(self) -> None:
        body = self._jwt["body"]
        missing = [
            name
            for name, claim in (
                ("message_type", MESSAGE_TYPE),
                ("version", VERSION),
                ("roles", ROLES),
                ("deployment_id", DEPLOYMENT_ID),
                ("sub", "sub"),
                ("nonce", "nonce"),
            )
            if claim not in body or body[claim] in (None, "")
        ]
        if len(missing) > 1:
            raise LaunchError("claims_missing", "missing: " + ", ".join(missing))
        if missing:
            code = {"deployment_id": "deployment_missing"}.get(missing[0], missing[0] + "_missing")
            raise LaunchError(code)
        if body[VERSION] != "1.3.0":
            raise LaunchError("version_invalid")
        if not isinstance(body[ROLES], list) or not all(isinstance(r, str) for r in body[ROLES]):
            raise LaunchError("roles_invalid")
        if body[MESSAGE_TYPE] not in SUPPORTED_MESSAGE_TYPES:
            raise LaunchError("message_type_unsupported", str(body[MESSAGE_TYPE])[:64])
        link = body.get(RESOURCE_LINK)
        if not isinstance(link, dict) or not link.get("id"):
            raise LaunchError("resource_link_missing")
        if not isinstance(body.get(DEPLOYMENT_ID), str) or len(body[DEPLOYMENT_ID]) > 255:
            raise LaunchError("deployment_unknown", "deployment_id not a string of <=255")

    def _validate_login(self) -> None:
        state = self._get_request_param("state")
        if not state:
            raise LaunchError("state_missing")
        self._state = state
        login = self._sessions.get_login(state)
        if login is None:
            raise LaunchError("state_unknown", "no login with this state")
        if login.consumed_at is not None:
            raise LaunchError("nonce_replayed", "login already consumed")
        if login.expires_at.timestamp() <= time.time():
            raise LaunchError("state_unknown", "login expired")
        bound = self._cookie_service.get_cookie(state) == state or self._storage_verified
        if not bound:
            raise LaunchError("state_mismatch", "state not bound to this browser")
        params = dict(login.params)
        body = self._jwt["body"]
        if params.get("iss") != body["iss"] or params.get("client_id") != self.get_client_id():
            raise LaunchError("state_unknown", "login was for another registration")
        if params.get("nonce") != body["nonce"]:
            raise LaunchError("nonce_invalid")
        hint = params.get("lti_deployment_id")
        if hint and hint != body[DEPLOYMENT_ID]:
            raise LaunchError("deployment_mismatch")
        if body.get(TARGET_LINK_URI) != params.get("target_link_uri"):
            raise LaunchError("target_link_uri_invalid", "claim differs from the login value")

    # -- results ----------------------------------------------------------------------------
    @property
    def claims(self) -> dict[str, Any]:
        assert self._validated, "validate() first"
        body: dict[str, Any] = self._jwt["body"]
        return body
