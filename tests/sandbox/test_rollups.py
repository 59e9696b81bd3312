"""Rollup arithmetic pinned to the reference's worked examples (docs/canvas.md §2.3-2.5)."""

from __future__ import annotations

import pytest

from canvas_sandbox import rollups
from canvas_sandbox.errors import ValidationFailed
from canvas_sandbox.outcomes import normalize_calculation


@pytest.mark.parametrize(
    ("formula", "int_value", "scores", "expected"),
    [
        ("weighted", 65, [1, 2, 3, 4, 5], 4.13),  # 0.65*5 + 0.35*2.5 = 4.125 -> 4.13 (half up)
        ("standard_decaying", 65, [1, 2, 3, 4, 5], 4.47),
        ("weighted", 65, [2], 2.0),
        ("standard_decaying", 65, [3], 3.0),
        ("highest", None, [1, 4, 2], 4.0),
        ("latest", None, [4, 1, 2], 2.0),
        ("average", None, [1, 2, 4], 2.33),
        ("n_mastery", 2, [3, 1, 4], 3.5),  # mean of the kept scores, not of the top n
        ("n_mastery", 3, [3, 1, 4], None),  # only two at mastery
        ("n_mastery", 5, [4, 4, 4], None),  # fewer results than n
    ],
)
def test_methods(
    formula: str, int_value: int | None, scores: list[float], expected: float | None
) -> None:
    assert rollups.calculate(formula, int_value, [float(s) for s in scores], 3.0) == expected


@pytest.mark.parametrize(
    ("stored", "new_ff", "runs"),
    [
        ("decaying_average", False, "weighted"),
        ("decaying_average", True, "weighted"),
        ("weighted_average", True, "weighted"),
        ("standard_decaying_average", False, "weighted"),
        ("standard_decaying_average", True, "standard_decaying"),
        ("n_mastery", True, "n_mastery"),
        ("latest", False, "latest"),
    ],
)
def test_feature_flag_mapping(stored: str, new_ff: bool, runs: str) -> None:
    assert rollups.formula(stored, new_ff) == runs


def test_calculation_validation_matches_canvas() -> None:
    assert normalize_calculation("weighted_average", None, new_decaying=True).method == (
        "decaying_average"
    )
    assert normalize_calculation("standard_decaying_average", 70, new_decaying=False).method == (
        "decaying_average"
    )
    assert normalize_calculation("n_mastery", None, new_decaying=True).int_value == 5
    with pytest.raises(ValidationFailed, match="between '50' and '99'"):
        normalize_calculation("standard_decaying_average", 20, new_decaying=True)
    with pytest.raises(ValidationFailed, match="not used with this calculation method"):
        normalize_calculation("highest", 3, new_decaying=True)
    with pytest.raises(ValidationFailed, match="calculation_method must be one of"):
        normalize_calculation("mode", None, new_decaying=True)


def test_round_half_up() -> None:
    assert rollups.round2(4.125) == 4.13
    assert rollups.round2(2.675) == 2.68
    assert rollups.round2(4.46961875) == 4.47


def test_round2_is_rubys_float_round() -> None:
    """Ruby's round_half_up repairs x * 100 landing just below a half (1.005 -> 1.01, where
    Python's round gives 1.0); negative values round away from zero."""
    assert rollups.round2(1.005) == 1.01
    assert rollups.round2(0.285) == 0.29
    assert rollups.round2(-2.675) == -2.68
    assert rollups.round2(3.0) == 3.0


def test_weights_are_written_as_rollup_score_writes_them() -> None:
    """RollupScore: latest * (0.01 * weight) + older mean * (0.01 * (100 - weight)): 0.1 then
    0.0 is 0.035000000000000003, 0.04 in Canvas; written as 0.65 * s + (1 - 0.65) * m it
    would be 0.034999999999999996 and round to 0.03."""
    assert rollups.calculate("weighted", 65, [0.1, 0.0], 3.0) == 0.04
    assert rollups.calculate("weighted", 65, [0.05, 0.35], 3.0) == 0.25
