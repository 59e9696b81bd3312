"""Declared rules mapping Canvas scores onto a district scale, and back for write-back.

Three rules, chosen per course or district:

* :class:`PercentMapping` -- by percent of possible: ``(min_percent, level_value)`` thresholds.
* :class:`CanvasPointsMapping` -- by points on the course's Canvas mastery scale: the score falls
  in the Canvas rating whose points it reaches, then a table maps that rating to a level.
* :class:`RatingTableMapping` -- a Canvas-rating-to-level table keyed by the rating's
  description (for rubric assessments) or its points.

All three use **floor semantics**, as Canvas does when it places a rollup score in a rating
(docs/canvas.md §2.1: ratings sorted by points descending, the first with ``points <= score``):
a score exactly on a boundary belongs to the band that starts there; a score below the lowest
boundary has no level (None).

Every rule is reversible: ``to_canvas_points(level)`` gives Canvas points that read back as the
same level, ``rule.to_level(rule.to_canvas_points(L), rule.round_trip_possible) == L``.
:func:`validate_mapping` checks a rule against a scale, round trip included.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from lti_app.mastery.scales import Scale, fmt

__all__ = [
    "EPSILON",
    "AnyMapping",
    "CanvasPointsMapping",
    "CanvasRating",
    "MappingError",
    "MappingRule",
    "PercentMapping",
    "PercentThreshold",
    "RatingLevel",
    "RatingTableEntry",
    "RatingTableMapping",
    "canvas_ratings_from_api",
    "mapping_from_dict",
    "mapping_to_dict",
    "mastery_disagreements",
    "validate_mapping",
]

#: Tolerance for boundary comparisons, so float noise (2.0999999999999996 for 70% of 3) never
#: drops a score that is on a boundary into the band below.
EPSILON = 1e-9


class MappingError(ValueError):
    """An invalid mapping rule, or a rule that does not fit its scale."""


def _finite(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MappingError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _ceil_cents(points: float) -> float:
    """Round up to 2 decimals (Canvas shows 2), ignoring float noise below 1e-6 of a cent."""
    return math.ceil(round(points * 100, 6)) / 100


class MappingRule(Protocol):
    """What every mapping rule offers."""

    @property
    def level_values(self) -> tuple[float, ...]:
        """The district level values the rule can produce, ascending, without repeats."""
        ...

    @property
    def round_trip_possible(self) -> float | None:
        """The ``possible`` to pass to :meth:`to_level` when reading write-back points."""
        ...

    def to_level(self, score: float, possible: float | None = None) -> float | None:
        """District level value for a Canvas score (None when it reaches no band)."""
        ...

    def to_canvas_points(self, level_value: float) -> float:
        """Canvas points to write back for a district level; they read back as that level."""
        ...


# --------------------------------------------------------------------------------------------
# (a) percent of possible
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PercentThreshold:
    """Scores reaching ``min_percent`` % of possible (0-100) are at least ``level_value``."""

    min_percent: float
    level_value: float


@dataclass(frozen=True)
class PercentMapping:
    """Map by percent of possible.

    ``thresholds`` ascend strictly in both percent and level. ``points_possible`` is the points
    possible of the write-back criterion: :meth:`to_canvas_points` answers on that scale, and
    :meth:`to_level` falls back to it when a score comes without a usable ``possible``.
    """

    thresholds: tuple[PercentThreshold, ...]
    points_possible: float = 100.0

    kind: ClassVar[str] = "percent"

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(self.thresholds))
        _finite(self.points_possible, "points_possible")
        if self.points_possible <= 0:
            raise MappingError(f"points_possible must be positive, got {self.points_possible!r}")
        if not self.thresholds:
            raise MappingError("a percent mapping needs at least one threshold")
        previous: PercentThreshold | None = None
        for index, threshold in enumerate(self.thresholds):
            where = f"threshold {index + 1}"
            if not isinstance(threshold, PercentThreshold):
                raise MappingError(f"{where} is not a PercentThreshold")
            percent = _finite(threshold.min_percent, f"{where}: min_percent")
            level = _finite(threshold.level_value, f"{where}: level value")
            where = f"threshold {index + 1} ({fmt(percent)}% -> level {fmt(level)})"
            if percent < 0:
                raise MappingError(f"{where}: min_percent must not be negative")
            if previous is not None:
                if percent <= previous.min_percent:
                    raise MappingError(
                        f"{where}: thresholds must ascend strictly by percent, but "
                        f"{fmt(percent)}% comes after {fmt(previous.min_percent)}%"
                    )
                if level <= previous.level_value:
                    raise MappingError(
                        f"{where}: levels must ascend with the percent, but level "
                        f"{fmt(level)} comes after level {fmt(previous.level_value)}"
                    )
            previous = threshold

    @property
    def level_values(self) -> tuple[float, ...]:
        return tuple(t.level_value for t in self.thresholds)

    @property
    def round_trip_possible(self) -> float | None:
        return self.points_possible

    def percent_of(self, score: float, possible: float | None) -> float:
        base = possible if possible is not None and possible > 0 else self.points_possible
        return score / base * 100

    def to_level(self, score: float, possible: float | None = None) -> float | None:
        percent = self.percent_of(score, possible)
        found: float | None = None
        for threshold in self.thresholds:
            if percent + EPSILON >= threshold.min_percent:
                found = threshold.level_value
            else:
                break
        return found

    def to_canvas_points(self, level_value: float) -> float:
        for threshold in self.thresholds:
            if threshold.level_value == level_value:
                return _ceil_cents(threshold.min_percent / 100 * self.points_possible)
        raise MappingError(f"level {fmt(level_value)} is not produced by this percent mapping")


# --------------------------------------------------------------------------------------------
# (b) points on the course's Canvas mastery scale
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CanvasRating:
    """One rating of a Canvas mastery scale (``outcome_proficiency`` API)."""

    description: str
    points: float
    mastery: bool = False
    color: str | None = None


@dataclass(frozen=True)
class RatingLevel:
    """The Canvas rating worth ``points`` means district level ``level_value``."""

    points: float
    level_value: float


def canvas_ratings_from_api(data: Mapping[str, Any]) -> tuple[CanvasRating, ...]:
    """Ratings from an ``outcome_proficiency`` response (``{"ratings": [...]}``), in its order."""
    raw = data.get("ratings") if isinstance(data, Mapping) else None
    if not isinstance(raw, list):
        raise MappingError("an outcome_proficiency document needs a 'ratings' list")
    ratings: list[CanvasRating] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise MappingError(f"Canvas rating {index + 1} must be an object")
        description = item.get("description")
        if not isinstance(description, str):
            raise MappingError(f"Canvas rating {index + 1}: description must be text")
        color = item.get("color")
        ratings.append(
            CanvasRating(
                description=description,
                points=_finite(item.get("points"), f"Canvas rating {index + 1}: points"),
                mastery=bool(item.get("mastery", False)),
                color=color if isinstance(color, str) else None,
            )
        )
    return tuple(ratings)


def _check_descending(points: Sequence[float], names: Sequence[str], what: str) -> None:
    if not points:
        raise MappingError(f"{what}: missing required ratings")
    for index, value in enumerate(points):
        _finite(value, f"{what} {names[index]!r}: points")
        if index and value >= points[index - 1]:
            raise MappingError(
                f"{what} {names[index]!r}: points should be strictly decreasing, but "
                f"{fmt(value)} comes after {fmt(points[index - 1])} ({names[index - 1]!r})"
            )


def _floor_index(points_desc: Sequence[float], score: float) -> int | None:
    """Canvas's rule: first rating (points descending) with points <= score."""
    for index, points in enumerate(points_desc):
        if points <= score + EPSILON:
            return index
    return None


