"""The PostgreSQL pool: a connection is pinged only after it sat idle, and a dead idle one is
replaced before a request sees it (issue 20, part 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, event, func, select, text

from lti_app import db as db_module
from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.launch import LaunchSession, OidcLogin
from tests.conftest import POSTGRES_ADMIN_URL, LtiBrowser
from tests.grading.seed import launch, seed_course
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform

pytestmark = pytest.mark.postgres


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    eng = db_module.make_engine(postgres_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    real = engine.dialect.do_ping

    def counting(dbapi_conn: Any) -> bool:
        seen.append(1)
        return real(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return seen


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select pg_backend_pid()")).scalar_one())


def test_busy_connections_are_not_pinged(engine: Engine, pings: list[int]) -> None:
    first = backend_pid(engine)
    for _ in range(5):
        assert backend_pid(engine) == first  # the same pooled connection, reused
    assert pings == []


def test_an_idle_connection_that_died_is_replaced(
    engine: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = backend_pid(engine)
    admin = create_engine(POSTGRES_ADMIN_URL)
    with admin.begin() as conn:  # the server ends it while it waits in the pool
        assert conn.execute(text("select pg_terminate_backend(:p)"), {"p": dead}).scalar_one()
    admin.dispose()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)

    replaced = backend_pid(engine)  # no error: the ping found it dead, a new one served

    assert replaced != dead
    assert len(pings) == 1


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


def test_only_login_and_launch_commit_without_waiting_for_disk(
    app: Flask, platform: FakePlatform, browser: LtiBrowser
) -> None:
    """The login's and launch's rows are cheap to lose; a teacher's override is not."""
    seed_course(app, platform)
    statements: list[str] = []
    event.listen(
        app.extensions["db_engine"],
        "before_cursor_execute",
        lambda _c, _cur, sql, *_: statements.append(sql),
    )
    relaxed = "SET LOCAL synchronous_commit TO OFF"

    handle, csrf = launch(browser, [INSTRUCTOR])  # login, then launch: two transactions
    assert statements.count(relaxed) == 2
    statements.clear()
    response = browser.client.post(
        f"/s/{handle}/grid/812/97/override",
        data={CSRF_FIELD: csrf, "action": "set", "level": "3", "reason": "Conference"},
        base_url=TOOL_BASE,
    )
    assert response.status_code == 303
    assert any(s.startswith("INSERT INTO mastery_override") for s in statements)
    assert relaxed not in statements
    with app.app_context(), session_scope(app) as db:
        # Both rows of the relaxed transactions are there all the same.
        assert db.get(LaunchSession, handle) is not None
        assert db.scalar(select(func.count()).select_from(OidcLogin)) == 1
