"""The tool's key pairs: created on first need, rotated by `flask keys rotate`.

The JWKS publishes the current key and, during rotation, the previous one, so a platform
that cached the old key can still verify what was signed just before the rotation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.crypto import KeyRing
from lti_app.models.keys import SLOT_CURRENT, SLOT_PREVIOUS, ToolKey


def _new_key(keyring: KeyRing) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = JWK.from_pem(public_pem)
    kid = jwk.thumbprint()  # RFC 7638, as pylti1p3's Registration.get_kid() computes it
    public_jwk: dict[str, str] = {
        **json.loads(jwk.export_public()),
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
    }
    key = ToolKey(kid=kid, public_jwk=public_jwk, slot=SLOT_CURRENT)
    key.private_pem_encrypted = keyring.encrypt(pem, key.private_aad())
    return key


def ensure_current_key(session: Session, keyring: KeyRing) -> ToolKey:
    current = session.scalar(select(ToolKey).where(ToolKey.slot == SLOT_CURRENT))
    if current is not None:
        return current
    key = _new_key(keyring)
    try:
        with session.begin_nested():
            session.add(key)
    except IntegrityError:
        # Another process installed a current key first; use theirs.
        current = session.scalar(select(ToolKey).where(ToolKey.slot == SLOT_CURRENT))
        assert current is not None
        return current
    return key


def rotate(session: Session, keyring: KeyRing) -> tuple[ToolKey, ToolKey | None]:
    """New current key; the old current becomes previous; the old previous is retired."""
    now = datetime.now(UTC)
    old_current = session.scalar(select(ToolKey).where(ToolKey.slot == SLOT_CURRENT))
    session.execute(
        update(ToolKey).where(ToolKey.slot == SLOT_PREVIOUS).values(slot=None, retired_at=now)
    )
    session.flush()
    if old_current is not None:
        old_current.slot = SLOT_PREVIOUS
        session.flush()
    new = _new_key(keyring)
    session.add(new)
    session.flush()
    return new, old_current


def published_jwks(session: Session, keyring: KeyRing) -> dict[str, list[dict[str, Any]]]:
    ensure_current_key(session, keyring)
    keys = session.scalars(
        select(ToolKey)
        .where(ToolKey.slot.in_([SLOT_CURRENT, SLOT_PREVIOUS]))
        .order_by(ToolKey.id.desc())
    )
    return {"keys": [dict(k.public_jwk) for k in keys]}


def current_private_pem(session: Session, keyring: KeyRing) -> tuple[str, str]:
    """(kid, PEM) of the signing key."""
    key = ensure_current_key(session, keyring)
    return key.kid, keyring.decrypt(key.private_pem_encrypted, key.private_aad())
