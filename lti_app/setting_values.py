"""How each kind of setting is read and checked: numbers, switches, host lists, cron fields,
the tool's origin, the database URL and the encryption keys. A bad value raises SettingsError
with a message that names the variable and what is expected."""

from __future__ import annotations

import base64
import math
import re
from pathlib import Path
from urllib.parse import urlsplit

import click

POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")


class SettingsError(ValueError, click.ClickException):
    """A setting is missing or invalid; the message says which and why.

    Also a ClickException, so `flask --app lti_app ...` prints "Error: <message>" and exits 1
    instead of a traceback.
    """

    def __init__(self, message: str) -> None:
        click.ClickException.__init__(self, message)


def as_int(name: str, raw: object, minimum: int = 0) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise SettingsError(f"{name.upper()} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name.upper()} must be at least {minimum}, got {value}")
    return value


def as_float(name: str, raw: object) -> float:
    try:
        value = float(str(raw))
    except ValueError:
        raise SettingsError(f"{name.upper()} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        # "inf" would mean "no timeout" and "nan" compares false with everything.
        raise SettingsError(f"{name.upper()} must be a finite number, got {raw!r}")
    if value <= 0:
        raise SettingsError(f"{name.upper()} must be greater than 0, got {value}")
    return value


def as_bool(name: str, raw: object) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name.upper()} must be true or false, got {raw!r}")


_CRON_FIELD = re.compile(r"[0-9*/,\-]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?")


def as_cron(name: str, raw: object) -> str:
    """Five cron fields (minute hour day-of-month month day-of-week), or empty."""
    text = " ".join(str(raw).split())
    if text and (len(text.split()) != 5 or not all(map(_CRON_FIELD.fullmatch, text.split()))):
        raise SettingsError(
            f"{name.upper()} must be five cron fields like '0 2 * * *', got {str(raw)!r}"
        )
    return text


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def as_hosts(name: str, raw: object) -> frozenset[str]:
    hosts = frozenset(h.strip().lower() for h in str(raw).split(",") if h.strip())
    for host in hosts:
        if len(host) > 253 or not _HOST.fullmatch(host):
            raise SettingsError(
                f"{name.upper()} must be comma-separated host names like "
                f"district.instructure.com (no scheme, port or path), got {host!r}"
            )
    return hosts


def as_origin(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    # The launch checks target_link_uri against origin + "/lti/launch", so a path prefix,
    # a query or a fragment would make every launch fail later; say so at start-up.
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise SettingsError(
            f"{name} must be the tool's origin only, like https://tool.example.org "
            f"(no path, query, fragment or user), got {raw!r}"
        )
    return raw.rstrip("/")


def as_database_url(raw: str, instance_path: Path) -> str:
    if not raw:
        return f"sqlite:///{instance_path / 'mastery_pathways.sqlite3'}"
    scheme, sep, rest = raw.partition("://")
    if sep and scheme in POSTGRES_SCHEMES and rest:
        # SQLAlchemy needs the driver named; accept the common postgres:// spellings too.
        return f"postgresql+psycopg://{rest}"
    if sep and scheme in SQLITE_SCHEMES:
        return raw
    # Only the scheme in the message: the URL may hold a password.
    raise SettingsError(
        "DATABASE_URL must be a postgresql://user:password@host/db or sqlite:///path URL, "
        f"got scheme {raw.split(':', 1)[0]!r}"
    )


def as_encryption_keys(raw: str, secret_key: str, app_env: str) -> tuple[tuple[str, bytes], ...]:
    if not raw:
        if app_env == "production":
            raise SettingsError(
                "ENCRYPTION_KEYS is required in production: one or more 'kid:key' entries, "
                "comma-separated, newest first; make a key with "
                '`python -c "import secrets,base64;'
                'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())"`'
            )
        # Development and tests derive a stable key from SECRET_KEY so nothing needs set-up.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"mastery-pathways-at-rest"
        ).derive(secret_key.encode())
        return (("dev", derived),)
    keys: list[tuple[str, bytes]] = []
    for entry in raw.split(","):
        kid, sep, b64 = entry.strip().partition(":")
        if not sep or not kid:
            raise SettingsError("ENCRYPTION_KEYS entries must look like 'kid:base64key'")
        try:
            key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        except ValueError:
            raise SettingsError(f"ENCRYPTION_KEYS key {kid!r} is not base64") from None
        if len(key) != 32:
            raise SettingsError(f"ENCRYPTION_KEYS key {kid!r} must be 32 bytes, got {len(key)}")
        keys.append((kid, key))
    if len({kid for kid, _ in keys}) != len(keys):
        raise SettingsError("ENCRYPTION_KEYS has a repeated kid")
    return tuple(keys)
