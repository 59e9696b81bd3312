"""Settings: defaults, environment, and a clear SettingsError for every bad value."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from lti_app.setting_values import SettingsError
from lti_app.settings import Settings, load_settings

GOOD_SECRET = "s" * 48


def key_b64(seed: int, length: int = 32) -> str:
    return base64.urlsafe_b64encode(bytes([seed]) * length).decode().rstrip("=")


def load(tmp_path: Path, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings for `overrides` with a clean environment (never the developer's shell)."""
    base: dict[str, Any] = {"app_env": "testing", "instance_path": str(tmp_path / "instance")}
    return load_settings({**base, **overrides}, environ=environ or {})


def production_env(**extra: str) -> dict[str, str]:
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": GOOD_SECRET,
        "PUBLIC_BASE_URL": "https://tool.example.org",
        "ENCRYPTION_KEYS": f"k1:{key_b64(1)}",
    }
    env.update(extra)
    return env


# --- defaults ---------------------------------------------------------------------------


def test_defaults_from_config_file(tmp_path: Path) -> None:
    settings = load(tmp_path, secret_key="k")
    assert settings.app_env == "testing"
    assert settings.log_level == "INFO"
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert settings.public_origin == "http://127.0.0.1:5000"
    assert settings.proxy_fix_hops == 0
    assert settings.max_content_length == 262144
    assert settings.oidc_state_ttl == 300
    assert settings.launch_session_ttl == 28800
    assert settings.jwt_leeway_seconds == 60
    assert settings.jwt_max_age_seconds == 300
    assert settings.jwks_cache_seconds == 3600
    assert settings.jwks_refetch_min_interval == 5.0
    assert settings.http_timeout == (3.05, 10.0)
    assert settings.is_production is False


def test_default_database_is_sqlite_under_instance_path(tmp_path: Path) -> None:
    settings = load(tmp_path, secret_key="k")
    expected = tmp_path / "instance" / "mastery_pathways.sqlite3"
    assert settings.database_url == f"sqlite:///{expected}"
    assert settings.instance_path == tmp_path / "instance"


def test_app_env_defaults_to_production_so_a_bare_start_is_safe() -> None:
    # No APP_ENV and no SECRET_KEY: production rules apply and refuse to start.
    with pytest.raises(SettingsError, match="SECRET_KEY is required in production"):
        load_settings(environ={})


def test_dev_encryption_key_derived_from_secret_key(tmp_path: Path) -> None:
    a = load(tmp_path, secret_key="one")
    b = load(tmp_path, secret_key="one")
    c = load(tmp_path, secret_key="two")
    assert a.encryption_keys == b.encryption_keys
    assert a.encryption_keys[0][0] == "dev"
    assert len(a.encryption_keys[0][1]) == 32
    assert a.encryption_keys != c.encryption_keys


def test_url_helper_joins_paths(tmp_path: Path) -> None:
    settings = load(tmp_path, secret_key="k", public_base_url="https://tool.test/")
    assert settings.public_base_url == "https://tool.test"
    assert settings.url("/lti/launch") == "https://tool.test/lti/launch"
    assert settings.public_origin == "https://tool.test"


# --- environment ------------------------------------------------------------------------


def test_environment_variables_are_read(tmp_path: Path) -> None:
    env = {
        "APP_ENV": "development",
        "LOG_LEVEL": "debug",
        "PUBLIC_BASE_URL": "https://mp.district.example",
        "DATABASE_URL": "sqlite:////tmp/other.sqlite3",
        "SECRET_KEY": "from-env",
        "INSTANCE_PATH": str(tmp_path / "inst"),
        "PROXY_FIX_HOPS": "2",
        "OIDC_STATE_TTL": "120",
        "HTTP_CONNECT_TIMEOUT": "1.5",
        "HTTP_READ_TIMEOUT": "4",
        "ENCRYPTION_KEYS": f"new:{key_b64(2)},old:{key_b64(3)}",
    }
    settings = load_settings(environ=env)
    assert settings.app_env == "development"
    assert settings.log_level == "DEBUG"
    assert settings.public_base_url == "https://mp.district.example"
    assert settings.database_url == "sqlite:////tmp/other.sqlite3"
    assert settings.secret_key == "from-env"
    assert settings.instance_path == tmp_path / "inst"
    assert settings.proxy_fix_hops == 2
    assert settings.oidc_state_ttl == 120
    assert settings.http_timeout == (1.5, 4.0)
    assert [kid for kid, _ in settings.encryption_keys] == ["new", "old"]
    assert settings.encryption_keys[0][1] == bytes([2]) * 32


def test_overrides_win_over_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {"log_level": "ERROR", "instance_path": str(tmp_path)},
        environ={"APP_ENV": "testing", "LOG_LEVEL": "DEBUG", "SECRET_KEY": "k"},
    )
    assert settings.log_level == "ERROR"


def test_lower_case_environment_names_are_ignored(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "APP_ENV": "testing",
            "SECRET_KEY": "k",
            "log_level": "DEBUG",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    assert settings.log_level == "INFO"


def test_os_environ_is_the_default_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "testing")
    monkeypatch.setenv("SECRET_KEY", "from-os-environ")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("JWKS_CACHE_SECONDS", "77")
    assert os.environ["JWKS_CACHE_SECONDS"] == "77"
    settings = load_settings()
    assert settings.secret_key == "from-os-environ"
    assert settings.jwks_cache_seconds == 77


# --- production rules -------------------------------------------------------------------


def test_production_settings_accepted(tmp_path: Path) -> None:
    settings = load_settings(environ={**production_env(), "INSTANCE_PATH": str(tmp_path)})
    assert settings.is_production
    assert settings.secret_key == GOOD_SECRET


def test_secret_key_required_in_production(tmp_path: Path) -> None:
    env = production_env()
    del env["SECRET_KEY"]
    with pytest.raises(SettingsError) as info:
        load_settings(environ={**env, "INSTANCE_PATH": str(tmp_path)})
    message = str(info.value)
    assert "SECRET_KEY is required in production" in message
    assert "APP_ENV=development" in message  # says how to run the demo instead
    assert not (tmp_path / "dev_secret_key").exists()


def test_empty_secret_key_counts_as_missing_in_production(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings(environ={**production_env(SECRET_KEY=""), "INSTANCE_PATH": str(tmp_path)})


def test_short_secret_key_rejected_in_production(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY must be at least 32 characters"):
        load_settings(
            environ={**production_env(SECRET_KEY="short"), "INSTANCE_PATH": str(tmp_path)}
        )


def test_encryption_keys_required_in_production(tmp_path: Path) -> None:
    env = production_env()
    del env["ENCRYPTION_KEYS"]
    with pytest.raises(SettingsError, match="ENCRYPTION_KEYS is required in production"):
        load_settings(environ={**env, "INSTANCE_PATH": str(tmp_path)})


def test_production_needs_https_public_base_url(tmp_path: Path) -> None:
    env = production_env(PUBLIC_BASE_URL="http://tool.example.org")
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL must be https:// in production"):
        load_settings(environ={**env, "INSTANCE_PATH": str(tmp_path)})


# --- development secret key -------------------------------------------------------------


def test_dev_secret_key_is_created_and_persisted(tmp_path: Path) -> None:
    instance = tmp_path / "fresh" / "instance"
    first = load_settings({"app_env": "development", "instance_path": str(instance)}, environ={})
    path = instance / "dev_secret_key"
    assert path.exists()
    assert path.read_text().strip() == first.secret_key
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings({"app_env": "development", "instance_path": str(instance)}, environ={})
    assert second.secret_key == first.secret_key
    assert second.encryption_keys == first.encryption_keys


def test_empty_dev_secret_key_file_is_replaced(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "dev_secret_key").write_text("\n")
    settings = load_settings({"app_env": "development", "instance_path": str(instance)}, environ={})
    assert len(settings.secret_key) >= 32
    assert (instance / "dev_secret_key").read_text().strip() == settings.secret_key


def test_dev_secret_keys_differ_between_instances(tmp_path: Path) -> None:
    a = load_settings({"app_env": "testing", "instance_path": str(tmp_path / "a")}, environ={})
    b = load_settings({"app_env": "testing", "instance_path": str(tmp_path / "b")}, environ={})
    assert a.secret_key != b.secret_key


def test_explicit_secret_key_writes_no_file(tmp_path: Path) -> None:
    load(tmp_path, secret_key="given")
    assert not (tmp_path / "instance" / "dev_secret_key").exists()


# --- database URL -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "postgres://mp:pw@db.internal:5432/mastery",
        "postgresql://mp:pw@db.internal:5432/mastery",
        "postgresql+psycopg://mp:pw@db.internal:5432/mastery",
        "postgresql+psycopg2://mp:pw@db.internal:5432/mastery",
    ],
)
def test_postgres_urls_get_the_psycopg_driver(tmp_path: Path, raw: str) -> None:
    settings = load(tmp_path, secret_key="k", database_url=raw)
    assert settings.database_url == "postgresql+psycopg://mp:pw@db.internal:5432/mastery"


