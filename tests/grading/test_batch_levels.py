"""The numpy batch path (lti_app/grading/batch.py) gives the pure engine's levels for every
method, on scale points and on arbitrary scores, in Canvas order (hypothesis properties)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_app.grading import batch
from lti_app.mastery.calculation import METHOD_PARAMETERS, Method, compute_many, order_scores

SCALE_POINTS = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
LOW, HIGH, THRESHOLD = 0.0, 4.0, 3.0


def _rows(
    draw: st.DrawFn, scores: st.SearchStrategy[float]
) -> tuple[list[int], list[float], list[float]]:
    n = draw(st.integers(1, 60))
    keys = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    # Few distinct seconds, so ties (same whole second) are common.
    at = draw(st.lists(st.floats(1_700_000_000, 1_700_000_006), min_size=n, max_size=n))
    values = draw(st.lists(scores, min_size=n, max_size=n))
    return keys, at, values


@st.composite
def on_scale(draw: st.DrawFn) -> tuple[list[int], list[float], list[float]]:
    return _rows(draw, st.sampled_from(SCALE_POINTS))


@st.composite
def any_scores(draw: st.DrawFn) -> tuple[list[int], list[float], list[float]]:
    # Canvas scores can be any points value (2.7, 3.33...), including exact half cents.
    cents = st.integers(0, 400).map(lambda c: c / 100)
    return _rows(draw, st.one_of(cents, st.floats(0, 4), st.sampled_from([0.125, 2.675, 1.005])))


def _pure(
    keys: list[int], at: list[float], values: list[float], method: Method, parameter: int | None
) -> list[float | None]:
    """The pure engine, grouped and ordered on its own (order_scores), key by key."""
    series = []
    for key in sorted(set(keys)):
        idx = [i for i, k in enumerate(keys) if k == key]
        series.append(order_scores([values[i] for i in idx], [at[i] for i in idx]))
    return compute_many(method, series, parameter, THRESHOLD, LOW, HIGH)


def _check(rows: tuple[list[int], list[float], list[float]]) -> None:
    keys, at, values = rows
    grouped = batch.group(keys, at, values)
    assert grouped.keys.tolist() == sorted(set(keys))
    for method in Method:
        spec = METHOD_PARAMETERS[method]
        for parameter in [None] if spec is None else [None, spec.low, spec.high]:
            got = batch.levels(grouped, method, parameter, THRESHOLD, LOW, HIGH).tolist()
            want = _pure(keys, at, values, method, parameter)
            assert [None if math.isnan(v) else v for v in got] == want, (method, parameter)


@settings(max_examples=150, deadline=None)
@given(on_scale())
def test_equal_to_the_pure_engine_on_scale_points(
    rows: tuple[list[int], list[float], list[float]],
) -> None:
    _check(rows)


@settings(max_examples=150, deadline=None)
@given(any_scores())
def test_equal_to_the_pure_engine_on_any_scores(
    rows: tuple[list[int], list[float], list[float]],
) -> None:
    _check(rows)


def test_ties_keep_row_order_and_seconds_are_whole() -> None:
    # Same whole second: the later row in the input is the latest; 10.9 s is before 11.0 s.
    grouped = batch.group([5, 5, 5], [11.0, 10.2, 10.9], [1.0, 2.0, 3.0])
    assert grouped.scores.tolist() == [2.0, 3.0, 1.0]
    assert batch.levels(grouped, Method.LATEST, None, THRESHOLD, LOW, HIGH).tolist() == [1.0]
    empty = batch.group([], [], [])
    assert batch.levels(empty, Method.AVERAGE, None, THRESHOLD, LOW, HIGH).tolist() == []
    assert np.isnan(
        batch.levels(batch.group([1], [1.0], [4.0]), Method.N_MASTERY, None, THRESHOLD, LOW, HIGH)[
            0
        ]
    )
