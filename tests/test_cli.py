"""Admin commands: `platform add|list`, `keys rotate`, `db upgrade`, in-process and for real."""

from __future__ import annotations

import base64
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import select

from lti_app.canvas.client.tokens import StoredToken
from lti_app.canvas.connection import load_token, save_token
from lti_app.cli import alembic_config
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasApiToken
from lti_app.models.keys import SLOT_CURRENT, SLOT_PREVIOUS, ToolKey
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Deployment, Platform
from lti_app.settings import PROJECT_ROOT
from tests.conftest import LtiBrowser, make_app, set_api_key
from tests.lti_platform import FakePlatform

FLASK = str(Path(sys.executable).parent / "flask")


def platforms(app: Flask) -> list[tuple[str, str, str, bool, list[str]]]:
    with session_scope(app) as db:
        rows = db.scalars(select(Platform).order_by(Platform.id)).all()
        return [
            (
                p.issuer,
                p.client_id,
                p.registered_via,
                p.auto_register_deployments,
                [d.deployment_id for d in p.deployments],
            )
            for p in rows
        ]


def keys(app: Flask) -> list[tuple[str, str | None, bool]]:
    with session_scope(app) as db:
        rows = db.scalars(select(ToolKey).order_by(ToolKey.id)).all()
        return [(k.kid, k.slot, k.retired_at is not None) for k in rows]


# --- platform add -------------------------------------------------------------------------


def test_platform_add_registers_platform_and_deployment(app: Flask, platform: FakePlatform) -> None:
    # The `app` fixture already ran `platform add` with the fake platform's values.
    assert platforms(app) == [
        (platform.issuer, platform.client_id, "cli", False, [platform.deployment_id])
    ]
    with session_scope(app) as db:
        row = db.scalars(select(Platform)).one()
        assert row.auth_login_url == platform.auth_url
        assert row.auth_token_url == platform.token_url
        assert row.jwks_url == platform.jwks_url
        assert row.canvas_url == platform.canvas_url
        assert row.api_client_id is None


