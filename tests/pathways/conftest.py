"""Pathway tests run on SQLite and PostgreSQL; a synced course is written straight into the
sync tables (the sync itself is tested in tests/sync/)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse, CourseOutcome, CourseStudent
from lti_app.models.tenancy import Platform
from tests.lti_platform import FakePlatform

SYNCED = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
COURSE = "101"  # the FakePlatform launch's $Canvas.course.id
OTHER_COURSE = "202"
AVA, BEN = "812", "813"  # Ava is the FakePlatform launch's $Canvas.user.id
TEACHER = "900"
RL, W = "97", "98"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def seed_course(
    app: Flask, platform_id: int, course_id: str = COURSE, students: tuple[str, ...] = (AVA, BEN)
) -> None:
    names = {AVA: "Ava Jones", BEN: "Ben Ortiz"}
    with app.app_context(), session_scope(app) as db:
        course = CanvasCourse(
            platform_id=platform_id,
            canvas_course_id=course_id,
            scale_source="course_proficiency",
            mastery_scale=None,
            last_synced_at=SYNCED,
        )
        db.add(course)
        db.flush()
        for uid in students:
            name = names.get(uid, f"Student {uid}")
            db.add(
                CourseStudent(
                    course_pk=course.id,
                    canvas_user_id=uid,
                    name=name,
                    sortable_name=", ".join(reversed(name.split())),
                    login_id=None,
                    section_ids=[],
                )
            )
        for oid, title in ((RL, "RL.7.2 Central idea"), (W, "W.7.1 Argument")):
            db.add(
                CourseOutcome(
                    course_pk=course.id,
                    canvas_outcome_id=oid,
                    title=title,
                    display_name=None,
                    description="Determine a central idea of a text.",
                    vendor_guid=None,
                    canvas_group_id="5",
                    group_path=["Reading"],
                    points_possible=4.0,
                    mastery_points=3.0,
                    ratings=[],
                    calculation_method="decaying_average",
                    calculation_int=65,
                )
            )


def platform_id_of(app: Flask, platform: FakePlatform) -> int:
    with app.app_context(), session_scope(app) as db:
        return db.scalars(select(Platform.id).where(Platform.client_id == platform.client_id)).one()


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
