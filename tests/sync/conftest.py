"""Fixtures for the sync tests: an app on SQLite or PostgreSQL with one platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.models.tenancy import Platform
from tests.conftest import make_app
from tests.lti_platform import FakePlatform


@pytest.fixture
def sync_app(backend_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(backend_url, tmp_path)
    result = app.test_cli_runner().invoke(args=FakePlatform().cli_args())
    assert result.exit_code == 0, result.output
    yield app
    jobs = app.extensions.get("mp_jobs")
    if jobs is not None:
        jobs.shutdown(wait=True)
    app.extensions["db_engine"].dispose()


@pytest.fixture
def platform_id(sync_app: Flask) -> int:
    with session_scope(sync_app) as db:
        return db.scalars(select(Platform.id)).one()