def test_postgres_url_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "APP_ENV": "testing",
            "SECRET_KEY": "k",
            "INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgres://u@h/db?sslmode=require",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db?sslmode=require"


@pytest.mark.parametrize("raw", ["sqlite:///relative.db", "sqlite:////abs/path.db", "sqlite://"])
def test_sqlite_urls_pass_through(tmp_path: Path, raw: str) -> None:
    assert load(tmp_path, secret_key="k", database_url=raw).database_url == raw


@pytest.mark.parametrize(
    "raw",
    [
        "mysql://root:hunter2@db/mastery",
        "oracle://scott:tiger@db",
        "postgres",  # no "://": not a URL
        "postgresfoo://u@h/db",
        "sqlitex:///x.db",
        "just-a-path.sqlite3",
    ],
)
def test_bad_database_url_rejected_without_echoing_password(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, secret_key="k", database_url=raw)
    message = str(info.value)
    assert message.startswith("DATABASE_URL must be")
    assert "hunter2" not in message
    assert "tiger" not in message


# --- enumerations -----------------------------------------------------------------------


def test_bad_log_level(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, secret_key="k", log_level="LOUD")
    assert "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" in str(info.value)
    assert "'LOUD'" in str(info.value)


def test_log_level_case_insensitive(tmp_path: Path) -> None:
    assert load(tmp_path, secret_key="k", log_level="warning").log_level == "WARNING"


def test_bad_app_env(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"APP_ENV": "staging", "SECRET_KEY": "k"})
    assert "APP_ENV must be one of production, development, testing" in str(info.value)
    assert "'staging'" in str(info.value)


def test_app_env_case_insensitive(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"APP_ENV": "Testing", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)}
    )
    assert settings.app_env == "testing"


# --- PUBLIC_BASE_URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "tool.example.org",
        "ftp://tool.example.org",
        "https://",
        "//tool.example.org",
        "javascript:alert(1)",
        "https://tool.example.org/mastery",  # a path prefix breaks the launch URL check
        "https://tool.example.org/?x=1",
        "https://tool.example.org/#frag",
        "https://user:pw@tool.example.org",
    ],
)
def test_bad_public_base_url(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, secret_key="k", public_base_url=raw)
    assert str(info.value).startswith("PUBLIC_BASE_URL must be")


def test_public_base_url_with_port(tmp_path: Path) -> None:
    settings = load(tmp_path, secret_key="k", public_base_url="http://localhost:8080")
    assert settings.public_origin == "http://localhost:8080"


# --- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env_name", "raw", "expected"),
    [
        ("PROXY_FIX_HOPS", "two", "PROXY_FIX_HOPS must be a whole number, got 'two'"),
        ("PROXY_FIX_HOPS", "-1", "PROXY_FIX_HOPS must be at least 0, got -1"),
        ("PROXY_FIX_HOPS", "1.5", "PROXY_FIX_HOPS must be a whole number"),
        ("MAX_CONTENT_LENGTH", "100", "MAX_CONTENT_LENGTH must be at least 1024, got 100"),
        ("OIDC_STATE_TTL", "5", "OIDC_STATE_TTL must be at least 30"),
        ("LAUNCH_SESSION_TTL", "", "LAUNCH_SESSION_TTL must be a whole number"),
        ("JWT_LEEWAY_SECONDS", "1e3", "JWT_LEEWAY_SECONDS must be a whole number"),
        ("JWT_MAX_AGE_SECONDS", "9", "JWT_MAX_AGE_SECONDS must be at least 10"),
        ("JWKS_CACHE_SECONDS", "-5", "JWKS_CACHE_SECONDS must be at least 0"),
        ("JWKS_REFETCH_MIN_INTERVAL", "0", "JWKS_REFETCH_MIN_INTERVAL must be greater than 0"),
        ("HTTP_CONNECT_TIMEOUT", "soon", "HTTP_CONNECT_TIMEOUT must be a number, got 'soon'"),
        ("HTTP_READ_TIMEOUT", "-3", "HTTP_READ_TIMEOUT must be greater than 0"),
        # "inf" would mean no timeout at all; "nan" passes every comparison.
        ("HTTP_READ_TIMEOUT", "inf", "HTTP_READ_TIMEOUT must be a finite number"),
        ("HTTP_CONNECT_TIMEOUT", "nan", "HTTP_CONNECT_TIMEOUT must be a finite number"),
    ],
)
def test_bad_numbers_name_the_variable(
    tmp_path: Path, env_name: str, raw: str, expected: str
) -> None:
    env = {"APP_ENV": "testing", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path), env_name: raw}
    with pytest.raises(SettingsError) as info:
        load_settings(environ=env)
    assert expected in str(info.value)