def _check_monotone(points_desc: Sequence[float], levels: Sequence[float], what: str) -> None:
    # Higher Canvas points must never mean a lower district level.
    for index in range(1, len(levels)):
        if levels[index] > levels[index - 1]:
            raise MappingError(
                f"{what} worth {fmt(points_desc[index])} maps to level {fmt(levels[index])}, "
                f"above level {fmt(levels[index - 1])} of the higher rating worth "
                f"{fmt(points_desc[index - 1])}: levels must not fall as points rise"
            )


def _rescale(score: float, possible: float | None, points_possible: float) -> float:
    """Canvas's ``percent x P`` (docs/canvas.md §2.1) when a score comes with its own possible."""
    if possible is None or possible <= 0 or possible == points_possible:
        return score
    return score / possible * points_possible


class _PointsLevel(Protocol):
    @property
    def points(self) -> float: ...

    @property
    def level_value(self) -> float: ...


class _ByRatingPoints:
    """What the two mappings by Canvas rating answer alike from their rows of (points,
    level): no round trip through a possible, and write-back by the lowest rating of a level."""

    def _rows(self) -> Sequence[_PointsLevel]:
        raise NotImplementedError

    @property
    def level_values(self) -> tuple[float, ...]:
        return tuple(sorted({e.level_value for e in self._rows()}))

    @property
    def round_trip_possible(self) -> float | None:
        return None

    def to_canvas_points(self, level_value: float) -> float:
        candidates = [e.points for e in self._rows() if e.level_value == level_value]
        if not candidates:
            raise MappingError(f"no Canvas rating maps to level {fmt(level_value)}")
        return min(candidates)