def test_platform_add_reports_what_it_did(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    result = app.test_cli_runner().invoke(args=FakePlatform().cli_args())
    assert result.exit_code == 0, result.output
    assert "Registered platform https://canvas.test.example client 10000000000042" in result.output
    assert "added" in result.output


def test_second_deployment_on_same_platform(app: Flask, platform: FakePlatform) -> None:
    second = FakePlatform(deployment_id="12:second-deployment")
    result = app.test_cli_runner().invoke(args=second.cli_args())
    assert result.exit_code == 0, result.output
    assert "Updated platform" in result.output
    assert "deployment 12:second-deployment added" in result.output
    # One platform row, two deployments: no duplicate platform.
    assert platforms(app) == [
        (
            platform.issuer,
            platform.client_id,
            "cli",
            False,
            [platform.deployment_id, "12:second-deployment"],
        )
    ]


def test_readding_same_deployment_is_idempotent(app: Flask, platform: FakePlatform) -> None:
    runner = app.test_cli_runner()
    before = platforms(app)
    for _ in range(2):
        result = runner.invoke(args=platform.cli_args())
        assert result.exit_code == 0, result.output
        assert "already present" in result.output
    assert platforms(app) == before
    with session_scope(app) as db:
        assert len(db.scalars(select(Deployment)).all()) == 1


def test_platform_add_updates_urls(app: Flask, platform: FakePlatform) -> None:
    moved = FakePlatform(
        jwks_url="https://sso.canvas.test.example/api/lti/security/jwks2",
        canvas_url="https://newdomain.example/",
    )
    result = app.test_cli_runner().invoke(args=moved.cli_args())
    assert result.exit_code == 0, result.output
    with session_scope(app) as db:
        row = db.scalars(select(Platform)).one()
        assert row.jwks_url.endswith("/jwks2")
        assert row.canvas_url == "https://newdomain.example"  # trailing slash dropped


def test_same_issuer_other_client_is_another_platform(app: Flask, platform: FakePlatform) -> None:
    """Hosted Canvas instances share one issuer: a client id makes a separate tenant."""
    other = FakePlatform(
        client_id="10000000000099",
        deployment_id="1:other",
        canvas_url="https://other.school.example",
    )
    result = app.test_cli_runner().invoke(args=other.cli_args())
    assert result.exit_code == 0, result.output
    assert "Registered platform" in result.output
    rows = platforms(app)
    assert [(r[1], r[4]) for r in rows] == [
        (platform.client_id, [platform.deployment_id]),
        ("10000000000099", ["1:other"]),
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--auth-url", "not-a-url"),
        ("--token-url", "ftp://sso.example/token"),
        ("--jwks-url", "https://"),
        ("--canvas-url", "school.instructure.com"),
    ],
)
def test_bad_url_rejected(tmp_path: Path, sqlite_url: str, option: str, value: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    args = FakePlatform().cli_args()
    args[args.index(option) + 1] = value
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "must be an absolute https:// URL" in result.output
    assert platforms(app) == []


def test_missing_option_rejected(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    args = FakePlatform().cli_args()
    i = args.index("--deployment-id")
    del args[i : i + 2]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2
    assert "Missing option '--deployment-id'" in result.output
    assert platforms(app) == []


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--issuer", "", "must not be empty"),
        ("--client-id", " ", "must not be empty"),
        ("--deployment-id", "", "must not be empty"),
        ("--issuer", "https://" + "i" * 250, "at most 255 characters"),
        ("--client-id", "9" * 256, "at most 255 characters"),
        ("--jwks-url", "https://sso.example/" + "j" * 1010, "at most 1024 characters"),
    ],
)
def test_bad_identifiers_rejected(
    tmp_path: Path, sqlite_url: str, option: str, value: str, message: str
) -> None:
    app = make_app(sqlite_url, tmp_path)
    args = FakePlatform().cli_args()
    args[args.index(option) + 1] = value
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert message in result.output
    assert platforms(app) == []


