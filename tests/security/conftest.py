"""Security tests run on SQLite and PostgreSQL (the backends refuse different things)."""

from __future__ import annotations

import pytest
import responses
from flask import Flask

from tests.conftest import LtiBrowser
from tests.lti_platform import FakePlatform
from tests.security.course import Course, Launched, launch, seed


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def course(app: Flask, platform: FakePlatform) -> Course:
    return seed(app, platform)


class Roles:
    """One browser per role: a launch by another user would end the others' sessions."""

    def __init__(self, app: Flask, platform: FakePlatform) -> None:
        self.app, self.platform = app, platform
        self.browsers: dict[str, LtiBrowser] = {}
        self.sessions: dict[str, Launched] = {}

    def __getitem__(self, role: str) -> tuple[LtiBrowser, Launched]:
        if role not in self.browsers:
            browser = LtiBrowser(self.app.test_client(), self.platform)
            self.browsers[role] = browser
            self.sessions[role] = launch(browser, role)
        return self.browsers[role], self.sessions[role]

    def forget(self, role: str) -> None:
        """After a sign-out: the next use launches again."""
        self.browsers.pop(role, None)
        self.sessions.pop(role, None)


@pytest.fixture
def roles(app: Flask, platform: FakePlatform, jwks: responses.RequestsMock) -> Roles:
    return Roles(app, platform)
