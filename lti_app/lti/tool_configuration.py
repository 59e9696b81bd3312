"""What the tool tells Canvas about itself: the developer key JSON and the registration body.

Both describe the same placements, custom fields and URLs, so they are built from one table.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

TITLE = "Mastery Pathways"
DESCRIPTION = (
    "Competency-based mastery: district proficiency scales, student-chosen demonstration "
    "pathways, and mastery written back to Canvas outcomes."
)
CUSTOM_FIELDS = {
    "canvas_course_id": "$Canvas.course.id",
    "canvas_user_id": "$Canvas.user.id",
    "canvas_api_base": "$Canvas.api.baseUrl",
    "canvas_roles": "$Canvas.membership.roles",
    # The user's own time zone: pages show times in it (else in the course's).
    "canvas_user_time_zone": "$Person.address.timezone",
    # An administrator's reach on the district pages: a sub-account (school) admin sees the
    # launch's account and the schools under it, a root account admin the whole district.
    "canvas_account_id": "$Canvas.account.id",
    "canvas_root_account_admin": "$Canvas.user.isRootAccountAdmin",
}
DEFAULT_ENABLED = "https://canvas.instructure.com/lti/course_navigation/default_enabled"
# (placement, link text, launch query)
PLACEMENTS = (
    ("course_navigation", "Mastery Pathways", "course"),
    ("account_navigation", "Mastery Pathways Admin", "account"),
)
LTI_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


def _urls(base: str) -> dict[str, str]:
    return {
        "login": base + "/lti/login",
        "launch": base + "/lti/launch",
        "jwks": base + "/.well-known/jwks.json",
        "icon": base + "/static/icon.svg",
    }


def developer_key_json(base: str) -> dict[str, Any]:
    urls = _urls(base)
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": LTI_SCOPES,
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "domain": urlsplit(base).netloc,
                "tool_id": "mastery-pathways",
                "privacy_level": "public",
                "settings": {
                    "text": TITLE,
                    "icon_url": urls["icon"],
                    "placements": [
                        {
                            "placement": placement,
                            "message_type": "LtiResourceLinkRequest",
                            "target_link_uri": f"{urls['launch']}?placement={query}",
                            "text": text,
                            "icon_url": urls["icon"],
                            **(
                                {"default": "enabled", "visibility": "members"}
                                if placement == "course_navigation"
                                else {}
                            ),
                        }
                        for placement, text, query in PLACEMENTS
                    ],
                },
            }
        ],
        "custom_fields": dict(CUSTOM_FIELDS),
    }


def registration_request(base: str, scopes_supported: list[str] | None) -> dict[str, Any]:
    """LTI Dynamic Registration client metadata (docs/canvas.md §5)."""
    urls = _urls(base)
    scopes = [s for s in LTI_SCOPES if scopes_supported is None or s in scopes_supported]
    return {
        "application_type": "web",
        "grant_types": ["client_credentials", "implicit"],
        "response_types": ["id_token"],
        "token_endpoint_auth_method": "private_key_jwt",
        "client_name": TITLE,
        "initiate_login_uri": urls["login"],
        "redirect_uris": [urls["launch"]],
        "jwks_uri": urls["jwks"],
        "logo_uri": urls["icon"],
        "scope": " ".join(scopes),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": urlsplit(base).netloc,
            "target_link_uri": urls["launch"],
            "description": DESCRIPTION,
            "custom_parameters": dict(CUSTOM_FIELDS),
            "claims": ["sub", "iss", "name", "given_name", "family_name", "email"],
            "messages": [
                {
                    "type": "LtiResourceLinkRequest",
                    "target_link_uri": f"{urls['launch']}?placement={query}",
                    "label": text,
                    "icon_uri": urls["icon"],
                    "placements": [placement],
                    **({DEFAULT_ENABLED: True} if placement == "course_navigation" else {}),
                }
                for placement, text, query in PLACEMENTS
            ],
            "https://canvas.instructure.com/lti/privacy_level": "public",
        },
    }