def test_overlong_deployment_id_rejected(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    result = app.test_cli_runner().invoke(args=FakePlatform(deployment_id="d" * 256).cli_args())
    assert result.exit_code == 2
    assert "--deployment-id" in result.output
    assert "at most 255 characters" in result.output
    assert platforms(app) == []


def test_production_requires_https_urls(tmp_path: Path, sqlite_url: str) -> None:
    key = base64.urlsafe_b64encode(bytes(32)).decode()
    app = make_app(sqlite_url, tmp_path, app_env="production", encryption_keys=f"k:{key}")
    plain = FakePlatform(token_url="http://sso.canvas.test.example/login/oauth2/token")
    result = app.test_cli_runner().invoke(args=plain.cli_args())
    assert result.exit_code == 2, result.output
    assert "--token-url" in result.output
    assert "must be https:// in production" in result.output
    assert platforms(app) == []
    ok = app.test_cli_runner().invoke(args=FakePlatform().cli_args())
    assert ok.exit_code == 0, ok.output


# --- platform list ------------------------------------------------------------------------


def test_platform_list_empty(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    result = app.test_cli_runner().invoke(args=["platform", "list"])
    assert result.exit_code == 0
    assert "No platforms registered" in result.output
    assert "platform add" in result.output


def test_platform_list_output(app: Flask, platform: FakePlatform) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=FakePlatform(deployment_id="12:second").cli_args())
    other = FakePlatform(
        issuer="https://canvas.other.example",
        client_id="77",
        deployment_id="3:x",
        canvas_url="https://other.example",
    )
    runner.invoke(args=other.cli_args())
    result = runner.invoke(args=["platform", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    admin_added = "(added by an admin; first seen {when}; last launch never)"
    assert [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "{when}", line) for line in lines] == [
        f"{platform.issuer}  client_id={platform.client_id}  canvas={platform.canvas_url}  via=cli",
        f"  auth={platform.auth_url}",
        f"  token={platform.token_url}",
        f"  jwks={platform.jwks_url}",
        f"  deployment {platform.deployment_id}  {admin_added}",
        f"  deployment 12:second  {admin_added}",
        "https://canvas.other.example  client_id=77  canvas=https://other.example  via=cli",
        f"  auth={other.auth_url}",
        f"  token={other.token_url}",
        f"  jwks={other.jwks_url}",
        f"  deployment 3:x  {admin_added}",
    ]


# --- platform update and remove-deployment ----------------------------------------------------


def _ids(platform: FakePlatform) -> list[str]:
    return ["--issuer", platform.issuer, "--client-id", platform.client_id]


def test_platform_update_changes_only_what_is_given(app: Flask, platform: FakePlatform) -> None:
    runner = app.test_cli_runner()
    with session_scope(app) as db:
        save_token(
            db,
            app.extensions["mp_services"].keyring,
            db.scalars(select(Platform.id)).one(),
            StoredToken("1~a", "1~r", datetime.now(UTC), "812", platform.canvas_url),
        )
    result = runner.invoke(
        args=["platform", "update", *_ids(platform), "--canvas-url", "https://new.canvas.test/"]
    )
    assert result.exit_code == 0, result.output
    assert "canvas_url" in result.output
    assert "store the API developer key again" in result.output
    assert "1 teacher connection(s)" in result.output
    with session_scope(app) as db:
        row = db.scalars(select(Platform)).one()
        assert row.canvas_url == "https://new.canvas.test"
        assert (row.auth_login_url, row.jwks_url) == (platform.auth_url, platform.jwks_url)
        assert row.auto_register_deployments is False
    result = runner.invoke(
        args=["platform", "update", *_ids(platform), "--auto-register-deployments"]
    )
    assert result.exit_code == 0, result.output
    assert "store the API developer key again" not in result.output
    with session_scope(app) as db:
        assert db.scalars(select(Platform)).one().auto_register_deployments is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Nothing to change"),
        (["--jwks-url", "ftp://x"], "absolute https:// URL"),
    ],
)
def test_platform_update_refuses_bad_input(
    app: Flask, platform: FakePlatform, args: list[str], message: str
) -> None:
    result = app.test_cli_runner().invoke(args=["platform", "update", *_ids(platform), *args])
    assert result.exit_code != 0
    assert message in result.output


def test_platform_update_of_an_unknown_platform(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["platform", "update", "--issuer", "x", "--client-id", "y", "--jwks-url", "https://j"]
    )
    assert result.exit_code != 0
    assert "No platform x client y" in result.output


