"""The tool's signing keys: encrypted at rest, published at /.well-known/jwks.json, rotated."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from sqlalchemy import select, text

from lti_app.crypto import DecryptionError, KeyRing
from lti_app.db import session_scope
from lti_app.lti.tool_keys import (
    current_private_pem,
    ensure_current_key,
    published_jwks,
    rotate,
)
from lti_app.models.keys import SLOT_CURRENT, SLOT_PREVIOUS, ToolKey
from lti_app.services import services
from tests.conftest import make_app
from tests.lti_platform import TOOL_BASE

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def keyring(app: Flask) -> KeyRing:
    with app.app_context():
        return services().keyring


def get_jwks(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/.well-known/jwks.json", base_url=TOOL_BASE)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def do_rotate(app: Flask) -> str:
    with session_scope(app) as db:
        new, _old = rotate(db, keyring(app))
        return new.kid


def signing_key(app: Flask) -> tuple[str, str]:
    with session_scope(app) as db:
        return current_private_pem(db, keyring(app))


def raw_key_rows(app: Flask) -> list[tuple[str, str | None, str]]:
    with app.extensions["db_engine"].connect() as conn:
        rows = conn.execute(
            text("select kid, slot, private_pem_encrypted from tool_key order by id")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint_b64u(value: int) -> str:
    return b64u(value.to_bytes((value.bit_length() + 7) // 8, "big"))


# --- storage ------------------------------------------------------------------------------


def test_private_key_stored_encrypted(backend_url: str, tmp_path: Path) -> None:
    app = make_app(backend_url, tmp_path)
    try:
        kid, pem = signing_key(app)
        [(row_kid, slot, stored)] = raw_key_rows(app)
        assert (row_kid, slot) == (kid, SLOT_CURRENT)
        assert "PRIVATE KEY" not in stored
        assert "BEGIN" not in stored
        assert stored.startswith("v1:dev:")
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")
        # The stored value is the encryption of exactly that PEM, bound to this key's row.
        assert keyring(app).decrypt(stored, f"tool_key:{kid}") == pem
        with pytest.raises(DecryptionError):
            keyring(app).decrypt(stored, "tool_key:another-kid")
    finally:
        app.extensions["db_engine"].dispose()


def test_key_created_once_on_first_need(app: Flask) -> None:
    first = get_jwks(app)
    second = get_jwks(app)
    assert first == second
    assert len(first["keys"]) == 1
    with session_scope(app) as db:
        a = ensure_current_key(db, keyring(app)).kid
        b = ensure_current_key(db, keyring(app)).kid
    assert a == b == first["keys"][0]["kid"]
    assert len(raw_key_rows(app)) == 1


def test_ciphertext_moved_to_another_row_does_not_decrypt(app: Flask) -> None:
    """Copying the old key's ciphertext into the current row makes it unreadable, not wrong."""
    do_rotate(app)
    do_rotate(app)
    with session_scope(app) as db:
        previous = db.scalars(select(ToolKey).where(ToolKey.slot == SLOT_PREVIOUS)).one()
        current = db.scalars(select(ToolKey).where(ToolKey.slot == SLOT_CURRENT)).one()
        current.private_pem_encrypted = previous.private_pem_encrypted
    with session_scope(app) as db, pytest.raises(DecryptionError):
        current_private_pem(db, keyring(app))


def test_encryption_key_rotation_keeps_tool_keys_readable(tmp_path: Path, sqlite_url: str) -> None:
    old = "old:" + b64u(bytes([1]) * 32)
    new = "new:" + b64u(bytes([2]) * 32)
    before = make_app(sqlite_url, tmp_path, encryption_keys=old)
    kid, pem = signing_key(before)
    [(_, _, stored)] = raw_key_rows(before)
    assert stored.startswith("v1:old:")

    after = make_app(sqlite_url, tmp_path, encryption_keys=f"{new},{old}")
    assert signing_key(after) == (kid, pem)
    assert keyring(after).needs_rotation(stored) is True

    only_new = make_app(sqlite_url, tmp_path, encryption_keys=new)
    with session_scope(only_new) as db, pytest.raises(DecryptionError, match="no key 'old'"):
        current_private_pem(db, keyring(only_new))
    for a in (before, after, only_new):
        a.extensions["db_engine"].dispose()


# --- the JWKS endpoint --------------------------------------------------------------------


