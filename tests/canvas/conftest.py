"""Fixtures for the Canvas client tests: a mocked Canvas (responses), a fake clock and sleep.

The client never really sleeps here: `sleep` advances the fake monotonic clock, so backoff,
pacing and deadlines are asserted exactly and the tests stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses

from lti_app.canvas.client import CanvasClient, StaticToken
from lti_app.canvas.client.tokens import TokenSource

BASE = "https://canvas.test"
TOKEN = "7~sEcReTtOkEn-abc"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def canvas() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


MakeClient = Callable[..., CanvasClient]


@pytest.fixture
def make_client(clock: FakeClock) -> MakeClient:
    def make(tokens: TokenSource | None = None, **kwargs: Any) -> CanvasClient:
        options: dict[str, Any] = {
            "sleep": clock.sleep,
            "monotonic": clock.monotonic,
            "jitter": lambda low, high: high,  # deterministic: the full backoff ceiling
        }
        options.update(kwargs)
        return CanvasClient(BASE, tokens or StaticToken(TOKEN), **options)

    return make


def auth_of(call: Any) -> str | None:
    header = call.request.headers.get("Authorization")
    return None if header is None else str(header)
