"""OIDC login initiation on pylti1p3, with Canvas's parameters checked and carried along."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import OIDCException
from pylti1p3.registration import Registration

from lti_app.lti.errors import LaunchError
from lti_app.lti.state_store import DbSessionService, PartitionedCookieService
from lti_app.lti.tool_conf import DbToolConf

LAUNCH_PATH = "/lti/launch"


def check_target_link_uri(target_link_uri: str | None, public_origin: str) -> str:
    """The login's target must be one of our launch URLs, so we never redirect elsewhere."""
    if not target_link_uri:
        raise LaunchError("target_link_uri_invalid", "no target_link_uri at login")
    parts = urlsplit(target_link_uri)
    if f"{parts.scheme}://{parts.netloc}" != public_origin or parts.path != LAUNCH_PATH:
        raise LaunchError("target_link_uri_invalid", "target_link_uri not on this tool")
    return target_link_uri


class HardenedOIDCLogin(FlaskOIDCLogin):  # type: ignore[misc]
    def __init__(
        self,
        request: FlaskRequest,
        tool_conf: DbToolConf,
        session_service: DbSessionService,
        cookie_service: PartitionedCookieService,
        state_params: dict[str, Any],
    ) -> None:
        super().__init__(
            request, tool_conf, session_service=session_service, cookie_service=cookie_service
        )
        self._tool_conf_db = tool_conf
        self._base_params = state_params
        self.state: str | None = None

    def _get_uuid(self) -> str:
        return secrets.token_urlsafe(24)  # 192 bits from the CSPRNG, not uuid4/uuid1

    def _generate_nonce(self) -> str:
        nonce = secrets.token_urlsafe(24)
        # Stored with the state, so the launch can require "issued by us for this state".
        self._state_params = {**self._base_params, "nonce": nonce}
        return nonce

    def validate_oidc_login(self) -> Registration:
        iss = self._get_request_param("iss")
        if not iss:
            raise LaunchError("iss_missing")
        if not self._get_request_param("login_hint"):
            raise LaunchError("login_hint_missing")
        client_id = self._get_request_param("client_id")
        if not client_id:
            count = self._tool_conf_db.issuer_client_count(iss)
            if count > 1:
                raise LaunchError("client_ambiguous")
            client_id = self._tool_conf_db.only_client_id(iss)
        registration = self._tool_conf_db.find_registration_by_params(iss, client_id)
        if registration is None:
            known = self._tool_conf_db.issuer_client_count(iss) > 0
            raise LaunchError("client_unknown" if known else "iss_unknown")
        self._base_params = {
            **self._base_params,
            "iss": iss,
            "client_id": registration.get_client_id(),
        }
        return registration

    def auth_redirect_url(self, redirect_uri: str) -> str:
        """Build the authorization URL (and queue the state cookie)."""
        try:
            url: str = self.get_redirect_object(redirect_uri).get_redirect_url()
        except OIDCException as exc:
            raise LaunchError("bad_request", str(exc)) from exc
        return url
