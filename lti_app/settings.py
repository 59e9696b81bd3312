"""Settings from config/defaults.toml and the environment, validated once at start-up.

A bad value stops the app with a message that names the variable and what is expected.
"""

from __future__ import annotations

import base64
import math
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

import click

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "config" / "defaults.toml"
APP_ENVS = ("production", "development", "testing")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2")
SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")


class SettingsError(ValueError, click.ClickException):
    """A setting is missing or invalid; the message says which and why.

    Also a ClickException, so `flask --app lti_app ...` prints "Error: <message>" and exits 1
    instead of a traceback.
    """

    def __init__(self, message: str) -> None:
        click.ClickException.__init__(self, message)


@dataclass(frozen=True)
class Settings:
    app_env: str
    log_level: str
    public_base_url: str
    database_url: str
    secret_key: str
    # "kid:base64url(32 bytes)" entries, newest first; the first one encrypts.
    encryption_keys: tuple[tuple[str, bytes], ...]
    proxy_fix_hops: int
    max_content_length: int
    oidc_state_ttl: int
    launch_session_ttl: int
    jwt_leeway_seconds: int
    jwt_max_age_seconds: int
    jwks_cache_seconds: int
    platform_cache_seconds: int
    jwks_refetch_min_interval: float
    http_connect_timeout: float
    http_read_timeout: float
    # Write-back workers: Celery over this broker when set, in-process threads otherwise.
    celery_broker_url: str
    writeback_max_attempts: int
    writeback_retry_seconds: float
    writeback_verify_seconds: float
    writeback_lease_seconds: int
    writeback_sweep_seconds: float
    # Pruning of expired logins, sessions and old sync runs: how often, and how long a
    # finished sync run is kept (a course's latest run and latest success are always kept).
    prune_seconds: float
    sync_run_keep_days: int
    # Dynamic Registration: off answers 404; a non-empty allow-list names the only Canvas
    # hosts (configuration/issuer host and registration endpoint host) that may register.
    registration_enabled: bool
    registration_allowed_hosts: frozenset[str]
    # Nightly account-wide sync under Celery beat: cron fields, Canvas origin, account id.
    sync_account_schedule: str
    sync_account_canvas_url: str
    sync_account_id: str
    instance_path: Path

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def url(self, path: str) -> str:
        return self.public_base_url.rstrip("/") + path

    @property
    def http_timeout(self) -> tuple[float, float]:
        return (self.http_connect_timeout, self.http_read_timeout)


def _int(name: str, raw: object, minimum: int = 0) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise SettingsError(f"{name.upper()} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name.upper()} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: object) -> float:
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


def _bool(name: str, raw: object) -> bool:
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name.upper()} must be true or false, got {raw!r}")


_CRON_FIELD = re.compile(r"[0-9*/,\-]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?")


def _cron(name: str, raw: object) -> str:
    """Five cron fields (minute hour day-of-month month day-of-week), or empty."""
    text = " ".join(str(raw).split())
    if text and (len(text.split()) != 5 or not all(map(_CRON_FIELD.fullmatch, text.split()))):
        raise SettingsError(
            f"{name.upper()} must be five cron fields like '0 2 * * *', got {str(raw)!r}"
        )
    return text


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _hosts(name: str, raw: object) -> frozenset[str]:
    hosts = frozenset(h.strip().lower() for h in str(raw).split(",") if h.strip())
    for host in hosts:
        if len(host) > 253 or not _HOST.fullmatch(host):
            raise SettingsError(
                f"{name.upper()} must be comma-separated host names like "
                f"district.instructure.com (no scheme, port or path), got {host!r}"
            )
    return hosts


def _url(name: str, raw: str) -> str:
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


def _database_url(raw: str, instance_path: Path) -> str:
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


def _encryption_keys(raw: str, secret_key: str, app_env: str) -> tuple[tuple[str, bytes], ...]:
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


def _dev_secret_key(instance_path: Path) -> str:
    """A random key kept under instance/ so a development restart keeps sessions valid."""
    path = instance_path / "dev_secret_key"
    if path.exists():
        existing = path.read_text().strip()
        if existing:
            return existing
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created owner-only from the start (no window where the umask makes it readable).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    path.chmod(0o600)
    return key


