"""Fixtures: an app per test on a fresh database, a fake Canvas, and a login+launch driver.

The default backend is SQLite; tests that take the `backend_url` fixture also run against
the PostgreSQL on 127.0.0.1:5432 (database `test`) and are skipped, with the reason, when it
is not reachable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from lti_app import create_app
from lti_app.db import Base
from tests.lti_platform import TOOL_BASE, FakePlatform, auth_query, login_params

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL on 127.0.0.1:5432 not reachable: {type(exc).__name__}"
    return None


_PG_SKIP = _postgres_available()


# The folders whose files take longest (browsers, real servers and workers, five roles on two
# databases) go first: `make test` hands whole files to its workers in this order, so the run
# does not end with one long file on one worker while the other waits.
SLOW_FIRST = (
    "tests/e2e/",
    "tests/security/",
    "tests/writeback/",
    "tests/sandbox/",
    "tests/sync/",
    "tests/test_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)),
            len(SLOW_FIRST),
        )

    items.sort(key=rank)  # stable: a file's own tests keep their order


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@contextmanager
def private_postgres_schema() -> Iterator[str]:
    """A private schema in the `test` database (its URL), dropped afterwards; skips the test
    with the reason when PostgreSQL is not reachable."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    try:
        yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with private_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


def make_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    app = create_app(
        {
            "app_env": "testing",
            "database_url": database_url,
            "public_base_url": TOOL_BASE,
            "secret_key": "test-secret-key-" + "x" * 32,
            "instance_path": str(tmp_path / "instance"),
            **overrides,
        }
    )
    Base.metadata.create_all(app.extensions["db_engine"])
    return app


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Override in a module (or use backend_url) to run on another database."""
    return sqlite_url


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def app(db_url: str, tmp_path: Path, platform: FakePlatform) -> Iterator[Flask]:
    app = make_app(db_url, tmp_path)
    result = app.test_cli_runner().invoke(args=platform.cli_args())
    assert result.exit_code == 0, result.output
    yield app
    close_app(app)


def close_app(app: Flask) -> None:
    """Let background jobs (a write-back kicked by a scoring) finish, then close the DB."""
    jobs = app.extensions.get("mp_jobs")
    if jobs is not None:
        jobs.shutdown(wait=True)
    app.extensions["db_engine"].dispose()


def set_api_key(app: Flask, platform: FakePlatform, api_client_id: str, secret: str) -> str:
    """Store the platform's Canvas API developer key as an admin does (the CLI, secret from
    the environment); returns what the command printed."""
    result = app.test_cli_runner().invoke(
        args=[
            "platform",
            "set-api-key",
            "--issuer",
            platform.issuer,
            "--client-id",
            platform.client_id,
            "--api-client-id",
            api_client_id,
        ],
        env={"CANVAS_API_CLIENT_SECRET": secret},
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def jwks(platform: FakePlatform) -> Iterator[responses.RequestsMock]:
    """The platform's JWKS endpoint (the only outbound HTTP a launch makes)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(platform.jwks_url, json=platform.jwks())
        yield mock


class LtiBrowser:
    """A browser (cookie jar) that runs Canvas's login -> authorize -> launch dance."""

    def __init__(self, client: FlaskClient, platform: FakePlatform) -> None:
        self.client = client
        self.platform = platform

    def login(self, **params: str) -> TestResponse:
        return self.client.post(
            "/lti/login", data=login_params(self.platform, **params), base_url=TOOL_BASE
        )

    def start(self, **params: str) -> dict[str, str]:
        """Login; returns the authorization request's query (state, nonce, ...)."""
        response = self.login(**params)
        assert response.status_code == 302, response.get_data(as_text=True)
        return auth_query(response.headers["Location"])

    def post_launch(self, id_token: str, state: str, **extra: str) -> TestResponse:
        return self.client.post(
            "/lti/launch",
            data={"id_token": id_token, "state": state, **extra},
            base_url=TOOL_BASE,
        )

    def launch(
        self,
        roles: list[str] | None = None,
        mutate: Any = None,
        headers: dict[str, Any] | None = None,
    ) -> TestResponse:
        """Full round trip; `mutate(claims)` may edit or return replacement claims."""
        auth = self.start()
        claims = self.platform.claims(auth["nonce"], roles=roles)
        if mutate is not None:
            claims = mutate(claims) or claims
        return self.post_launch(self.platform.sign(claims, headers=headers), auth["state"])


@pytest.fixture
def browser(app: Flask, platform: FakePlatform, jwks: responses.RequestsMock) -> LtiBrowser:
    return LtiBrowser(app.test_client(), platform)


# --- the browser -----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by `make browser`


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """One Playwright driver for the whole session, shared by every browser test: the sync API
    refuses to start while another instance runs in the process."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium); "
            "Playwright cannot download its own browsers here"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    with sync_api.sync_playwright() as driver:
        yield driver
