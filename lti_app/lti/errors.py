"""Launch failures: a reason code for the log, a status, and words for people.

Every rejected login or launch ends in one of these; views render them as an HTML page that
says what went wrong and what to tell the district admin, and log the code (never the token).
"""

from __future__ import annotations

from dataclasses import dataclass

from lti_app.translatable import Text, _l


@dataclass(frozen=True)
class Reason:
    status: int
    title: Text
    advice: Text


_CONFIG = _l("Ask your district's Canvas admin to check the Mastery Pathways installation.")
_RELAUNCH = _l("Open Mastery Pathways again from the course navigation in Canvas.")

REASONS: dict[str, Reason] = {
    # Token shape and signature.
    "jwt_malformed": Reason(400, _l("The launch message is not a valid LTI 1.3 token."), _CONFIG),
    "kid_missing": Reason(401, _l("The launch was signed without a key id."), _CONFIG),
    "kid_unknown": Reason(
        401, _l("The launch was signed with a key Canvas does not publish."), _CONFIG
    ),
    "alg_not_allowed": Reason(401, _l("The launch was not signed with RS256."), _CONFIG),
    "signature_invalid": Reason(401, _l("The launch signature does not verify."), _CONFIG),
    "jwks_unavailable": Reason(
        503,
        _l("Canvas's signing keys could not be fetched right now."),
        _l("Wait a minute and open the tool again; if it persists, tell your Canvas admin."),
    ),
    # Who is launching.
    "iss_missing": Reason(400, _l("The launch does not say which Canvas sent it."), _CONFIG),
    "iss_unknown": Reason(
        400, _l("This Canvas instance is not registered with Mastery Pathways."), _CONFIG
    ),
    "client_unknown": Reason(
        400, _l("This Canvas developer key is not registered with Mastery Pathways."), _CONFIG
    ),
    "aud_invalid": Reason(401, _l("The launch was meant for a different tool."), _CONFIG),
    "azp_missing": Reason(401, _l("The launch names several audiences but no party."), _CONFIG),
    "azp_invalid": Reason(401, _l("The launch was authorized for a different tool."), _CONFIG),
    "deployment_missing": Reason(400, _l("The launch does not name its deployment."), _CONFIG),
    "deployment_unknown": Reason(
        403, _l("This installation (deployment) of the tool is not registered."), _CONFIG
    ),
    "deployment_mismatch": Reason(
        401, _l("The launch deployment differs from the one the login started with."), _RELAUNCH
    ),
    # Time.
    "expired": Reason(401, _l("The launch has expired."), _RELAUNCH),
    "iat_future": Reason(401, _l("The launch was issued in the future."), _CONFIG),
    "iat_too_old": Reason(401, _l("The launch is too old to accept."), _RELAUNCH),
    # Replay and browser binding.
    "nonce_missing": Reason(401, _l("The launch has no nonce."), _CONFIG),
    "nonce_invalid": Reason(401, _l("The launch nonce was not issued by this tool."), _RELAUNCH),
    "nonce_replayed": Reason(401, _l("This launch was already used."), _RELAUNCH),
    "state_missing": Reason(400, _l("The launch is missing its state."), _RELAUNCH),
    "state_unknown": Reason(401, _l("The launch does not match a login started here."), _RELAUNCH),
    "state_mismatch": Reason(
        401,
        _l("Your browser did not keep the sign-in cookie for this launch."),
        _l(
            "Allow cookies for this site or open the tool in a new window, then try again. "
            "Open Mastery Pathways again from the course navigation in Canvas."
        ),
    ),
    "target_link_uri_invalid": Reason(
        401, _l("The launch points at an address that is not this tool."), _CONFIG
    ),
    # Message content.
    "version_missing": Reason(400, _l("The launch does not say its LTI version."), _CONFIG),
    "version_invalid": Reason(400, _l("The launch is not LTI 1.3.0."), _CONFIG),
    "message_type_missing": Reason(400, _l("The launch does not say its message type."), _CONFIG),
    "message_type_unsupported": Reason(
        400, _l("This kind of LTI message is not supported here."), _CONFIG
    ),
    "roles_missing": Reason(400, _l("The launch carries no roles claim."), _CONFIG),
    "roles_invalid": Reason(400, _l("The launch roles claim is not a list."), _CONFIG),
    "resource_link_missing": Reason(400, _l("The launch has no resource link id."), _CONFIG),
    "sub_missing": Reason(400, _l("The launch does not identify a user."), _CONFIG),
    "claims_missing": Reason(400, _l("The launch is missing required LTI claims."), _CONFIG),
    # Login initiation.
    "login_hint_missing": Reason(400, _l("The login request has no login hint."), _CONFIG),
    "client_ambiguous": Reason(
        400,
        _l("Several tools are registered for this Canvas; the login did not say which."),
        _CONFIG,
    ),
    # The platform answered the authorization request with an OIDC error instead of a token.
    "platform_login_required": Reason(
        401,
        _l("Canvas could not confirm who you are for this launch."),
        _l(
            "Sign in to Canvas in this browser (reload the Canvas page), then open Mastery "
            "Pathways again from the course navigation in Canvas."
        ),
    ),
    "platform_error": Reason(400, _l("Canvas refused to start the launch."), _CONFIG),
    # Request shape.
    "bad_request": Reason(400, _l("The request could not be read."), _RELAUNCH),
    "method_not_allowed": Reason(
        405, _l("This address only accepts launches sent by Canvas."), _RELAUNCH
    ),
    "body_too_large": Reason(413, _l("The request was too large."), _CONFIG),
}


class LaunchError(Exception):
    """A rejected login or launch; `detail` goes to the log only."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in REASONS:
            raise ValueError(f"unknown launch reason code {code!r}")
        super().__init__(code)
        self.code = code
        self.detail = detail

    @property
    def reason(self) -> Reason:
        return REASONS[self.code]

    @property
    def status(self) -> int:
        return self.reason.status