def load_settings(
    overrides: dict[str, object] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Merge defaults, environment and explicit overrides (tests), then validate."""
    env = dict(os.environ if environ is None else environ)
    with DEFAULTS_FILE.open("rb") as fh:
        merged: dict[str, object] = dict(tomllib.load(fh))
    for key in [*merged, "secret_key", "encryption_keys", "instance_path"]:
        if key.upper() in env:
            merged[key] = env[key.upper()]
    merged.update(overrides or {})

    app_env = str(merged.get("app_env", "production")).lower()
    if app_env not in APP_ENVS:
        raise SettingsError(f"APP_ENV must be one of {', '.join(APP_ENVS)}, got {app_env!r}")
    log_level = str(merged["log_level"]).upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    instance_path = Path(str(merged.get("instance_path") or PROJECT_ROOT / "instance"))

    secret_key = str(merged.get("secret_key") or "")
    if not secret_key:
        if app_env == "production":
            raise SettingsError(
                "SECRET_KEY is required in production (set APP_ENV=development for the demo)"
            )
        secret_key = _dev_secret_key(instance_path)
    elif app_env == "production" and len(secret_key) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters in production")

    public_base_url = _url("PUBLIC_BASE_URL", str(merged["public_base_url"]))
    if app_env == "production" and not public_base_url.startswith("https://"):
        raise SettingsError("PUBLIC_BASE_URL must be https:// in production (Canvas needs TLS)")

    values = dict(
        app_env=app_env,
        log_level=log_level,
        public_base_url=public_base_url,
        database_url=_database_url(str(merged.get("database_url") or ""), instance_path),
        secret_key=secret_key,
        encryption_keys=_encryption_keys(
            str(merged.get("encryption_keys") or ""), secret_key, app_env
        ),
        proxy_fix_hops=_int("proxy_fix_hops", merged["proxy_fix_hops"]),
        max_content_length=_int("max_content_length", merged["max_content_length"], 1024),
        oidc_state_ttl=_int("oidc_state_ttl", merged["oidc_state_ttl"], 30),
        launch_session_ttl=_int("launch_session_ttl", merged["launch_session_ttl"], 60),
        jwt_leeway_seconds=_int("jwt_leeway_seconds", merged["jwt_leeway_seconds"]),
        jwt_max_age_seconds=_int("jwt_max_age_seconds", merged["jwt_max_age_seconds"], 10),
        jwks_cache_seconds=_int("jwks_cache_seconds", merged["jwks_cache_seconds"]),
        platform_cache_seconds=_int("platform_cache_seconds", merged["platform_cache_seconds"]),
        jwks_refetch_min_interval=_float(
            "jwks_refetch_min_interval", merged["jwks_refetch_min_interval"]
        ),
        http_connect_timeout=_float("http_connect_timeout", merged["http_connect_timeout"]),
        http_read_timeout=_float("http_read_timeout", merged["http_read_timeout"]),
        celery_broker_url=str(merged.get("celery_broker_url") or ""),
        writeback_max_attempts=_int("writeback_max_attempts", merged["writeback_max_attempts"], 1),
        writeback_retry_seconds=_float(
            "writeback_retry_seconds", merged["writeback_retry_seconds"]
        ),
        writeback_verify_seconds=_float(
            "writeback_verify_seconds", merged["writeback_verify_seconds"]
        ),
        writeback_lease_seconds=_int(
            "writeback_lease_seconds", merged["writeback_lease_seconds"], 1
        ),
        writeback_sweep_seconds=_float(
            "writeback_sweep_seconds", merged["writeback_sweep_seconds"]
        ),
        prune_seconds=_float("prune_seconds", merged["prune_seconds"]),
        sync_run_keep_days=_int("sync_run_keep_days", merged["sync_run_keep_days"], 1),
        registration_enabled=_bool("registration_enabled", merged["registration_enabled"]),
        registration_allowed_hosts=_hosts(
            "registration_allowed_hosts", merged["registration_allowed_hosts"]
        ),
        sync_account_schedule=_cron(
            "sync_account_schedule", merged.get("sync_account_schedule") or ""
        ),
        sync_account_canvas_url=str(merged.get("sync_account_canvas_url") or "").rstrip("/"),
        sync_account_id=str(merged.get("sync_account_id") or "").strip(),
        instance_path=instance_path,
    )
    assert {f.name for f in fields(Settings)} == set(values)
    return Settings(**values)  # type: ignore[arg-type]
