"""Pathway tests run on SQLite and PostgreSQL; a synced course is written straight into the
sync tables (the sync itself is tested in tests/sync/)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from tests.synced_course import Student, Target, platform_id_of, write_course

__all__ = ["platform_id_of"]  # the pathway tests take it from here

SYNCED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
COURSE = "101"  # the FakePlatform launch's $Canvas.course.id
OTHER_COURSE = "202"
AVA, BEN = "812", "813"  # Ava is the FakePlatform launch's $Canvas.user.id
TEACHER = "900"
CARA = "814"
PARENT, OTHER_PARENT = "950", "951"  # observers: Ava's and Ben's parent; Cara's
RL, W = "97", "98"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def seed_course(
    app: Flask,
    platform_id: int,
    course_id: str = COURSE,
    students: tuple[str, ...] = (AVA, BEN),
    observers: tuple[tuple[str, str], ...] = (),
) -> None:
    names = {AVA: "Ava Jones", BEN: "Ben Ortiz", CARA: "Cara Diaz"}
    write_course(
        app,
        platform_id,
        course_id,
        synced_at=SYNCED,
        students=[Student(uid, names.get(uid, f"Student {uid}")) for uid in students],
        targets=[
            Target(oid, title, description="Determine a central idea of a text.")
            for oid, title in ((RL, "RL.7.2 Central idea"), (W, "W.7.1 Argument"))
        ],
        observers=observers,
    )


def add_platform(app: Flask, client_id: str = "20000000000099") -> int:
    """A second tenant (another Canvas developer key), straight into the table."""
    with app.app_context(), session_scope(app) as db:
        row = Platform(
            issuer="https://canvas.other.example",
            client_id=client_id,
            auth_login_url="https://sso.other.example/api/lti/authorize_redirect",
            auth_token_url="https://sso.other.example/login/oauth2/token",
            jwks_url="https://sso.other.example/api/lti/security/jwks",
            canvas_url="https://other.canvas.example",
        )
        db.add(row)
        db.flush()
        return row.id