def test_numbers_are_parsed(tmp_path: Path) -> None:
    settings = load(
        tmp_path, secret_key="k", max_content_length="2048", jwks_refetch_min_interval="0.25"
    )
    assert settings.max_content_length == 2048
    assert settings.jwks_refetch_min_interval == 0.25


# --- ENCRYPTION_KEYS ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nokid", "ENCRYPTION_KEYS entries must look like 'kid:base64key'"),
        (f":{key_b64(1)}", "ENCRYPTION_KEYS entries must look like 'kid:base64key'"),
        (f"k1:{key_b64(1)},", "ENCRYPTION_KEYS entries must look like 'kid:base64key'"),
        (f"k1:{key_b64(1, 16)}", "ENCRYPTION_KEYS key 'k1' must be 32 bytes, got 16"),
        ("k1:", "ENCRYPTION_KEYS key 'k1' must be 32 bytes, got 0"),
        ("k1:A", "ENCRYPTION_KEYS key 'k1' is not base64"),
        (f"k1:{key_b64(1)},k1:{key_b64(2)}", "ENCRYPTION_KEYS has a repeated kid"),
    ],
)
def test_bad_encryption_keys(tmp_path: Path, raw: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(tmp_path, secret_key="k", encryption_keys=raw)
    assert expected in str(info.value)


def test_encryption_key_material_never_in_error_message(tmp_path: Path) -> None:
    secret_material = key_b64(9, 31)
    with pytest.raises(SettingsError) as info:
        load(tmp_path, secret_key="k", encryption_keys=f"k1:{secret_material}")
    assert secret_material not in str(info.value)


def test_encryption_keys_accept_padding_and_spaces(tmp_path: Path) -> None:
    padded = base64.urlsafe_b64encode(bytes([4]) * 32).decode()
    assert padded.endswith("=")
    settings = load(tmp_path, secret_key="k", encryption_keys=f" a:{padded} , b:{key_b64(5)}")
    assert settings.encryption_keys == (("a", bytes([4]) * 32), ("b", bytes([5]) * 32))


def test_registration_settings_defaults_and_validation() -> None:
    settings = load_settings({"app_env": "testing"}, environ={})
    assert settings.registration_enabled is True
    assert settings.registration_allowed_hosts == frozenset()
    settings = load_settings(
        {"app_env": "testing"},
        environ={
            "REGISTRATION_ENABLED": "off",
            "REGISTRATION_ALLOWED_HOSTS": "canvas.instructure.com, District.Instructure.com",
        },
    )
    assert settings.registration_enabled is False
    assert settings.registration_allowed_hosts == {
        "canvas.instructure.com",
        "district.instructure.com",
    }
    with pytest.raises(SettingsError, match="REGISTRATION_ENABLED must be true or false"):
        load_settings({"app_env": "testing"}, environ={"REGISTRATION_ENABLED": "maybe"})
    for bad in ("https://canvas.instructure.com", "canvas.instructure.com:443", "a/b", "a..b"):
        with pytest.raises(SettingsError, match="REGISTRATION_ALLOWED_HOSTS must be"):
            load_settings({"app_env": "testing"}, environ={"REGISTRATION_ALLOWED_HOSTS": bad})


def test_sync_account_schedule_is_five_cron_fields_from_the_environment(tmp_path: Path) -> None:
    assert load(tmp_path).sync_account_schedule == ""
    env = {"SYNC_ACCOUNT_SCHEDULE": " 0  2 * * mon-fri ", "SYNC_ACCOUNT_ID": "1"}
    loaded = load(tmp_path, environ=env)
    assert (loaded.sync_account_schedule, loaded.sync_account_id) == ("0 2 * * mon-fri", "1")
    for bad in ("0 2 * *", "every night", "0 2 * * * *", "0;rm 2 * * *"):
        with pytest.raises(SettingsError, match="SYNC_ACCOUNT_SCHEDULE must be five cron"):
            load(tmp_path, environ={"SYNC_ACCOUNT_SCHEDULE": bad})
