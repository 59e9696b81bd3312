"""Encryption at rest: AES-256-GCM with a key id and associated data.

The associated data binds a ciphertext to its row (for example "tool_key:<kid>"), so a value
copied into another row fails to decrypt. Keys come from ENCRYPTION_KEYS, newest first.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"


class DecryptionError(Exception):
    """The ciphertext is unreadable with the configured keys or was moved to another row."""


class KeyRing:
    def __init__(self, keys: tuple[tuple[str, bytes], ...]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._current_kid = keys[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in keys}

    def encrypt(self, plaintext: str, associated_data: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self._current_kid].encrypt(
            nonce, plaintext.encode(), associated_data.encode()
        )
        blob = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{FORMAT_VERSION}:{self._current_kid}:{blob}"

    def decrypt(self, token: str, associated_data: str) -> str:
        try:
            version, kid, blob = token.split(":", 2)
        except ValueError:
            raise DecryptionError("not an encrypted value") from None
        if version != FORMAT_VERSION or kid not in self._keys:
            raise DecryptionError(f"no key {kid!r} for this value")
        try:
            raw = base64.urlsafe_b64decode(blob)
        except ValueError:
            raise DecryptionError("not an encrypted value") from None
        # 12-byte nonce, then the ciphertext with its 16-byte tag.
        if len(raw) < 12 + 16:
            raise DecryptionError("not an encrypted value")
        try:
            return self._keys[kid].decrypt(raw[:12], raw[12:], associated_data.encode()).decode()
        except InvalidTag:
            raise DecryptionError("value does not belong to this row or key") from None

    def needs_rotation(self, token: str) -> bool:
        """True unless `token` is already sealed with the current key (malformed: True)."""
        parts = token.split(":", 2)
        return len(parts) != 3 or parts[0] != FORMAT_VERSION or parts[1] != self._current_kid
