"""A fake Canvas platform for tests: an RSA key, a JWKS, and Canvas-shaped id_tokens.

Claims follow docs/canvas.md §7.4; tokens are real RS256 JWTs signed with a test
key generated per test session (no key material in the repo).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

TOOL_BASE = "https://tool.test"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = LIS + "membership#Instructor"
LEARNER = LIS + "membership#Learner"
TA = LIS + "membership/Instructor#TeachingAssistant"
INSTITUTION_INSTRUCTOR = LIS + "institution/person#Instructor"
INSTITUTION_STUDENT = LIS + "institution/person#Student"
ADMIN = LIS + "institution/person#Administrator"
SYSTEM_USER = LIS + "system/person#User"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One 2048-bit key per name per test session (generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakePlatform:
    issuer: str = "https://canvas.test.example"
    client_id: str = "10000000000042"
    deployment_id: str = "7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
    canvas_url: str = "https://school.canvas.test.example"
    auth_url: str = "https://sso.canvas.test.example/api/lti/authorize_redirect"
    token_url: str = "https://sso.canvas.test.example/login/oauth2/token"
    jwks_url: str = "https://sso.canvas.test.example/api/lti/security/jwks"
    kid: str = "2026-11-01T00:00:00Z"
    key_name: str = "platform-a"
    extra_keys: dict[str, str] = field(default_factory=dict)  # kid -> key name

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        return rsa_key(self.key_name)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, name in {self.kid: self.key_name, **self.extra_keys}.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key(name).public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def cli_args(self) -> list[str]:
        return [
            "platform",
            "add",
            "--issuer",
            self.issuer,
            "--client-id",
            self.client_id,
            "--deployment-id",
            self.deployment_id,
            "--auth-url",
            self.auth_url,
            "--token-url",
            self.token_url,
            "--jwks-url",
            self.jwks_url,
            "--canvas-url",
            self.canvas_url,
        ]

    def claims(
        self,
        nonce: str,
        roles: list[str] | None = None,
        target_link_uri: str = TOOL_BASE + "/lti/launch?placement=course",
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
            "sub": str(uuid.uuid4()),
            "exp": now + 3600,
            "iat": now,
            "nonce": nonce,
            "name": "Carrie A Lowell",
            "given_name": "Carrie",
            "family_name": "Lowell",
            "email": "clowell@school.example",
            "locale": "en",
            CLAIM + "deployment_id": self.deployment_id,
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "target_link_uri": target_link_uri,
            CLAIM + "resource_link": {"id": "a1b2c3d4e5", "title": "Mastery Pathways"},
            CLAIM + "roles": roles
            if roles is not None
            else [INSTRUCTOR, INSTITUTION_INSTRUCTOR, SYSTEM_USER],
            CLAIM + "context": {
                "id": "4dde05e8ca1973bcca9bffc13e1548820eee93a3",
                "label": "ALG-1",
                "title": "Algebra I – Period 3",
                "type": [LIS.replace("/v2/", "/v2/course#") + "CourseOffering"],
            },
            CLAIM + "tool_platform": {
                "guid": "q5b9rRKQz6cYvjG0GwGN4rBZaOl9Q2tL:canvas-lms",
                "name": "Example School District",
                "version": "cloud",
                "product_family_code": "canvas",
            },
            CLAIM + "launch_presentation": {
                "document_target": "iframe",
                "return_url": self.canvas_url
                + "/courses/101/external_content/success/external_tool_redirect",
                "locale": "en",
            },
            CLAIM + "custom": {
                "canvas_course_id": "101",
                "canvas_user_id": "812",
                "canvas_api_base": self.canvas_url,
                "canvas_roles": "TeacherEnrollment",
            },
            CLAIM + "lis": {"person_sourcedid": "SIS-812", "course_offering_sourcedid": "ALG1-P3"},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"],
                "lineitems": self.canvas_url + "/api/lti/courses/101/line_items",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": self.canvas_url + "/api/lti/courses/101/names_and_roles",
                "service_versions": ["2.0"],
            },
            "https://www.instructure.com/placement": "course_navigation",
        }

    def sign(
        self,
        claims: dict[str, Any],
        headers: dict[str, Any] | None = None,
        key_name: str | None = None,
    ) -> str:
        hdr = {"kid": self.kid} if headers is None else headers
        return jwt.encode(
            claims, rsa_key(key_name or self.key_name), algorithm="RS256", headers=hdr
        )


def login_params(platform: FakePlatform, **extra: str) -> dict[str, str]:
    params = {
        "iss": platform.issuer,
        "login_hint": "535fa085f22b4655f48cd5a36a9215f64c062838",
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
        "target_link_uri": TOOL_BASE + "/lti/launch?placement=course",
        "lti_message_hint": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.c2ln",
        "canvas_environment": "prod",
        "canvas_region": "us-east-1",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def auth_query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def without(claims: dict[str, Any], *names: str) -> dict[str, Any]:
    out = copy.deepcopy(claims)
    for name in names:
        out.pop(
            name
            if name.startswith(
                (
                    "http",
                    "iss",
                    "aud",
                    "sub",
                    "exp",
                    "iat",
                    "nonce",
                    "azp",
                    "name",
                    "email",
                    "given_name",
                    "family_name",
                )
            )
            else CLAIM + name,
            None,
        )
    return out
