"""The "as Canvas computes it" basis: aggregate on the Canvas scale, then map onto the district
scale (docs/canvas.md §2.1, §2.5, §2.7).

Canvas results enter as the values Canvas's own rollup uses (``canvas_rollup.timed_points``:
percent x points of the scale in force, Classic Quiz pooling); the tool's own evidence
(demonstrations, overrides) enters as the Canvas points of the district level it was scored at,
on the same scale, which the mapping reads back as that level. The policy's method, parameter,
minimum evidence and override rule then run exactly as ever (``calculation.current_level``: the
whole-second order, Ruby's rounding), and only the aggregate is mapped to a district level.

Pure: standard library and the other ``mastery`` modules only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lti_app.mastery.calculation import Evidence, Method, Policy, Result, compute, current_level
from lti_app.mastery.canvas_rollup import CanvasScoring, ScoredResult, timed_points
from lti_app.mastery.mapping import AnyMapping

__all__ = [
    "CanvasBasisLevel",
    "canvas_basis_level",
    "canvas_basis_quick",
    "level_points",
    "scale_top",
]

# Canvas orders a result without submitted_at or assessed_at as time 0 (``nil.to_i``).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def scale_top(scoring: CanvasScoring) -> float:
    """The points a fraction of the scale is taken of (``mastery_points`` on a 0-point scale)."""
    return scoring.points_possible if scoring.points_possible > 0 else scoring.mastery_points


def level_points(level: float, mapping: AnyMapping, scoring: CanvasScoring) -> float:
    """A district level as points on the Canvas scale in force: the mapping's own points for
    it, taken as the same fraction of this scale, so the mapping reads it back as ``level``."""
    points = mapping.to_canvas_points(level)
    top = mapping.round_trip_possible
    target = scale_top(scoring)
    if top is None or top <= 0 or target <= 0 or top == target:
        return points
    return points / top * target


@dataclass(frozen=True, slots=True)
class CanvasBasisLevel:
    result: Result
    """``value`` is the district level; the explanation ends with the Canvas-scale figure."""
    points: float | None
    """The aggregate on the Canvas scale (two decimals), None without one."""
    first_level: float | None
    """The district level of the oldest piece of evidence (for growth since then)."""


def canvas_basis_level(
    canvas: Sequence[tuple[str, ScoredResult]],
    tool: Sequence[Evidence],
    scoring: CanvasScoring,
    policy: Policy,
    mapping: AnyMapping,
) -> CanvasBasisLevel:
    """``canvas``: ``(evidence id, result)`` in the stored (Canvas) order; ``tool``: the tool's
    own evidence, scored in district levels."""
    top = scale_top(scoring)
    evidence = [
        Evidence(value, at or EPOCH, id=canvas[i][0])
        for i, value, at in timed_points([r for _, r in canvas], scoring)
    ]
    evidence += [replace(e, score=level_points(e.score, mapping, scoring)) for e in tool]
    result = current_level(evidence, policy, 0.0, top, scoring.mastery_points)
    first = min(evidence, key=lambda e: int(e.at.timestamp()), default=None)
    first_level = mapping.to_level(first.score, top) if first is not None else None
    if result.value is None:
        return CanvasBasisLevel(result, None, first_level)
    level = mapping.to_level(result.value, top)
    placed = f"level {level:g}" if level is not None else "below every level"
    words = f"{result.explanation}; on Canvas's 0-{top:g} scale, {result.value:g} is {placed}"
    return CanvasBasisLevel(
        replace(result, value=level, explanation=words), result.value, first_level
    )


def canvas_basis_quick(
    canvas: Sequence[ScoredResult],
    scoring: CanvasScoring,
    policy: Policy,
    mapping: AnyMapping,
) -> CanvasBasisLevel:
    """:func:`canvas_basis_level` for Canvas results alone (no tool evidence, so no override),
    without the explanation: the same value, count and first level at a fraction of the cost
    (a grid computes 1,400 of them)."""
    timed = timed_points(canvas, scoring)
    timed.sort(key=lambda t: _whole_seconds(t[2]))  # stable: ties keep Canvas's order
    values = [v for _, v, _ in timed]
    top = scale_top(scoring)
    count = len(values)
    method = Method(policy.method)
    first_level = mapping.to_level(values[0], top) if values else None
    if count == 0 or count < policy.minimum_evidence:
        return CanvasBasisLevel(Result(None, method, count), None, first_level)
    points = compute(method, values, policy.effective_parameter, scoring.mastery_points, 0.0, top)
    level = mapping.to_level(points, top) if points is not None else None
    return CanvasBasisLevel(Result(level, method, count), points, first_level)


def _whole_seconds(at: datetime | None) -> int:
    return 0 if at is None else math.floor(at.timestamp())
