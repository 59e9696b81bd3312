"""The platform's id_token signing keys: a published JWKS, one current key, rotation.

Canvas rotates monthly and keeps the previous key published, so tools that cache by ``kid``
keep verifying tokens signed just before the switch. ``kid`` is a timestamp, as in Canvas.
Keys live only in memory (a restart makes new ones; tools refetch on an unknown kid).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from canvas_sandbox.state import SandboxState

SIGNING_KEYS = "lti_signing_keys"
KEEP_PUBLISHED = 3  # current + the two before it


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    created_at: float

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        # Canvas publishes kty, e, n, kid, alg, use (no key_ops).
        return {"kty": jwk["kty"], "e": jwk["e"], "n": jwk["n"], "kid": self.kid} | {
            "alg": "RS256",
            "use": "sig",
        }


def _keys(state: SandboxState) -> dict[str, SigningKey]:
    return state.table(SIGNING_KEYS)


def _new_kid(existing: dict[str, SigningKey]) -> str:
    kid = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    n = 1
    base = kid
    while kid in existing:  # two rotations within one second
        n += 1
        kid = f"{base}-{n}"
    return kid


def rotate(state: SandboxState) -> SigningKey:
    """Add a new key and sign with it from now on; older keys stay published."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with state.lock:
        keys = _keys(state)
        key = SigningKey(_new_kid(keys), private_key, time.time())
        keys[key.kid] = key
        for old in sorted(keys.values(), key=lambda k: k.created_at)[:-KEEP_PUBLISHED]:
            del keys[old.kid]
        return key


def current(state: SandboxState) -> SigningKey:
    with state.lock:
        keys = _keys(state)
        if not keys:
            return rotate(state)
        return max(keys.values(), key=lambda k: k.created_at)


def jwks(state: SandboxState) -> dict[str, Any]:
    current(state)  # a fresh sandbox publishes a key before its first launch
    with state.lock:
        ordered = sorted(_keys(state).values(), key=lambda k: k.created_at, reverse=True)
    return {"keys": [k.public_jwk() for k in ordered]}


def sign(state: SandboxState, claims: dict[str, Any]) -> str:
    key = current(state)
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})
