"""Encryption at rest: AES-256-GCM with key ids, associated data and key rotation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lti_app.crypto import FORMAT_VERSION, DecryptionError, KeyRing

OLD = ("2025-01", bytes(range(32)))
NEW = ("2026-01", bytes(range(32, 64)))
OTHER = ("other", bytes([7]) * 32)
AAD = "tool_key:abc"


def test_round_trip() -> None:
    ring = KeyRing((NEW,))
    token = ring.encrypt("-----BEGIN PRIVATE KEY-----\nsecret\n", AAD)
    assert ring.decrypt(token, AAD) == "-----BEGIN PRIVATE KEY-----\nsecret\n"


def test_round_trip_unicode_and_empty() -> None:
    ring = KeyRing((NEW,))
    for text in ("", "ünïcødé ✓ 数学", "x" * 10_000):
        assert ring.decrypt(ring.encrypt(text, AAD), AAD) == text


def test_token_format_names_version_and_key_and_hides_plaintext() -> None:
    ring = KeyRing((NEW,))
    token = ring.encrypt("client-secret-value", AAD)
    version, kid, blob = token.split(":", 2)
    assert (version, kid) == (FORMAT_VERSION, NEW[0])
    assert "client-secret-value" not in token
    raw = base64.urlsafe_b64decode(blob)
    assert len(raw) == 12 + len("client-secret-value") + 16  # nonce + ciphertext + tag


def test_ciphertext_is_real_aes_gcm_with_the_associated_data() -> None:
    """Independent check with the primitive: the format is nonce || AESGCM(ct+tag)."""
    ring = KeyRing((NEW,))
    raw = base64.urlsafe_b64decode(ring.encrypt("hello", AAD).split(":", 2)[2])
    assert AESGCM(NEW[1]).decrypt(raw[:12], raw[12:], AAD.encode()) == b"hello"


def test_nonce_is_fresh_each_time() -> None:
    ring = KeyRing((NEW,))
    tokens = {ring.encrypt("same", AAD) for _ in range(20)}
    assert len(tokens) == 20


def test_wrong_associated_data_fails() -> None:
    """A ciphertext copied into another row (other AAD) does not decrypt."""
    ring = KeyRing((NEW,))
    token = ring.encrypt("secret of row 1", "platform:https://a:1:api_client_secret")
    with pytest.raises(DecryptionError, match="does not belong to this row"):
        ring.decrypt(token, "platform:https://a:2:api_client_secret")
    with pytest.raises(DecryptionError):
        ring.decrypt(token, "")


def test_tampered_ciphertext_fails() -> None:
    ring = KeyRing((NEW,))
    version, kid, blob = ring.encrypt("secret", AAD).split(":", 2)
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[-1] ^= 0x01
    tampered = f"{version}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        ring.decrypt(tampered, AAD)


def test_relabelled_kid_fails() -> None:
    """Claiming another configured key for a ciphertext does not help an attacker."""
    ring = KeyRing((NEW, OLD))
    _version, _kid, blob = ring.encrypt("secret", AAD).split(":", 2)
    with pytest.raises(DecryptionError):
        ring.decrypt(f"{FORMAT_VERSION}:{OLD[0]}:{blob}", AAD)


def test_unknown_kid_fails() -> None:
    token = KeyRing((OTHER,)).encrypt("secret", AAD)
    with pytest.raises(DecryptionError, match="no key 'other'"):
        KeyRing((NEW, OLD)).decrypt(token, AAD)


def test_same_kid_different_key_fails() -> None:
    token = KeyRing((NEW,)).encrypt("secret", AAD)
    with pytest.raises(DecryptionError):
        KeyRing(((NEW[0], OTHER[1]),)).decrypt(token, AAD)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plaintext",
        "v1:only-two",
        f"v2:{NEW[0]}:AAAA",
        f"v1:{NEW[0]}:",
        f"v1:{NEW[0]}:AAAA",  # shorter than nonce + tag
        f"v1:{NEW[0]}:!!!!not-base64",
        f"v1:{NEW[0]}:A",
    ],
)
def test_malformed_values_raise_decryption_error(token: str) -> None:
    with pytest.raises(DecryptionError):
        KeyRing((NEW,)).decrypt(token, AAD)


def test_key_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    before = KeyRing((OLD,))
    old_token = before.encrypt("secret", AAD)
    assert before.needs_rotation(old_token) is False

    after = KeyRing((NEW, OLD))  # the new key goes first
    assert after.decrypt(old_token, AAD) == "secret"
    assert after.needs_rotation(old_token) is True

    new_token = after.encrypt(after.decrypt(old_token, AAD), AAD)
    assert new_token.split(":")[1] == NEW[0]
    assert after.needs_rotation(new_token) is False
    assert after.decrypt(new_token, AAD) == "secret"

    # Once every value is re-encrypted the old key can go.
    assert KeyRing((NEW,)).decrypt(new_token, AAD) == "secret"
    with pytest.raises(DecryptionError):
        KeyRing((NEW,)).decrypt(old_token, AAD)
    # And the old key alone cannot read what the new key sealed.
    with pytest.raises(DecryptionError):
        before.decrypt(new_token, AAD)


@pytest.mark.parametrize("token", ["", "garbage", "v1:x", f"v0:{NEW[0]}:AAAA"])
def test_needs_rotation_for_malformed_values(token: str) -> None:
    assert KeyRing((NEW,)).needs_rotation(token) is True


def test_empty_keyring_rejected() -> None:
    with pytest.raises(ValueError, match="at least one encryption key"):
        KeyRing(())
