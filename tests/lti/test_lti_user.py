"""Which Canvas user an LTI user id is: one row per (platform, sub), the latest launch wins,
written in one statement on both databases."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import event, select

from lti_app.db import session_scope
from lti_app.lti.launch_session import remember_lti_user
from lti_app.models.launch import LtiUser
from lti_app.models.tenancy import Platform


@pytest.fixture
def db_url(backend_url: str) -> str:
    """SQLite and PostgreSQL."""
    return backend_url


def remember(app: Flask, sub: str, canvas_user_id: str) -> list[str]:
    """Remember once; the statements it sent."""
    sent: list[str] = []
    engine = app.extensions["db_engine"]
    listener = lambda _c, _cur, sql, *_: sent.append(sql)  # noqa: E731
    with app.app_context(), session_scope(app) as db:
        platform_id = db.scalars(select(Platform.id)).one()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            remember_lti_user(db, platform_id, sub, canvas_user_id)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    return sent


def rows(app: Flask) -> list[tuple[str, str]]:
    with app.app_context(), session_scope(app) as db:
        return [
            (r.lti_user_id, r.canvas_user_id)
            for r in db.scalars(select(LtiUser).order_by(LtiUser.lti_user_id))
        ]


def test_new_known_and_changed_users_are_one_statement_each(app: Flask) -> None:
    assert len(remember(app, "sub-a", "101")) == 1
    assert len(remember(app, "sub-a", "101")) == 1  # known: nothing changes
    assert len(remember(app, "sub-b", "102")) == 1
    assert rows(app) == [("sub-a", "101"), ("sub-b", "102")]

    # Canvas merged or re-mapped the user: the latest launch wins, still one row.
    assert len(remember(app, "sub-a", "205")) == 1
    assert rows(app) == [("sub-a", "205"), ("sub-b", "102")]


def test_an_unchanged_user_keeps_when_it_was_first_seen(app: Flask) -> None:
    remember(app, "sub-a", "101")
    with app.app_context(), session_scope(app) as db:
        first = db.scalars(select(LtiUser.seen_at)).one()
    remember(app, "sub-a", "101")
    with app.app_context(), session_scope(app) as db:
        assert db.scalars(select(LtiUser.seen_at)).one() == first
