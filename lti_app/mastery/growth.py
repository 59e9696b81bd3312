"""Growth to readiness for one student and one target (standard library only).

* ``first_level``: the score of the earliest evidence (Canvas order, see
  :func:`lti_app.mastery.calculation.ordered`).
* ``current_level``: :func:`lti_app.mastery.calculation.current_level` under the policy
  (``None`` when there is too little evidence).
* ``change``: ``current_level - first_level`` (rounded to 2 decimals).
* ``trend_per_week``: least-squares slope of score against time in weeks over all evidence
  (overrides included); ``None`` with fewer than 2 distinct times.
* ``mastered``: ``current_level >= mastery_threshold``.
* ``distance_to_threshold``: ``max(0, threshold - current_level)``.
* ``projected_date``: only when not mastered and the trend is positive:
  ``now + distance_to_threshold / trend_per_week`` weeks, i.e. the current level growing at the
  fitted weekly rate. Otherwise ``None`` and the status says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lti_app.mastery.calculation import (
    Evidence,
    Policy,
    Result,
    current_level,
    ordered,
    ruby_round2,
)

__all__ = ["Growth", "GrowthStatus", "growth", "trend_per_week"]

_SECONDS_PER_WEEK = 7 * 24 * 3600.0


class GrowthStatus(StrEnum):
    """Where a student stands on the way to the mastery threshold."""

    NO_EVIDENCE = "no_evidence"
    NOT_ENOUGH_EVIDENCE = "not_enough_evidence"
    """Evidence exists but the policy's minimum is not reached, so there is no current level."""
    MASTERED = "mastered"
    ON_TRACK = "on_track"
    """Not mastered yet, positive trend: ``projected_date`` is set."""
    NOT_ON_TRACK_YET = "not_on_track_yet"
    """Not mastered and the trend is flat, negative or unknown (or too far out to date)."""


@dataclass(frozen=True, slots=True)
class Growth:
    first_level: float | None
    current_level: float | None
    change: float | None
    trend_per_week: float | None
    mastered: bool
    distance_to_threshold: float | None
    projected_date: datetime | None
    status: GrowthStatus
    evidence_count: int


def trend_per_week(times: Sequence[float], scores: Sequence[float]) -> float | None:
    """Least-squares slope of ``scores`` against ``times`` (POSIX seconds), per week.

    ``None`` with fewer than 2 points or when all times are equal.
    """
    k = len(times)
    if k != len(scores):
        raise ValueError("times and scores must have the same length")
    if k < 2:
        return None
    t0 = times[0]
    xs = [(t - t0) / _SECONDS_PER_WEEK for t in times]
    mx = math.fsum(xs) / k
    my = math.fsum(scores) / k
    sxx = math.fsum((x - mx) * (x - mx) for x in xs)
    if sxx == 0.0:
        return None
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, scores, strict=True))
    return sxy / sxx


def growth(
    evidence: Sequence[Evidence],
    policy: Policy,
    scale_min: float,
    scale_max: float,
    mastery_threshold: float,
    now: datetime,
    *,
    horizon_weeks: float = 520.0,
    level: Result | None = None,
) -> Growth:
    """Growth to readiness. ``now`` must be timezone-aware; projections further than
    ``horizon_weeks`` out are reported as not on track yet (no date). ``level``: the current
    level when the caller computed it another way (the "as Canvas" basis); the first level and
    the trend still come from the evidence, each piece at its district level."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    items = ordered(evidence)
    count = len(items)
    if count == 0:
        return Growth(None, None, None, None, False, None, None, GrowthStatus.NO_EVIDENCE, 0)

    first = ruby_round2(items[0].score)
    result = level or current_level(items, policy, scale_min, scale_max, mastery_threshold)
    current = result.value
    slope = trend_per_week([e.at.timestamp() for e in items], [e.score for e in items])
    trend = None if slope is None else ruby_round2(slope)

    if current is None:
        return Growth(
            first, None, None, trend, False, None, None, GrowthStatus.NOT_ENOUGH_EVIDENCE, count
        )

    change = ruby_round2(current - first)
    mastered = current >= mastery_threshold
    distance = ruby_round2(max(0.0, mastery_threshold - current))
    if mastered:
        return Growth(first, current, change, trend, True, 0.0, None, GrowthStatus.MASTERED, count)

    projected: datetime | None = None
    status = GrowthStatus.NOT_ON_TRACK_YET
    if slope is not None and slope > 0:
        weeks = (mastery_threshold - current) / slope
        if weeks <= horizon_weeks:
            projected = now + timedelta(weeks=weeks)
            status = GrowthStatus.ON_TRACK
    return Growth(first, current, change, trend, False, distance, projected, status, count)