def test_jwks_entries_have_kid_alg_use_and_no_private_parts(app: Flask) -> None:
    response = app.test_client().get("/.well-known/jwks.json", base_url=TOOL_BASE)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    [key] = response.get_json()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert key["e"] == "AQAB"
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256  # 2048-bit modulus
    assert PRIVATE_MEMBERS.isdisjoint(key)


def test_jwks_publishes_current_and_previous_not_retired(app: Flask) -> None:
    k1 = do_rotate(app)
    assert [k["kid"] for k in get_jwks(app)["keys"]] == [k1]
    k2 = do_rotate(app)
    assert [k["kid"] for k in get_jwks(app)["keys"]] == [k2, k1]
    k3 = do_rotate(app)
    published = get_jwks(app)["keys"]
    assert [k["kid"] for k in published] == [k3, k2]
    assert k1 not in json.dumps(published)
    for key in published:
        assert (key["alg"], key["use"], key["kty"]) == ("RS256", "sig", "RSA")
        assert PRIVATE_MEMBERS.isdisjoint(key)
    # The retired key is still in the table (for the record) but marked retired.
    with session_scope(app) as db:
        retired = db.scalars(select(ToolKey).where(ToolKey.kid == k1)).one()
        assert retired.slot is None
        assert retired.retired_at is not None


def test_kid_is_rfc7638_thumbprint(app: Flask) -> None:
    do_rotate(app)
    do_rotate(app)
    for key in get_jwks(app)["keys"]:
        # RFC 7638, section 3.2: required members only, lexicographic order, no whitespace.
        canonical = json.dumps(
            {"e": key["e"], "kty": "RSA", "n": key["n"]}, separators=(",", ":"), sort_keys=True
        )
        assert key["kid"] == b64u(hashlib.sha256(canonical.encode()).digest())


def test_published_key_matches_the_private_key(app: Flask) -> None:
    kid, pem = signing_key(app)
    private = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.public_key().public_numbers()
    [key] = get_jwks(app)["keys"]
    assert key["kid"] == kid
    assert key["n"] == uint_b64u(numbers.n)
    assert key["e"] == uint_b64u(numbers.e)


def client_assertion(kid: str, pem: str) -> str:
    now = int(time.time())
    claims = {
        "iss": "mastery-pathways",
        "sub": "10000000000042",
        "aud": "https://sso.canvas.test.example/login/oauth2/token",
        "iat": now,
        "exp": now + 300,
        "jti": "abc",
    }
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def verify_with_jwks(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """What Canvas does with our client assertion: pick the key by kid, check RS256."""
    kid = jwt.get_unverified_header(token)["kid"]
    matches = [k for k in jwks["keys"] if k["kid"] == kid]
    if not matches:
        raise LookupError(f"kid {kid} not published")
    key = jwt.PyJWK(matches[0])
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="https://sso.canvas.test.example/login/oauth2/token",
    )
    return claims


def test_published_key_verifies_a_jwt_signed_with_the_private_key(app: Flask) -> None:
    kid, pem = signing_key(app)
    token = client_assertion(kid, pem)
    assert verify_with_jwks(token, get_jwks(app))["sub"] == "10000000000042"
    # A signature by any other key fails against the published key.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"sub": "x", "aud": "https://sso.canvas.test.example/login/oauth2/token"},
        stranger,
        algorithm="RS256",
        headers={"kid": kid},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_jwks(forged, get_jwks(app))


def test_tokens_signed_before_rotation_verify_until_the_key_is_retired(app: Flask) -> None:
    old_kid, old_pem = signing_key(app)
    old_token = client_assertion(old_kid, old_pem)

    new_kid = do_rotate(app)
    kid, pem = signing_key(app)
    assert kid == new_kid != old_kid
    assert pem != old_pem
    jwks = get_jwks(app)
    assert verify_with_jwks(client_assertion(kid, pem), jwks)["iss"] == "mastery-pathways"
    assert verify_with_jwks(old_token, jwks)["iss"] == "mastery-pathways"  # still published

    do_rotate(app)
    with pytest.raises(LookupError):
        verify_with_jwks(old_token, get_jwks(app))


def test_published_jwks_function_matches_endpoint(app: Flask) -> None:
    do_rotate(app)
    do_rotate(app)
    with session_scope(app) as db:
        direct = published_jwks(db, keyring(app))
    assert direct == get_jwks(app)