def test_remove_deployment_refuses_its_launches_and_is_not_learned_again(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    runner = app.test_cli_runner()
    # A platform that learns deployments at their first launch (as Dynamic Registration's).
    assert (
        runner.invoke(
            args=["platform", "update", *_ids(platform), "--auto-register-deployments"]
        ).exit_code
        == 0
    )
    learned = FakePlatform(deployment_id="55:sub-account")
    assert LtiBrowser(browser.client, learned).launch().status_code == 200
    listing = runner.invoke(args=["platform", "list"]).output
    assert re.search(
        r"deployment 55:sub-account  \(auto-registered; first seen .* UTC; "
        r"last launch \d{4}-.* UTC\)",
        listing,
    ), listing

    result = runner.invoke(
        args=["platform", "remove-deployment", *_ids(platform), "--deployment-id", "55:sub-account"]
    )
    assert result.exit_code == 0, result.output
    assert "1 open session(s) ended" in result.output
    with session_scope(app) as db:
        assert db.scalars(select(LaunchSession)).all() == []
    response = LtiBrowser(browser.client, learned).launch()
    assert response.status_code in (400, 403)
    with session_scope(app) as db:
        rows = db.scalars(select(Deployment).where(Deployment.deployment_id == "55:sub-account"))
        [row] = rows.all()
        assert row.removed_at is not None
        assert db.scalars(select(LaunchSession)).all() == []
    assert "REMOVED" in runner.invoke(args=["platform", "list"]).output
    # The other deployment still launches.
    assert browser.launch().status_code == 200


def test_remove_unknown_deployment(app: Flask, platform: FakePlatform) -> None:
    result = app.test_cli_runner().invoke(
        args=["platform", "remove-deployment", *_ids(platform), "--deployment-id", "nope"]
    )
    assert result.exit_code != 0
    assert "No deployment nope" in result.output


# --- keys rotate --------------------------------------------------------------------------


def test_keys_rotate(tmp_path: Path, sqlite_url: str) -> None:
    app = make_app(sqlite_url, tmp_path)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["keys", "rotate"])
    assert first.exit_code == 0, first.output
    [(k1, slot, retired)] = keys(app)
    assert (slot, retired) == (SLOT_CURRENT, False)
    assert first.output == f"New current key {k1}.\n"

    second = runner.invoke(args=["keys", "rotate"])
    assert second.exit_code == 0, second.output
    [(_, s1, r1), (k2, s2, r2)] = keys(app)
    assert (s1, r1) == (SLOT_PREVIOUS, False)
    assert (s2, r2) == (SLOT_CURRENT, False)
    assert f"New current key {k2}." in second.output
    assert f"Previous key {k1} stays published" in second.output

    third = runner.invoke(args=["keys", "rotate"])
    assert third.exit_code == 0, third.output
    [(_, s1, r1), (_, s2, r2), (k3, s3, r3)] = keys(app)
    assert (s1, r1) == (None, True)  # retired
    assert (s2, r2) == (SLOT_PREVIOUS, False)
    assert (s3, r3) == (SLOT_CURRENT, False)
    assert len({k1, k2, k3}) == 3

    runner.invoke(args=["keys", "rotate"])
    slots = [slot for _, slot, _ in keys(app)]
    assert slots == [None, None, SLOT_PREVIOUS, SLOT_CURRENT]


def test_keys_rotate_after_key_created_on_demand(app: Flask) -> None:
    # The JWKS endpoint makes the first key; rotation then keeps it published as previous.
    first = app.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert len(first) == 1
    result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    after = app.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert [k["kid"] for k in after][1:] == [first[0]["kid"]]
    assert len(after) == 2


# --- the real `flask --app lti_app` command ------------------------------------------------


def run_flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed executable, arguments from the test
        [FLASK, "--app", "lti_app", *args],
        env=env,
        cwd=env["INSTANCE_PATH"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Only what the command needs: never the developer's SECRET_KEY or DATABASE_URL."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(PROJECT_ROOT),
        "INSTANCE_PATH": str(tmp_path),
        **extra,
    }
    return env


@pytest.fixture
def real_env(tmp_path: Path) -> dict[str, str]:
    return clean_env(
        tmp_path,
        APP_ENV="testing",
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        LOG_LEVEL="WARNING",
    )


