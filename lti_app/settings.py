"""Settings from config/defaults.toml and the environment, validated once at start-up.

A bad value stops the app with a message that names the variable and what is expected.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from lti_app.setting_values import (
    SettingsError,
    as_bool,
    as_cron,
    as_database_url,
    as_encryption_keys,
    as_float,
    as_hosts,
    as_int,
    as_origin,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = PROJECT_ROOT / "config" / "defaults.toml"
APP_ENVS = ("production", "development", "testing")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# Whole-number settings and the least value each accepts.
WHOLE_NUMBERS = {
    "proxy_fix_hops": 0,
    "max_content_length": 1024,
    "oidc_state_ttl": 30,
    "launch_session_ttl": 60,
    "jwt_leeway_seconds": 0,
    "jwt_max_age_seconds": 10,
    "jwks_cache_seconds": 0,
    "platform_cache_seconds": 0,
    "writeback_max_attempts": 1,
    "writeback_lease_seconds": 1,
    "sync_run_keep_days": 1,
}
# Settings that are a finite number of seconds greater than zero.
POSITIVE_NUMBERS = (
    "jwks_refetch_min_interval",
    "http_connect_timeout",
    "http_read_timeout",
    "writeback_retry_seconds",
    "writeback_verify_seconds",
    "writeback_sweep_seconds",
    "prune_seconds",
)


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

    public_base_url = as_origin("PUBLIC_BASE_URL", str(merged["public_base_url"]))
    if app_env == "production" and not public_base_url.startswith("https://"):
        raise SettingsError("PUBLIC_BASE_URL must be https:// in production (Canvas needs TLS)")

    values = dict(
        app_env=app_env,
        log_level=log_level,
        public_base_url=public_base_url,
        database_url=as_database_url(str(merged.get("database_url") or ""), instance_path),
        secret_key=secret_key,
        encryption_keys=as_encryption_keys(
            str(merged.get("encryption_keys") or ""), secret_key, app_env
        ),
        celery_broker_url=str(merged.get("celery_broker_url") or ""),
        **{name: as_int(name, merged[name], least) for name, least in WHOLE_NUMBERS.items()},
        **{name: as_float(name, merged[name]) for name in POSITIVE_NUMBERS},
        registration_enabled=as_bool("registration_enabled", merged["registration_enabled"]),
        registration_allowed_hosts=as_hosts(
            "registration_allowed_hosts", merged["registration_allowed_hosts"]
        ),
        sync_account_schedule=as_cron(
            "sync_account_schedule", merged.get("sync_account_schedule") or ""
        ),
        sync_account_canvas_url=str(merged.get("sync_account_canvas_url") or "").rstrip("/"),
        sync_account_id=str(merged.get("sync_account_id") or "").strip(),
        instance_path=instance_path,
    )
    assert {f.name for f in fields(Settings)} == set(values)
    return Settings(**values)  # type: ignore[arg-type]
