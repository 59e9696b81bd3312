"""Growth to readiness (lti_app.mastery.growth), with a fixed ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lti_app.mastery.calculation import Evidence, Method, Policy, SourceKind
from lti_app.mastery.growth import GrowthStatus, growth, trend_per_week

T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
WEEK = 7 * 24 * 3600.0
LATEST = Policy(Method.LATEST)


def weekly(*scores: float) -> list[Evidence]:
    return [Evidence(s, T0 + timedelta(weeks=i)) for i, s in enumerate(scores)]


def test_on_track_projection() -> None:
    # 1.0, 1.5, 2.0 a week apart: slope 0.5/week; current (latest) 2.0, threshold 3.0,
    # distance 1.0 -> 1.0 / 0.5 = 2 weeks after now
    now = T0 + timedelta(weeks=2)
    g = growth(weekly(1.0, 1.5, 2.0), LATEST, 0, 4, 3.0, now)
    assert g.first_level == 1.0
    assert g.current_level == 2.0
    assert g.change == 1.0
    assert g.trend_per_week == 0.5
    assert not g.mastered
    assert g.distance_to_threshold == 1.0
    assert g.projected_date == now + timedelta(weeks=2)
    assert g.status is GrowthStatus.ON_TRACK
    assert g.evidence_count == 3


def test_projection_counts_from_now_not_last_evidence() -> None:
    # same evidence, asked 3 weeks later: still 2 weeks from now
    now = T0 + timedelta(weeks=5)
    g = growth(weekly(1.0, 1.5, 2.0), LATEST, 0, 4, 3.0, now)
    assert g.projected_date == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_mastered() -> None:
    g = growth(weekly(2.0, 3.0), LATEST, 0, 4, 3.0, T0 + timedelta(weeks=1))
    assert g.mastered
    assert g.status is GrowthStatus.MASTERED
    assert g.distance_to_threshold == 0.0
    assert g.projected_date is None
    assert g.change == 1.0


def test_negative_trend_is_not_on_track() -> None:
    g = growth(weekly(3.0, 2.5, 2.0), LATEST, 0, 4, 3.0, T0 + timedelta(weeks=2))
    assert g.trend_per_week == -0.5
    assert g.change == -1.0
    assert g.status is GrowthStatus.NOT_ON_TRACK_YET
    assert g.projected_date is None
    assert g.distance_to_threshold == 1.0


def test_flat_trend_is_not_on_track() -> None:
    g = growth(weekly(2.0, 2.0), LATEST, 0, 4, 3.0, T0 + timedelta(weeks=1))
    assert g.trend_per_week == 0.0
    assert g.status is GrowthStatus.NOT_ON_TRACK_YET


def test_single_evidence_has_no_trend() -> None:
    g = growth(weekly(2.0), LATEST, 0, 4, 3.0, T0)
    assert g.trend_per_week is None
    assert g.change == 0.0
    assert g.status is GrowthStatus.NOT_ON_TRACK_YET


def test_no_evidence() -> None:
    g = growth([], LATEST, 0, 4, 3.0, T0)
    assert g.status is GrowthStatus.NO_EVIDENCE
    assert (g.first_level, g.current_level, g.evidence_count) == (None, None, 0)


def test_not_enough_evidence() -> None:
    policy = Policy(Method.AVERAGE, minimum_evidence=3)
    g = growth(weekly(1.0, 2.0), policy, 0, 4, 3.0, T0 + timedelta(weeks=1))
    assert g.status is GrowthStatus.NOT_ENOUGH_EVIDENCE
    assert g.first_level == 1.0
    assert g.current_level is None
    assert g.distance_to_threshold is None
    assert g.trend_per_week == 1.0


def test_projection_beyond_horizon_is_not_on_track() -> None:
    # +0.01 per week, 1.99 to go: 199 weeks; with a 52-week horizon no date is promised
    g = growth(weekly(1.0, 1.01), LATEST, 0, 4, 3.0, T0 + timedelta(weeks=1), horizon_weeks=52)
    assert g.status is GrowthStatus.NOT_ON_TRACK_YET
    assert g.projected_date is None
    g = growth(weekly(1.0, 1.01), LATEST, 0, 4, 3.0, T0 + timedelta(weeks=1))
    assert g.status is GrowthStatus.ON_TRACK


def test_uses_policy_for_current_level_and_evidence_order() -> None:
    # given out of order; ordered: 1.0 (wk0), 2.0 (wk1), 3.0 (wk2)
    items = [
        Evidence(3.0, T0 + timedelta(weeks=2)),
        Evidence(1.0, T0),
        Evidence(2.0, T0 + timedelta(weeks=1)),
    ]
    # decaying 65: 0.65*3 + 0.35*1.5 = 1.95 + 0.525 = 2.475 -> 2.48; slope 1.0/week
    # distance 3.5 - 2.48 = 1.02 -> now + 1.02 weeks
    now = T0 + timedelta(weeks=2)
    g = growth(items, Policy(Method.DECAYING_AVERAGE, 65), 0, 4, 3.5, now)
    assert g.first_level == 1.0
    assert g.current_level == 2.48
    assert g.distance_to_threshold == 1.02
    assert g.trend_per_week == 1.0
    assert g.projected_date is not None
    assert abs((g.projected_date - now).total_seconds() - 1.02 * WEEK) < 1.0


def test_override_shapes_current_level() -> None:
    items = weekly(1.0, 1.5)
    items.append(
        Evidence(3.0, T0 + timedelta(weeks=2), SourceKind.OVERRIDE, reason="Portfolio review")
    )
    g = growth(items, LATEST, 0, 4, 3.0, T0 + timedelta(weeks=2))
    assert g.current_level == 3.0
    assert g.mastered


def test_trend_per_week_uneven_spacing() -> None:
    # weeks 0, 1, 3 with scores 1, 2, 3: mean x = 4/3, mean y = 2;
    # Sxy = (-4/3)(-1) + (-1/3)(0) + (5/3)(1) = 3; Sxx = 16/9 + 1/9 + 25/9 = 14/3
    # slope = 3 / (14/3) = 9/14 = 0.642857...
    times = [0.0, WEEK, 3 * WEEK]
    assert trend_per_week(times, [1.0, 2.0, 3.0]) == pytest.approx(9 / 14)
    assert trend_per_week([5.0, 5.0], [1.0, 2.0]) is None
    assert trend_per_week([5.0], [1.0]) is None
    with pytest.raises(ValueError, match="same length"):
        trend_per_week([1.0], [])


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        growth([], LATEST, 0, 4, 3.0, datetime(2026, 9, 7, 9, 0))
