"""What the mastery pages draw: levels for people and the growth chart's geometry (an inline
SVG: the CSP forbids inline styles and scripts). Shared by the teacher's drill-down and the
student's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lti_app.grading import drill as drill_model
from lti_app.languages import local_number
from lti_app.mastery.scales import Scale
from lti_app.translatable import Text, _l, _ln


def fmt(value: float | None) -> str:
    """A level for people: ``3``, ``2.5``, ``2.65`` (``2,5`` in Spanish); an en dash for none."""
    return "\u2013" if value is None else local_number(value)


def levels_spec(scale: Scale) -> str:
    """The scale's colours as the /levels/<spec>.css address names them."""
    return "-".join(level.color.lstrip("#").lower() for level in scale.levels)


CHART_W, CHART_H = 440, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 62, 14, 14, 36
# What the growth_chart macro needs to draw the frame (drill-down and student pages).
CHART_FRAME = {
    "chart_w": CHART_W,
    "chart_h": CHART_H,
    "chart_left": _LEFT,
    "chart_right": CHART_W - _RIGHT,
    "chart_bottom": CHART_H - _BOTTOM,
}


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    fill: str
    override: bool
    text: Text


@dataclass(frozen=True)
class Chart:
    points: list[ChartPoint]
    polyline: str
    ticks: list[tuple[float, str]]
    """(y, label) for every level of the scale."""
    threshold_y: float
    dates: list[tuple[float, str, str]]
    """(x, anchor, label) of the first and last evidence date."""
    summary: Text


def date_text(at: datetime) -> str:
    return f"{at:%Y-%m-%d}"


def chart_of(drill: drill_model.Drill, scale: Scale) -> Chart | None:
    """Geometry of the growth chart (inline SVG): every score over time, and the threshold."""
    items = [row.evidence for row in drill.evidence]
    if not items:
        return None
    lo, hi = scale.min_value, scale.max_value
    span = (hi - lo) or 1.0
    inner_w = CHART_W - _LEFT - _RIGHT
    inner_h = CHART_H - _TOP - _BOTTOM
    t0, t1 = items[0].at.timestamp(), items[-1].at.timestamp()

    def x_of(t: float) -> float:
        if t1 == t0:
            return _LEFT + inner_w / 2
        return round(_LEFT + (t - t0) / (t1 - t0) * inner_w, 1)

    def y_of(v: float) -> float:
        return round(_TOP + (hi - min(max(v, lo), hi)) / span * inner_h, 1)

    points = []
    for row in drill.evidence:
        e = row.evidence
        colour = scale.levels[row.level_index].color if row.level_index is not None else "#ffffff"
        points.append(
            ChartPoint(
                x_of(e.at.timestamp()),
                y_of(e.score),
                colour,
                row.evidence.kind.value == "override",
                _l(
                    "%(date)s: %(score)s (%(source)s)",
                    date=date_text(e.at),
                    score=e.score,
                    source=row.source,
                ),
            )
        )
    ticks = [
        (y_of(level.value), f"{fmt(level.value)} {level.short_label}") for level in scale.levels
    ]
    dates = [(x_of(t0), "start", date_text(items[0].at))]
    if t1 != t0:
        dates.append((x_of(t1), "end", date_text(items[-1].at)))
    n = len(items)
    summary = _ln(
        "%(num)s score from %(first)s on %(first_on)s to %(last)s on %(last_on)s; mastery at "
        "%(threshold)s; current level %(level)s.",
        "%(num)s scores from %(first)s on %(first_on)s to %(last)s on %(last_on)s; mastery at "
        "%(threshold)s; current level %(level)s.",
        n,
        first=items[0].score,
        first_on=date_text(items[0].at),
        last=items[-1].score,
        last_on=date_text(items[-1].at),
        threshold=scale.mastery_threshold,
        level=fmt(drill.result.value),
    )
    return Chart(
        points,
        " ".join(f"{p.x},{p.y}" for p in points),
        ticks,
        y_of(scale.mastery_threshold),
        dates,
        summary,
    )