@dataclass(frozen=True)
class CanvasPointsMapping(_ByRatingPoints):
    """Map by points on the course's Canvas mastery scale.

    ``ratings`` are the course's Canvas ratings in Canvas's order (points strictly decreasing);
    ``table`` gives the district level of every rating, by its points. Several ratings may share
    a level (5 Canvas ratings onto a 4-level scale); write-back then uses the lowest of them.
    Scores are read on the Canvas scale (rollup scores are); a score that comes with its own
    ``possible`` is first rescaled to the scale, as Canvas does (``percent x points_possible``).
    """

    ratings: tuple[CanvasRating, ...]
    table: tuple[RatingLevel, ...]

    kind: ClassVar[str] = "canvas_points"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ratings", tuple(self.ratings))
        object.__setattr__(self, "table", tuple(self.table))
        for index, rating in enumerate(self.ratings):
            if not isinstance(rating, CanvasRating):
                raise MappingError(f"Canvas rating {index + 1} is not a CanvasRating")
        names = [r.description for r in self.ratings]
        _check_descending([r.points for r in self.ratings], names, "Canvas rating")
        by_points: dict[float, float] = {}
        for entry in self.table:
            if not isinstance(entry, RatingLevel):
                raise MappingError(f"table entry {entry!r} is not a RatingLevel")
            points = _finite(entry.points, "table entry points")
            level = _finite(entry.level_value, f"table entry for {fmt(points)} points: level")
            if points in by_points:
                raise MappingError(f"the table maps the rating worth {fmt(points)} twice")
            if not any(r.points == points for r in self.ratings):
                raise MappingError(
                    f"the table maps {fmt(points)} points, which is not a rating of the Canvas "
                    f"scale ({', '.join(fmt(r.points) for r in self.ratings)})"
                )
            by_points[points] = level
        for rating in self.ratings:
            if rating.points not in by_points:
                raise MappingError(
                    f"Canvas rating {rating.description!r} ({fmt(rating.points)} points) has no "
                    "level in the table"
                )
        _check_monotone(
            [r.points for r in self.ratings],
            [by_points[r.points] for r in self.ratings],
            "Canvas rating",
        )

    @property
    def points_possible(self) -> float:
        return self.ratings[0].points

    @property
    def mastery_points(self) -> float | None:
        return next((r.points for r in self.ratings if r.mastery), None)

    def _level_of_points(self, points: float) -> float:
        return next(e.level_value for e in self.table if e.points == points)

    def _rows(self) -> Sequence[_PointsLevel]:
        return self.table

    def rating_for(self, score: float, possible: float | None = None) -> CanvasRating | None:
        """The Canvas rating a score falls in (Canvas's floor rule), None below the lowest."""
        scaled = _rescale(score, possible, self.points_possible)
        index = _floor_index([r.points for r in self.ratings], scaled)
        return None if index is None else self.ratings[index]

    def to_level(self, score: float, possible: float | None = None) -> float | None:
        rating = self.rating_for(score, possible)
        return None if rating is None else self._level_of_points(rating.points)


