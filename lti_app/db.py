"""Engine, session and the request boundary: one commit per request, nowhere else in views."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, g
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so Alembic revisions are reproducible on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the one writer; NORMAL is durable enough with WAL.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection only if it sat idle, instead of on every checkout.

    pool_pre_ping costs a server round trip per request; under load a connection goes back
    to the pool and out again within milliseconds, and a ping then proves nothing new. A
    connection that waited (through a database restart, an idle timeout, a failover) is
    still checked, and a dead one is replaced before any request sees it. A connection that
    dies while in constant use fails one statement; SQLAlchemy then recognises the
    disconnect and empties the pool, so the next requests get fresh connections.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # new, or back in the pool a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its ping")


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = factory

    @app.after_request
    def _commit_at_boundary(response: Response) -> Response:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            # Errors (4xx/5xx) leave no trace: a rejected launch creates no rows.
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close_on_error(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def commit_without_waiting_for_disk(session: Session) -> None:
    """For a transaction whose rows are cheap to lose (a pending login, a new launch session):
    on PostgreSQL its COMMIT returns before the WAL reaches the disk (synchronous_commit off
    for this transaction only). A database crash can lose the last fraction of a second of
    such commits, never corrupt anything; the user then launches again. Teachers' writes
    keep the full wait. (SQLite in WAL mode with synchronous=NORMAL never waits at commit.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def insert_or_update(session: Session, model: type[Base]) -> Any:
    """An INSERT of ``model`` that can say ON CONFLICT DO NOTHING / DO UPDATE: one statement
    where a read, then an insert or an update, would cost a round trip each. PostgreSQL and
    SQLite spell it alike, but SQLAlchemy builds it per dialect."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def get_session() -> Session:
    """The request's session; committed by the boundary hook, never by callers."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    session: Session = g.db_session
    return session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A unit of work outside a request (CLI commands, jobs): commit or roll back once."""
    session: Session = app.extensions["db_sessionmaker"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
