"""Golden and boundary tests for lti_app.mastery.calculation (canvas-api.md section 3.3-3.6)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_app.mastery.calculation import (
    METHOD_PARAMETERS,
    Evidence,
    Method,
    OverrideReasonRequiredError,
    OverrideRule,
    Policy,
    PolicyError,
    SourceKind,
    average,
    compute,
    compute_many,
    current_level,
    decaying_average,
    highest,
    latest,
    method_from_canvas,
    mode,
    n_mastery,
    order_scores,
    ordered,
    power_law,
    recent_mean,
    ruby_round2,
    standard_decaying_average,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def ev(score: float, day: float, **kw: object) -> Evidence:
    return Evidence(score, T0 + timedelta(days=day), **kw)  # type: ignore[arg-type]


def level(scores: list[float], policy: Policy, threshold: float = 3.0) -> float | None:
    evidence = [ev(s, i) for i, s in enumerate(scores)]
    return current_level(evidence, policy, 0.0, 4.0, threshold).value


# ---------------------------------------------------------------- rounding (Ruby Float#round(2))


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (4.125, 4.13),  # exact half: away from zero (Python's round gives 4.12)
        (2.675, 2.68),  # stored as 2.67499999..., Ruby still rounds up
        (1.005, 1.01),
        (0.125, 0.13),
        (2.7375, 2.74),
        (2.734, 2.73),
        (-4.125, -4.13),
        (3.0, 3.0),
        (0.0, 0.0),
    ],
)
def test_ruby_round2(x: float, expected: float) -> None:
    assert ruby_round2(x) == expected


# ---------------------------------------------------------------- golden: reference section 3.6


def test_reference_legacy_weighted_example() -> None:
    # int 65, scores 1,2,3,4,5 oldest->newest: 0.65*5 + 0.35*2.5 = 4.125 -> 4.13
    assert decaying_average([1, 2, 3, 4, 5], 65) == 4.13
    # through the entry point (Canvas methods are not clamped to the scale):
    ev5 = [ev(s, i) for i, s in enumerate([1, 2, 3, 4, 5])]
    assert current_level(ev5, Policy(Method.DECAYING_AVERAGE, 65), 0, 5, 3).value == 4.13


def test_reference_standard_decaying_example() -> None:
    # w = 0.65: d2 = 0.35*1 + 0.65*2 = 1.65; d3 = 0.35*1.65 + 0.65*3 = 2.5275 -> 2.53;
    # d4 = 0.35*2.5275 + 0.65*4 = 3.484625 -> 3.48; d5 = 0.35*3.484625 + 0.65*5 = 4.4696 -> 4.47
    series = [1.0, 2.0, 3.0, 4.0, 5.0]
    got = [standard_decaying_average(series[:k], 65) for k in range(2, 6)]
    assert got == [1.65, 2.53, 3.48, 4.47]


# ---------------------------------------------------------------- hand-computed Canvas methods


def test_highest_latest_average() -> None:
    scores = [1.0, 3.5, 2.0]
    assert highest(scores) == 3.5
    assert latest(scores) == 2.0
    # (1 + 3.5 + 2) / 3 = 2.1666... -> 2.17
    assert average(scores) == 2.17
    # (1 + 2 + 2) / 3 = 1.6666... -> 1.67
    assert average([1.0, 2.0, 2.0]) == 1.67


@pytest.mark.parametrize(
    "fn", [highest, latest, average, decaying_average, standard_decaying_average, mode]
)
def test_empty_is_none(fn: object) -> None:
    assert fn([]) is None  # type: ignore[operator]


def test_one_result_is_that_result() -> None:
    for fn in (highest, latest, average, decaying_average, standard_decaying_average, mode):
        assert fn([2.5]) == 2.5
    assert power_law([2.5], 0, 4) == 2.5
    assert recent_mean([2.5], 3) == 2.5


def test_legacy_weighted_hand_case() -> None:
    # [2.0, 2.5, 3.0], int 65: mean(older) = 2.25; 0.65*3.0 + 0.35*2.25 = 1.95 + 0.7875 = 2.7375
    assert decaying_average([2.0, 2.5, 3.0], 65) == 2.74


def test_legacy_weighted_int_bounds() -> None:
    # int 1:  0.01*0 + 0.99*mean(4) = 3.96
    assert decaying_average([4.0, 0.0], 1) == 3.96
    # int 99: 0.99*4 + 0.01*0 = 3.96
    assert decaying_average([0.0, 4.0], 99) == 3.96
    # int 50 on [1, 2, 4]: 0.5*4 + 0.5*1.5 = 2.75
    assert decaying_average([1.0, 2.0, 4.0], 50) == 2.75


def test_standard_decaying_int_bounds() -> None:
    # w = 0.5: d2 = 0.5*4 + 0.5*2 = 3; d3 = 0.5*3 + 0.5*1 = 2
    assert standard_decaying_average([4.0, 2.0, 1.0], 50) == 2.0
    # w = 0.99: d2 = 0.01*0 + 0.99*4 = 3.96
    assert standard_decaying_average([0.0, 4.0], 99) == 3.96


def test_n_mastery_mean_of_all_kept_scores_not_top_n() -> None:
    # n = 2, threshold 3: kept [3, 4, 3.5] -> mean 3.5 (top-2 legacy rule would give 3.75)
    assert n_mastery([3.0, 4.0, 2.0, 3.5], 2, 3.0) == 3.5


def test_n_mastery_too_few() -> None:
    # fewer results than n at all
    assert n_mastery([4.0, 4.0, 4.0, 4.0], 5, 3.0) is None
    # enough results, but only 2 at/above the threshold when 3 are needed
    assert n_mastery([4.0, 4.0, 1.0, 2.9], 3, 3.0) is None
    # "mastery-level" means >= threshold: exactly 3.0 counts -> (3 + 3 + 4) / 3 = 3.33
    assert n_mastery([3.0, 3.0, 4.0, 1.0], 3, 3.0) == 3.33


def test_n_mastery_through_policy_default_n_is_5() -> None:
    assert level([3, 3, 3, 3], Policy(Method.N_MASTERY)) is None
    assert level([3, 3, 3, 3, 4], Policy(Method.N_MASTERY)) == 3.2


# ---------------------------------------------------------------- ordering (section 3.6 step 2)


def test_evidence_is_ordered_by_time_not_input_order() -> None:
    evidence = [ev(4.0, 3), ev(1.0, 1), ev(2.0, 2)]
    assert [e.score for e in ordered(evidence)] == [1.0, 2.0, 4.0]
    r = current_level(evidence, Policy(Method.LATEST), 0, 4, 3)
    assert r.value == 4.0


def test_ties_in_time_keep_given_order() -> None:
    same = T0
    evidence = [Evidence(1.0, same), Evidence(3.0, same), Evidence(2.0, same)]
    assert current_level(evidence, Policy(Method.LATEST), 0, 4, 3).value == 2.0


def test_ties_are_whole_seconds_like_canvas_to_i() -> None:
    # 0.9 s and 0.1 s into the same second are a tie (Time#to_i); given order wins.
    a = Evidence(1.0, T0 + timedelta(milliseconds=900))
    b = Evidence(3.0, T0 + timedelta(milliseconds=100))
    assert current_level([a, b], Policy(Method.LATEST), 0, 4, 3).value == 3.0
    assert current_level([b, a], Policy(Method.LATEST), 0, 4, 3).value == 1.0


def test_timezones_compare_as_instants() -> None:
    plus2 = timezone(timedelta(hours=2))
    early = Evidence(1.0, datetime(2026, 9, 1, 9, 0, tzinfo=plus2))  # 07:00 UTC
    late = Evidence(2.0, datetime(2026, 9, 1, 8, 0, tzinfo=UTC))
    assert current_level([late, early], Policy(Method.LATEST), 0, 4, 3).value == 2.0


def test_order_scores_fast_path() -> None:
    assert order_scores([4.0, 1.0, 2.0, 3.0], [30.0, 10.0, 20.0, 20.5]) == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="same length"):
        order_scores([1.0], [])


# ---------------------------------------------------------------- beyond Canvas


def test_power_law_recovers_exact_power_series() -> None:
    # s_i = 1.5 * i ** 0.4 for i = 1..5: prediction at attempt 5 = 1.5 * 5 ** 0.4 = 2.8555...
    series = [1.5 * i**0.4 for i in range(1, 6)]
    assert power_law(series, 0, 4) == ruby_round2(1.5 * 5**0.4) == 2.86


def test_power_law_clamps_to_scale() -> None:
    # 1, 2, 3, 4, 5 (= attempt) predicts 5 at attempt 5 -> clamped to 4
    assert power_law([1.0, 2.0, 3.0, 4.0, 5.0], 0, 4) == 4.0
    # strongly falling series predicts below 1 -> clamped to the scale minimum 1
    assert power_law([4.0, 0.25, 0.05], 1, 4) == 1.0


def test_power_law_zeros_are_shifted() -> None:
    # [0, 1, 2, 3] on 0..4: shifted by 1 - 0 = 1 -> [1, 2, 3, 4] = attempt ** 1, so a = 1, b = 1,
    # prediction at attempt 4 is 4, shifted back -> 3.0
    assert power_law([0.0, 1.0, 2.0, 3.0], 0, 4) == 3.0


def test_power_law_two_points_passes_through_both() -> None:
    # two points are fitted exactly: the prediction at attempt 2 is the second score
    assert power_law([2.0, 3.0], 0, 4) == 3.0


def test_mode_ties_go_to_higher_level() -> None:
    assert mode([2.0, 3.0, 3.0, 2.0]) == 3.0
    assert mode([1.0, 1.0, 4.0]) == 1.0
    assert mode([2.5, 1.0, 3.5]) == 3.5
    # float noise counts as the same level
    assert mode([0.75 * 4, 2.9999999999999996, 2.0]) == 3.0


def test_recent_mean() -> None:
    # last 3 of [1, 2, 3, 4] -> (2 + 3 + 4) / 3 = 3.0
    assert recent_mean([1.0, 2.0, 3.0, 4.0], 3) == 3.0
    # fewer than N -> all of them: (1 + 2) / 2 = 1.5
    assert recent_mean([1.0, 2.0], 5) == 1.5
    # N = 2 of [4, 1, 2]: 1.5
    assert level([4, 1, 2], Policy(Method.RECENT_MEAN, 2)) == 1.5


def test_compute_matches_current_level_for_every_method() -> None:
    scores = [1.0, 2.5, 3.0, 2.0, 3.5, 4.0]
    for method in Method:
        policy = Policy(method)
        assert compute(method, scores, policy.effective_parameter, 3.0, 0, 4) == level(
            scores, policy
        ), method


# ---------------------------------------------------------------- policy validation (section 3.3)


@pytest.mark.parametrize(
    ("method", "parameter"),
    [
        (Method.DECAYING_AVERAGE, 0),
        (Method.DECAYING_AVERAGE, 100),
        (Method.STANDARD_DECAYING_AVERAGE, 49),
        (Method.STANDARD_DECAYING_AVERAGE, 100),
        (Method.N_MASTERY, 0),
        (Method.N_MASTERY, 11),
        (Method.RECENT_MEAN, 0),
        (Method.HIGHEST, 1),
        (Method.LATEST, 65),
        (Method.AVERAGE, 3),
        (Method.MODE, 2),
        (Method.POWER_LAW, 2),
    ],
)
def test_policy_rejects_out_of_range(method: Method, parameter: int) -> None:
    with pytest.raises(PolicyError):
        Policy(method, parameter)


@pytest.mark.parametrize(
    ("method", "parameter"),
    [
        (Method.DECAYING_AVERAGE, 1),
        (Method.DECAYING_AVERAGE, 99),
        (Method.STANDARD_DECAYING_AVERAGE, 50),
        (Method.STANDARD_DECAYING_AVERAGE, 99),
        (Method.N_MASTERY, 1),
        (Method.N_MASTERY, 10),
        (Method.HIGHEST, None),
    ],
)
def test_policy_accepts_bounds(method: Method, parameter: int | None) -> None:
    assert Policy(method, parameter).method is method


def test_policy_defaults_and_unknown_method() -> None:
    assert Policy(Method.DECAYING_AVERAGE).effective_parameter == 65
    assert Policy(Method.STANDARD_DECAYING_AVERAGE).effective_parameter == 65
    assert Policy(Method.N_MASTERY).effective_parameter == 5
    assert Policy(Method.HIGHEST).effective_parameter is None
    with pytest.raises(PolicyError, match="must be one of"):
        Policy("weighted_sum")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="minimum"):
        Policy(Method.LATEST, minimum_evidence=-1)


# ---------------------------------------------------------------- evidence validation


def test_evidence_requires_aware_time_and_finite_score() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Evidence(2.0, datetime(2026, 9, 1, 8, 0))
    with pytest.raises(ValueError, match="finite"):
        Evidence(math.nan, T0)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_override_requires_reason(reason: str | None) -> None:
    with pytest.raises(OverrideReasonRequiredError, match="reason"):
        Evidence(3.0, T0, SourceKind.OVERRIDE, reason=reason)


# ---------------------------------------------------------------- overrides


def _history_with_override(newer: bool) -> list[Evidence]:
    items = [
        ev(1.0, 0, id="a"),
        ev(2.0, 1, id="b"),
        ev(3.5, 2, kind=SourceKind.OVERRIDE, reason="Oral defence showed mastery", id="ov"),
    ]
    if newer:
        items.append(ev(2.5, 3, id="c"))
    return items


@pytest.mark.parametrize("rule", list(OverrideRule))
def test_override_decides_when_it_is_newest(rule: OverrideRule) -> None:
    r = current_level(
        _history_with_override(False), Policy(Method.AVERAGE, override_rule=rule), 0, 4, 3
    )
    assert r.value == 3.5
    assert r.overridden
    assert r.override_reason == "Oral defence showed mastery"
    assert r.explanation == "set by the teacher to 3.5: Oral defence showed mastery"
    assert r.evidence_count == 3


def test_override_rule_a_resumes_on_newer_evidence() -> None:
    policy = Policy(
        Method.DECAYING_AVERAGE, 65, override_rule=OverrideRule.RESUME_AFTER_NEWER_EVIDENCE
    )
    r = current_level(_history_with_override(True), policy, 0, 4, 3)
    # window = [override 3.5, 2.5]: 0.65*2.5 + 0.35*3.5 = 1.625 + 1.225 = 2.85
    assert r.value == 2.85
    assert not r.overridden
    assert r.evidence_count == 4
    assert r.used_evidence_ids == ("ov", "c")
    assert "earlier evidence no longer counts" in r.explanation


def test_override_rule_b_stands_until_cleared() -> None:
    policy = Policy(Method.DECAYING_AVERAGE, 65, override_rule=OverrideRule.STANDS_UNTIL_CLEARED)
    r = current_level(_history_with_override(True), policy, 0, 4, 3)
    assert r.value == 3.5
    assert r.overridden
    # the teacher clears it: the caller leaves the override out, calculation runs on the rest
    cleared = [e for e in _history_with_override(True) if e.kind is not SourceKind.OVERRIDE]
    # [1, 2, 2.5]: 0.65*2.5 + 0.35*1.5 = 1.625 + 0.525 = 2.15
    assert current_level(cleared, policy, 0, 4, 3).value == 2.15


def test_only_the_latest_override_counts() -> None:
    items = [
        ev(1.0, 0, kind=SourceKind.OVERRIDE, reason="first"),
        ev(2.0, 1),
        ev(4.0, 2, kind=SourceKind.OVERRIDE, reason="second"),
    ]
    r = current_level(items, Policy(Method.HIGHEST), 0, 4, 3)
    assert (r.value, r.override_reason) == (4.0, "second")


# ---------------------------------------------------------------- minimum evidence, explanations


def test_minimum_evidence() -> None:
    policy = Policy(Method.AVERAGE, minimum_evidence=3)
    r = current_level([ev(3.0, 0), ev(4.0, 1)], policy, 0, 4, 3)
    assert r.value is None
    assert r.evidence_count == 2
    assert r.explanation == "not enough evidence yet: 2 of 3 needed"
    assert current_level([ev(3.0, 0), ev(4.0, 1), ev(2.0, 2)], policy, 0, 4, 3).value == 3.0
    # a deciding override is shown even below the minimum
    r = current_level([ev(3.0, 0, kind=SourceKind.OVERRIDE, reason="IEP")], policy, 0, 4, 3)
    assert (r.value, r.overridden) == (3.0, True)


def test_no_evidence() -> None:
    r = current_level([], Policy(), 0, 4, 3)
    assert (r.value, r.evidence_count, r.explanation) == (None, 0, "no evidence yet")


def test_bad_bounds_rejected() -> None:
    with pytest.raises(ValueError, match="scale_min"):
        current_level([], Policy(), 4, 0, 3)


def test_explanation_strings() -> None:
    three = [ev(2.0, 0), ev(2.5, 1), ev(3.0, 2)]

    def explain(policy: Policy, items: list[Evidence] = three) -> str:
        return current_level(items, policy, 0, 4, 3).explanation

    assert explain(Policy(Method.DECAYING_AVERAGE, 65)) == (
        "decaying average, 65% on the latest score: 0.65 \u00d7 3.0 + 0.35 \u00d7 2.25 = 2.74, "
        "where 3.0 is the latest score and 2.25, the mean of the 2 earlier scores (2.0, 2.5)"
    )
    assert explain(Policy(Method.DECAYING_AVERAGE, 65), three[1:]) == (
        "decaying average, 65% on the latest score: 0.65 \u00d7 3.0 + 0.35 \u00d7 2.5 = 2.83, "
        "where 3.0 is the latest score and the earlier score, 2.5"
    )
    assert (
        explain(Policy(Method.DECAYING_AVERAGE), [ev(2.0, 0)])
        == "decaying average, 65% on the latest score: only one score, 2.0"
    )
    assert explain(Policy(Method.HIGHEST)) == "highest of 3 scores (2.0, 2.5, 3.0): 3.0"
    assert explain(Policy(Method.LATEST)) == "latest score: 3.0; the 2 earlier do not count"
    assert explain(Policy(Method.AVERAGE)) == "average of 3 scores (2.0, 2.5, 3.0): 2.5"
    assert explain(Policy(Method.MODE)) == "most frequent of 3 scores (2.0, 2.5, 3.0): 3.0"
    assert explain(Policy(Method.RECENT_MEAN, 2)) == (
        "average of the 2 most recent scores (2.5, 3.0): 2.75"
    )
    assert explain(Policy(Method.N_MASTERY, 2)) == (
        "mastery 2 times: 1 of 3 scores at or above 3.0, 2 needed, so no level yet"
    )
    assert explain(Policy(Method.N_MASTERY, 1)) == (
        "mastery 1 time: average of the 1 score at or above 3.0 (3.0): 3.0"
    )
    assert explain(Policy(Method.POWER_LAW)).startswith(
        "power law trend over 3 attempts (2.0, 2.5, 3.0)"
    )
    # 0.35 x 2.0 + 0.65 x 2.5 = 2.325, the running average before the latest score
    assert explain(Policy(Method.STANDARD_DECAYING_AVERAGE)) == (
        "standard decaying average, each new score weighs 65% against the running average of "
        "3 scores: 0.65 \u00d7 3.0 + 0.35 \u00d7 2.33 = 2.76, where 3.0 is the latest score and "
        "2.33 the running average of the 2 before it (2.0, 2.5)"
    )


# ---------------------------------------------------------------- Canvas stored names (section 3.4)


@pytest.mark.parametrize(
    ("stored", "flag", "expected"),
    [
        (None, False, Method.HIGHEST),
        ("decaying_average", True, Method.DECAYING_AVERAGE),
        ("weighted_average", True, Method.DECAYING_AVERAGE),
        ("standard_decaying_average", True, Method.STANDARD_DECAYING_AVERAGE),
        ("standard_decaying_average", False, Method.DECAYING_AVERAGE),
        ("n_mastery", False, Method.N_MASTERY),
        ("latest", True, Method.LATEST),
    ],
)
def test_method_from_canvas(stored: str | None, flag: bool, expected: Method) -> None:
    assert method_from_canvas(stored, flag) is expected


def test_method_from_canvas_unknown() -> None:
    with pytest.raises(PolicyError, match="unknown"):
        method_from_canvas("median", True)


def test_policy_accepts_stored_strings() -> None:
    policy = Policy("n_mastery", 2, override_rule="stands_until_cleared")  # type: ignore[arg-type]
    assert policy.method is Method.N_MASTERY
    assert policy.override_rule is OverrideRule.STANDS_UNTIL_CLEARED
    assert compute("highest", [1.0, 2.0], None, 3.0, 0, 4) == 2.0  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="override rule"):
        Policy(Method.LATEST, override_rule="never")  # type: ignore[arg-type]


# --- compute_many: the batch path gives exactly compute()'s levels -----------------------------


@given(
    series=st.lists(
        st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]), max_size=12)
        | st.lists(st.floats(0, 4, allow_nan=False), max_size=12),
        max_size=30,
    ),
    parameter=st.none() | st.integers(50, 99),
)
def test_compute_many_equals_compute_per_series(
    series: list[list[float]], parameter: int | None
) -> None:
    for method in Method:
        spec = METHOD_PARAMETERS[method]
        param = (
            None if spec is None or parameter is None else max(spec.low, min(parameter, spec.high))
        )
        batch = compute_many(method, series, param, 3.0, 0.0, 4.0)
        single = [compute(method, s, param, 3.0, 0.0, 4.0) if s else None for s in series]
        assert batch == single, method