# --------------------------------------------------------------------------------------------
# (c) Canvas rating -> level table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingTableEntry:
    """Canvas rating ``description`` worth ``points`` means district level ``level_value``."""

    description: str
    points: float
    level_value: float


def _key(description: str) -> str:
    return " ".join(description.split()).casefold()


@dataclass(frozen=True)
class RatingTableMapping(_ByRatingPoints):
    """A Canvas-rating-to-level table (entries in Canvas's order, points strictly decreasing).

    Rubric assessments are looked up by rating description (:meth:`level_for_rating`, case- and
    space-insensitive); plain scores by points with Canvas's floor rule (:meth:`to_level`).
    """

    entries: tuple[RatingTableEntry, ...]

    kind: ClassVar[str] = "rating_table"

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.entries):
            if not isinstance(entry, RatingTableEntry):
                raise MappingError(f"table entry {index + 1} is not a RatingTableEntry")
            if not isinstance(entry.description, str) or not entry.description.strip():
                raise MappingError(f"table entry {index + 1}: the rating description is empty")
            _finite(entry.level_value, f"rating {entry.description!r}: level")
            key = _key(entry.description)
            if key in seen:
                raise MappingError(
                    f"rating {entry.description!r} appears twice (entries {seen[key] + 1} and "
                    f"{index + 1})"
                )
            seen[key] = index
        names = [e.description for e in self.entries]
        points = [e.points for e in self.entries]
        _check_descending(points, names, "rating")
        _check_monotone(points, [e.level_value for e in self.entries], "rating")

    @property
    def points_possible(self) -> float:
        return self.entries[0].points

    def _rows(self) -> Sequence[_PointsLevel]:
        return self.entries

    def level_for_rating(self, description: str) -> float | None:
        key = _key(description)
        return next((e.level_value for e in self.entries if _key(e.description) == key), None)

    def to_level(self, score: float, possible: float | None = None) -> float | None:
        scaled = _rescale(score, possible, self.points_possible)
        index = _floor_index([e.points for e in self.entries], scaled)
        return None if index is None else self.entries[index].level_value


# --------------------------------------------------------------------------------------------
# Validation against a scale, and (de)serialisation
# --------------------------------------------------------------------------------------------

AnyMapping = PercentMapping | CanvasPointsMapping | RatingTableMapping


def validate_mapping(rule: MappingRule, scale: Scale) -> None:
    """Raise :class:`MappingError` unless ``rule`` fits ``scale`` and round-trips every level.

    Every level the rule produces must be a level of the scale; every level of the scale must be
    reachable (otherwise it cannot be written back); and for every level L,
    ``rule.to_level(rule.to_canvas_points(L), rule.round_trip_possible) == L``.
    """
    produced = rule.level_values
    for value in produced:
        if not scale.has_value(value):
            raise MappingError(
                f"the mapping produces level {fmt(value)}, which is not a level of scale "
                f"{scale.name!r} ({', '.join(fmt(v) for v in scale.values)})"
            )
    for level in scale.levels:
        if level.value not in produced:
            raise MappingError(
                f"level {fmt(level.value)} ({level.label!r}) of scale {scale.name!r} is "
                "unreachable: nothing maps to it, so it cannot be written back to Canvas"
            )
        points = rule.to_canvas_points(level.value)
        back = rule.to_level(points, rule.round_trip_possible)
        if back != level.value:
            shown = "no level" if back is None else f"level {fmt(back)}"
            raise MappingError(
                f"level {fmt(level.value)} ({level.label!r}) does not round-trip: it is written "
                f"back as {fmt(points)} Canvas points, which read back as {shown} (its band is "
                "narrower than Canvas's 0.01-point precision)"
            )


