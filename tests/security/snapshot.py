"""Every row of every table, to prove a refused request changed nothing."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from lti_app.db import Base, session_scope

Dump = dict[str, list[tuple[str, ...]]]


def database_dump(app: Flask) -> Dump:
    with app.app_context(), session_scope(app) as db:
        return {
            table.name: sorted(tuple(repr(v) for v in row) for row in db.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }
