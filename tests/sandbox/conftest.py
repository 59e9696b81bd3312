"""Fixtures: a seeded sandbox app per test, tokens for the seeded people."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.tokens import mint_token

BASE = "http://sandbox.test:8100"


def run_result_jobs(state: SandboxState) -> None:
    """Let the outcome-result jobs queued so far run (the sandbox's clock moves past their
    delay), without sleeping: results are always written by a job, never in the request."""
    from datetime import timedelta

    from canvas_sandbox.results import materialize

    with state.lock:
        clock = state.clock
        later = clock() + timedelta(milliseconds=state.result_delay_ms)
        state.clock = lambda: later
        try:
            materialize(state)
        finally:
            state.clock = clock


@pytest.fixture
def sandbox() -> Flask:
    return create_sandbox(SandboxConfig(base_url=BASE, throttle_enabled=True))


@pytest.fixture
def state(sandbox: Flask) -> SandboxState:
    st: SandboxState = sandbox.extensions["sandbox_state"]
    return st


@pytest.fixture
def ids(sandbox: Flask) -> DemoIds:
    demo: DemoIds = sandbox.extensions["sandbox_ids"]
    return demo


@pytest.fixture
def client(sandbox: Flask) -> FlaskClient:
    # Canvas answers with URLs on the host the client used: talk to the sandbox as BASE.
    sandbox.config["SERVER_NAME"] = BASE.removeprefix("http://")
    return sandbox.test_client()


@pytest.fixture
def auth(state: SandboxState) -> Callable[[int], dict[str, str]]:
    """Authorization headers for a user (a fresh manually generated token)."""

    def headers(user_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(state, user_id)}"}

    return headers


@pytest.fixture
def teacher(auth: Callable[[int], dict[str, str]], ids: DemoIds) -> dict[str, str]:
    return auth(ids.teacher)
