"""What the mastery pages draw: levels for people and the growth chart's geometry (an inline
SVG: the CSP forbids inline styles and scripts). Shared by the teacher's drill-down and the
student's pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from lti_app.grading import drill as drill_model
from lti_app.languages import local_number
from lti_app.mastery.calculation import Evidence
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


class Plotted(Protocol):
    """One piece of evidence as a chart draws it (a drill-down row, a learner record's piece)."""

    @property
    def evidence(self) -> Evidence: ...
    @property
    def level_index(self) -> int | None: ...
    @property
    def source(self) -> str: ...


def chart_of(drill: drill_model.Drill, scale: Scale) -> Chart | None:
    """Geometry of the growth chart (inline SVG): every score over time, and the threshold."""
    return chart_from(drill.evidence, scale, drill.result.value)


def chart_from(rows: Sequence[Plotted], scale: Scale, current: float | None) -> Chart | None:
    """:func:`chart_of` for any evidence rows, oldest first, and the current level."""
    items = [row.evidence for row in rows]
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
    for row in rows:
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
        level=fmt(current),
    )
    return Chart(
        points,
        " ".join(f"{p.x},{p.y}" for p in points),
        ticks,
        y_of(scale.mastery_threshold),
        dates,
        summary,
    )


BAR_W, BAR_ROW_H = 640, 30
NO_LEVEL_COLOUR = "#e2e6e9"


@dataclass(frozen=True)
class BarPart:
    x: float
    width: float
    fill: str
    text: str


@dataclass(frozen=True)
class Bar:
    y: float
    label: str
    parts: list[BarPart]


@dataclass(frozen=True)
class StackedBars:
    """Horizontal 100 % bars, one per row: how a group of students spreads over the scale."""

    width: int
    height: int
    row_height: int
    bars: list[Bar]
    summary: str


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[int]]], scale: Scale, no_level: str, summary: str
) -> StackedBars:
    """``rows``: (label, students per level lowest first, then with no level). Each bar's
    parts carry their own words (the SVG ``<title>``); the page's table says it all again."""
    bars: list[Bar] = []
    colours = [level.color for level in scale.levels] + [NO_LEVEL_COLOUR]
    names = [f"{fmt(level.value)} {level.label}" for level in scale.levels] + [no_level]
    for i, (label, counts) in enumerate(rows):
        total = sum(counts) or 1
        x = 0.0
        parts: list[BarPart] = []
        for count, colour, name in zip(counts, colours, names, strict=False):
            if not count:
                continue
            width = round(count / total * BAR_W, 2)
            parts.append(BarPart(round(x, 2), width, colour, f"{label}: {name}: {count}"))
            x += width
        bars.append(Bar(i * BAR_ROW_H, label, parts))
    return StackedBars(BAR_W, max(1, len(rows)) * BAR_ROW_H, BAR_ROW_H - 6, bars, summary)
