"""Quick-evidence tests run on SQLite and PostgreSQL, on the grid tests' synced course."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.grading.seed import seed_course
from tests.lti_platform import FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_course(app, platform)
    return app