def test_real_flask_commands(real_env: dict[str, str], tmp_path: Path) -> None:
    upgrade = run_flask(real_env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
        assert {"platform", "deployment", "tool_key", "launch_session", "oidc_login"} <= tables
        (version,) = conn.execute("select version_num from alembic_version").fetchone()
    head = ScriptDirectory.from_config(alembic_config(real_env["DATABASE_URL"])).get_current_head()
    assert head is not None
    assert version == head

    added = run_flask(real_env, *FakePlatform().cli_args())
    assert added.returncode == 0, added.stderr
    assert "Registered platform https://canvas.test.example" in added.stdout

    listed = run_flask(real_env, "platform", "list")
    assert listed.returncode == 0, listed.stderr
    assert "client_id=10000000000042" in listed.stdout
    assert "deployment 7:8865aa05b4b79b64a91a86042e43af5ea8ae79eb" in listed.stdout

    rotated = run_flask(real_env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("New current key ")
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        rows = conn.execute("select slot, private_pem_encrypted from tool_key").fetchall()
    assert [r[0] for r in rows] == ["current"]
    assert "PRIVATE KEY" not in rows[0][1]

    current = run_flask(real_env, "db", "current")
    assert current.returncode == 0, current.stderr
    assert head in current.stdout + current.stderr


def test_real_flask_production_without_secret_key_fails_clearly(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    )
    result = run_flask(env, "platform", "list")
    assert result.returncode != 0
    assert "SECRET_KEY is required in production" in result.stderr
    # A clear message, not a Python traceback.
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "prod.sqlite3").exists()
    assert not (tmp_path / "dev_secret_key").exists()


def test_real_flask_bad_setting_names_the_variable(real_env: dict[str, str]) -> None:
    result = run_flask({**real_env, "LOG_LEVEL": "chatty"}, "platform", "list")
    assert result.returncode != 0
    assert "LOG_LEVEL must be one of" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_api_key_stores_the_secret_encrypted(app: Flask, platform: FakePlatform) -> None:
    output = set_api_key(app, platform, "170000000000123", "api-secret-value-42")
    assert "api-secret-value-42" not in output
    with session_scope(app) as db:
        row = db.scalar(select(Platform))
        assert row is not None
        assert row.api_client_id == "170000000000123"
        assert row.api_client_secret_encrypted
        assert "api-secret-value-42" not in row.api_client_secret_encrypted
        keyring = app.extensions["mp_services"].keyring
        assert keyring.decrypt(row.api_client_secret_encrypted, row.secret_aad()) == (
            "api-secret-value-42"
        )


def test_set_api_key_prompts_without_echo_and_needs_a_known_platform(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "platform",
            "set-api-key",
            "--issuer",
            "https://nope.example",
            "--client-id",
            "1",
            "--api-client-id",
            "2",
        ],
        input="typed-secret\n",
    )
    assert result.exit_code != 0
    assert "typed-secret" not in result.output
    assert "add it with `platform add` first" in result.output


def test_keys_reencrypt_moves_secrets_to_the_newest_key(
    tmp_path: Path, sqlite_url: str, platform: FakePlatform
) -> None:
    old = "old:" + base64.urlsafe_b64encode(bytes(range(32))).decode()
    new = "new:" + base64.urlsafe_b64encode(bytes(range(1, 33))).decode()
    app = make_app(sqlite_url, tmp_path, encryption_keys=old)
    runner = app.test_cli_runner()
    assert runner.invoke(args=platform.cli_args()).exit_code == 0
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    set_api_key(app, platform, "9", "s3cret")
    with session_scope(app) as db:
        pid = db.scalars(select(Platform.id)).one()
        save_token(
            db,
            app.extensions["mp_services"].keyring,
            pid,
            StoredToken("1~access", "1~refresh", datetime.now(UTC), "812", platform.canvas_url),
        )
    app.extensions["db_engine"].dispose()

    rotated = make_app(sqlite_url, tmp_path, encryption_keys=f"{new},{old}")
    result = rotated.test_cli_runner().invoke(args=["keys", "reencrypt"])
    assert "Re-encrypted 4 secret(s)" in result.output
    rotated.extensions["db_engine"].dispose()

    only_new = make_app(sqlite_url, tmp_path, encryption_keys=new)
    keyring = only_new.extensions["mp_services"].keyring
    with session_scope(only_new) as db:
        key = db.scalar(select(ToolKey))
        assert key is not None
        assert "PRIVATE KEY" in keyring.decrypt(key.private_pem_encrypted, key.private_aad())
        row = db.scalar(select(Platform))
        assert row is not None and row.api_client_secret_encrypted
        assert keyring.decrypt(row.api_client_secret_encrypted, row.secret_aad()) == "s3cret"
        token = db.scalar(select(CanvasApiToken))
        assert token is not None
        assert load_token(keyring, token).access_token == "1~access"
        assert load_token(keyring, token).refresh_token == "1~refresh"
    only_new.extensions["db_engine"].dispose()