def mastery_disagreements(rule: CanvasPointsMapping, scale: Scale) -> list[str]:
    """Where Canvas's mastery (score >= mastery points) and the district's disagree (warnings).

    Not an error -- a district may deliberately set its bar elsewhere -- but the LMGB and the
    tool would then show a different "mastered" for the same score, which a teacher should see
    before saving. Empty when they agree or the Canvas scale marks no mastery rating.
    """
    mastery_points = rule.mastery_points
    if mastery_points is None:
        return []
    warnings: list[str] = []
    for rating in rule.ratings:
        level = rule.to_level(rating.points)
        if level is None:
            continue
        canvas_mastered = rating.points >= mastery_points
        if canvas_mastered != scale.is_mastery(level):
            verdict = "mastery" if canvas_mastered else "not mastery"
            warnings.append(
                f"Canvas rating {rating.description!r} ({fmt(rating.points)} points) is "
                f"{verdict} in Canvas but maps to level {fmt(level)}, which is "
                f"{'not ' if canvas_mastered else ''}mastery on scale {scale.name!r} "
                f"(threshold {fmt(scale.mastery_threshold)})"
            )
    return warnings


def mapping_to_dict(rule: AnyMapping) -> dict[str, Any]:
    """A JSON-ready dict with a ``kind``; :func:`mapping_from_dict` reads it back."""
    if isinstance(rule, PercentMapping):
        return {
            "kind": rule.kind,
            "points_possible": rule.points_possible,
            "thresholds": [
                {"min_percent": t.min_percent, "level": t.level_value} for t in rule.thresholds
            ],
        }
    if isinstance(rule, CanvasPointsMapping):
        return {
            "kind": rule.kind,
            "ratings": [
                {
                    "description": r.description,
                    "points": r.points,
                    "mastery": r.mastery,
                    "color": r.color,
                }
                for r in rule.ratings
            ],
            "table": [{"points": e.points, "level": e.level_value} for e in rule.table],
        }
    return {
        "kind": rule.kind,
        "entries": [
            {"description": e.description, "points": e.points, "level": e.level_value}
            for e in rule.entries
        ],
    }


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    raw = data.get(key)
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise MappingError(f"'{key}' must be a list of objects")
    return raw


def mapping_from_dict(data: Mapping[str, Any]) -> AnyMapping:
    """Build a rule from :func:`mapping_to_dict`'s shape (structural validation included)."""
    if not isinstance(data, Mapping):
        raise MappingError("a mapping document must be an object")
    kind = data.get("kind")
    if kind == PercentMapping.kind:
        return PercentMapping(
            thresholds=tuple(
                PercentThreshold(
                    _finite(t.get("min_percent"), "min_percent"), _finite(t.get("level"), "level")
                )
                for t in _items(data, "thresholds")
            ),
            points_possible=_finite(data.get("points_possible", 100.0), "points_possible"),
        )
    if kind == CanvasPointsMapping.kind:
        return CanvasPointsMapping(
            ratings=canvas_ratings_from_api({"ratings": _items(data, "ratings")}),
            table=tuple(
                RatingLevel(_finite(e.get("points"), "points"), _finite(e.get("level"), "level"))
                for e in _items(data, "table")
            ),
        )
    if kind == RatingTableMapping.kind:
        entries: list[RatingTableEntry] = []
        for e in _items(data, "entries"):
            description = e.get("description")
            if not isinstance(description, str):
                raise MappingError("a rating table entry needs a text description")
            entries.append(
                RatingTableEntry(
                    description,
                    _finite(e.get("points"), "points"),
                    _finite(e.get("level"), "level"),
                )
            )
        return RatingTableMapping(entries=tuple(entries))
    raise MappingError(
        f"unknown mapping kind {kind!r} (expected 'percent', 'canvas_points' or 'rating_table')"
    )
