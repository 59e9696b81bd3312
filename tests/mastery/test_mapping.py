"""Mapping Canvas scores onto district scales: floor semantics, write-back, round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lti_app.mastery.mapping import (
    CanvasPointsMapping,
    CanvasRating,
    MappingError,
    PercentMapping,
    PercentThreshold,
    RatingLevel,
    RatingTableEntry,
    RatingTableMapping,
    canvas_ratings_from_api,
    mapping_from_dict,
    mapping_to_dict,
    mastery_disagreements,
    validate_mapping,
)
from lti_app.mastery.scales import Level, Scale, list_presets, load_preset

# docs/canvas.md §6.6: the body of GET .../outcome_proficiency for Canvas's default scale.
CANVAS_DEFAULT = json.loads(
    """{"ratings":[
  {"description":"Exceeds Mastery","points":4.0,"mastery":false,"color":"0374B5"},
  {"description":"Mastery","points":3.0,"mastery":true,"color":"0B874B"},
  {"description":"Near Mastery","points":2.0,"mastery":false,"color":"FAB901"},
  {"description":"Below Mastery","points":1.0,"mastery":false,"color":"D97900"},
  {"description":"No Evidence","points":0.0,"mastery":false,"color":"E0061F"}]}"""
)

PROGRESSION = load_preset("learning_progression_1_4")
CANVAS_SCALE = load_preset("canvas_default_5")
MARZANO = load_preset("marzano_0_4_half")


def percent_rule(points_possible: float = 100.0) -> PercentMapping:
    # 0-59% Beginning, 60-69% Developing, 70-89% Proficient, 90%+ Exceeding.
    return PercentMapping(
        thresholds=(
            PercentThreshold(0, 1),
            PercentThreshold(60, 2),
            PercentThreshold(70, 3),
            PercentThreshold(90, 4),
        ),
        points_possible=points_possible,
    )


def canvas_onto_progression() -> CanvasPointsMapping:
    # Canvas's five ratings onto the four-level progression: No Evidence and Below share 1.
    return CanvasPointsMapping(
        ratings=canvas_ratings_from_api(CANVAS_DEFAULT),
        table=(
            RatingLevel(4, 4),
            RatingLevel(3, 3),
            RatingLevel(2, 2),
            RatingLevel(1, 1),
            RatingLevel(0, 1),
        ),
    )


def rating_table() -> RatingTableMapping:
    return RatingTableMapping(
        entries=(
            RatingTableEntry("Exceeds Mastery", 4, 4),
            RatingTableEntry("Mastery", 3, 3),
            RatingTableEntry("Near Mastery", 2, 2),
            RatingTableEntry("Below Mastery", 1, 1),
            RatingTableEntry("No Evidence", 0, 1),
        )
    )


# ---------------------------------------------------------------------------------------------
# (a) percent of possible


@pytest.mark.parametrize(
    ("score", "possible", "level"),
    [
        (0, 10, 1),
        (5.99, 10, 1),
        (6, 10, 2),  # exactly 60% -> the band that starts there
        (6.99, 10, 2),
        (7, 10, 3),
        (8.99, 10, 3),
        (9, 10, 4),
        (10, 10, 4),
        (12, 10, 4),  # extra credit stays at the top
        (2.1, 3, 3),  # 70% of 3 is 2.0999999999999996 in floats: still level 3
        (0.7, 1, 3),
        (-1, 10, None),  # below the lowest threshold: no level
    ],
)
def test_percent_floor_semantics(score: float, possible: float, level: float | None) -> None:
    assert percent_rule().to_level(score, possible) == level


def test_percent_without_possible_uses_the_rules_points_possible() -> None:
    rule = percent_rule(points_possible=4)
    assert rule.to_level(2.8, None) == 3
    assert rule.to_level(2.79, 0) == 2


def test_percent_write_back() -> None:
    rule = percent_rule(points_possible=3)
    assert [rule.to_canvas_points(v) for v in (1, 2, 3, 4)] == [0.0, 1.8, 2.1, 2.7]
    validate_mapping(rule, PROGRESSION)
    with pytest.raises(MappingError, match=r"level 2\.5 is not produced"):
        rule.to_canvas_points(2.5)


def test_percent_write_back_rounds_up_to_cents() -> None:
    rule = PercentMapping((PercentThreshold(0, 1), PercentThreshold(100 / 3, 2)), 1)
    assert rule.to_canvas_points(2) == 0.34  # 0.3333... rounded up, so it still reads as 2
    assert rule.to_level(0.34, None) == 2


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ((), "at least one threshold"),
        (
            ((0, 1), (70, 3), (60, 2)),
            r"threshold 3 \(60% -> level 2\): thresholds must ascend strictly by percent, but "
            r"60% comes after 70%",
        ),
        (((0, 1), (50, 2), (50, 3)), r"threshold 3 \(50% -> level 3\): .*50% comes after 50%"),
        (
            ((0, 1), (50, 3), (70, 2)),
            r"threshold 3 \(70% -> level 2\): levels must ascend .* level 2 comes after level 3",
        ),
        (((-5, 1), (50, 2)), r"threshold 1 \(-5% -> level 1\): min_percent must not be negative"),
        (((0, 1), (float("nan"), 2)), "threshold 2: min_percent must be a finite number"),
    ],
)
def test_percent_structural_refusals(
    thresholds: tuple[tuple[float, float], ...], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        PercentMapping(tuple(PercentThreshold(p, v) for p, v in thresholds))


def test_percent_refuses_non_positive_points_possible() -> None:
    with pytest.raises(MappingError, match="points_possible must be positive"):
        percent_rule(points_possible=0)


def test_level_not_on_the_scale_is_refused() -> None:
    rule = PercentMapping((PercentThreshold(0, 1), PercentThreshold(50, 2.5)))
    with pytest.raises(
        MappingError,
        match=r"produces level 2.5, which is not a level of scale 'Learning progression 1-4' "
        r"\(1, 2, 3, 4\)",
    ):
        validate_mapping(rule, PROGRESSION)


def test_unreachable_level_is_refused() -> None:
    rule = PercentMapping(
        (PercentThreshold(0, 1), PercentThreshold(50, 2), PercentThreshold(80, 4))
    )
    with pytest.raises(MappingError, match=r"level 3 \('Proficient'\) .* is unreachable"):
        validate_mapping(rule, PROGRESSION)


def test_band_too_narrow_to_round_trip_is_refused() -> None:
    # 70% and 70.001% of 1 point are 0.7 and 0.70001: both write back as 0.71 at best.
    rule = PercentMapping(
        (
            PercentThreshold(0, 1),
            PercentThreshold(50, 2),
            PercentThreshold(70.0004, 3),
            PercentThreshold(70.001, 4),
        ),
        points_possible=1,
    )
    with pytest.raises(
        MappingError,
        match=r"level 3 \('Proficient'\) does not round-trip: it is written back as 0.71 Canvas "
        r"points, which read back as level 4",
    ):
        validate_mapping(rule, PROGRESSION)


# ---------------------------------------------------------------------------------------------
# (b) points on the course's Canvas mastery scale


def test_canvas_ratings_from_the_api_body() -> None:
    ratings = canvas_ratings_from_api(CANVAS_DEFAULT)
    assert [r.points for r in ratings] == [4, 3, 2, 1, 0]
    assert ratings[1] == CanvasRating("Mastery", 3.0, mastery=True, color="0B874B")
    rule = canvas_onto_progression()
    assert rule.points_possible == 4
    assert rule.mastery_points == 3


@pytest.mark.parametrize(
    ("score", "rating", "level"),
    [
        (2.73, "Near Mastery", 2),  # the reference's own example: 2.73 -> rating "2"
        (3.0, "Mastery", 3),  # exactly on the boundary -> that rating
        (2.99, "Near Mastery", 2),
        (3.5, "Mastery", 3),
        (4.0, "Exceeds Mastery", 4),
        (4.6, "Exceeds Mastery", 4),
        (0.0, "No Evidence", 1),
        (0.99, "No Evidence", 1),
        (1.0, "Below Mastery", 1),
        (-0.01, None, None),  # below the lowest rating: no rating, no level
    ],
)
def test_canvas_points_floor_like_canvas(
    score: float, rating: str | None, level: float | None
) -> None:
    rule = canvas_onto_progression()
    found = rule.rating_for(score)
    assert (None if found is None else found.description) == rating
    assert rule.to_level(score) == level


def test_canvas_points_rescale_a_score_with_its_own_possible() -> None:
    rule = canvas_onto_progression()
    assert rule.to_level(7.5, 10) == 3  # 75% of 4 = 3.0
    assert rule.to_level(7.4, 10) == 2  # 2.96
    assert rule.to_level(3.0, 4) == 3
    assert rule.to_level(3.0, None) == 3


def test_canvas_points_write_back_uses_the_lowest_rating_of_a_shared_level() -> None:
    rule = canvas_onto_progression()
    assert [rule.to_canvas_points(v) for v in (1, 2, 3, 4)] == [0, 2, 3, 4]
    validate_mapping(rule, PROGRESSION)
    with pytest.raises(MappingError, match=r"no Canvas rating maps to level 2\.5"):
        rule.to_canvas_points(2.5)


@pytest.mark.parametrize(
    ("ratings", "table", "message"),
    [
        ((), (), "missing required ratings"),
        (
            ((3, "Mastery"), (4, "Exceeds")),
            ((3, 3), (4, 4)),
            r"Canvas rating 'Exceeds': points should be strictly decreasing, but 4 comes after 3",
        ),
        (((3, "A"), (3, "B")), ((3, 3),), r"'B': points should be strictly decreasing"),
        (((3, "Mastery"), (1, "Below")), ((3, 3),), r"'Below' \(1 points\) has no level"),
        (((3, "Mastery"), (1, "Below")), ((3, 3), (1, 1), (2, 2)), "maps 2 points, which is not"),
        (((3, "Mastery"), (1, "Below")), ((3, 3), (3, 4)), "maps the rating worth 3 twice"),
        (
            ((3, "Mastery"), (1, "Below")),
            ((3, 1), (1, 3)),
            r"rating worth 1 maps to level 3, above level 1 of the higher rating worth 3",
        ),
    ],
)
def test_canvas_points_structural_refusals(
    ratings: tuple[tuple[float, str], ...],
    table: tuple[tuple[float, float], ...],
    message: str,
) -> None:
    with pytest.raises(MappingError, match=message):
        CanvasPointsMapping(
            ratings=tuple(CanvasRating(name, points) for points, name in ratings),
            table=tuple(RatingLevel(p, v) for p, v in table),
        )


def test_canvas_points_unreachable_level() -> None:
    rule = CanvasPointsMapping(
        ratings=canvas_ratings_from_api(CANVAS_DEFAULT),
        table=tuple(RatingLevel(p, v) for p, v in ((4, 4), (3, 3), (2, 1), (1, 1), (0, 1))),
    )
    with pytest.raises(MappingError, match=r"level 2 \('Developing'\) .* is unreachable"):
        validate_mapping(rule, PROGRESSION)


def test_mastery_agreement_with_canvas() -> None:
    assert mastery_disagreements(canvas_onto_progression(), PROGRESSION) == []
    strict = load_preset("learning_progression_1_4")
    strict = Scale(strict.name, strict.levels, 4.0)
    assert mastery_disagreements(canvas_onto_progression(), strict) == [
        "Canvas rating 'Mastery' (3 points) is mastery in Canvas but maps to level 3, which is "
        "not mastery on scale 'Learning progression 1-4' (threshold 4)"
    ]
    no_flag = CanvasPointsMapping(
        (CanvasRating("A", 1), CanvasRating("B", 0)), (RatingLevel(1, 2), RatingLevel(0, 1))
    )
    assert mastery_disagreements(no_flag, PROGRESSION) == []


def test_canvas_ratings_from_api_refuses_bad_bodies() -> None:
    with pytest.raises(MappingError, match="'ratings' list"):
        canvas_ratings_from_api({"message": "not found"})
    with pytest.raises(MappingError, match="Canvas rating 2: points must be a finite number"):
        canvas_ratings_from_api(
            {"ratings": [{"description": "A", "points": 1}, {"description": "B"}]}
        )


# ---------------------------------------------------------------------------------------------
# (c) Canvas rating -> level table


def test_rating_table_by_description_and_by_points() -> None:
    rule = rating_table()
    assert rule.level_for_rating("Near Mastery") == 2
    assert rule.level_for_rating("  near   MASTERY ") == 2
    assert rule.level_for_rating("Well Below Mastery") is None
    assert rule.to_level(3.0) == 3
    assert rule.to_level(2.73) == 2
    assert rule.to_level(-1) is None
    assert [rule.to_canvas_points(v) for v in (1, 2, 3, 4)] == [0, 2, 3, 4]
    validate_mapping(rule, PROGRESSION)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((), "missing required ratings"),
        ((("Mastery", 3, 3), ("mastery ", 2, 2)), r"'mastery ' appears twice \(entries 1 and 2\)"),
        ((("Mastery", 3, 3), ("", 2, 2)), "entry 2: the rating description is empty"),
        ((("Near", 2, 2), ("Mastery", 3, 3)), r"rating 'Mastery': points should be strictly"),
        ((("Mastery", 3, 2), ("Near", 2, 3)), "rating worth 2 maps to level 3, above level 2"),
    ],
)
def test_rating_table_structural_refusals(
    entries: tuple[tuple[str, float, float], ...], message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        RatingTableMapping(tuple(RatingTableEntry(*entry) for entry in entries))


def test_rating_table_level_off_the_scale() -> None:
    with pytest.raises(MappingError, match=r"produces level 3\.5, which is not a level"):
        validate_mapping(
            RatingTableMapping((RatingTableEntry("A", 1, 3.5), RatingTableEntry("B", 0, 1))),
            PROGRESSION,
        )


# ---------------------------------------------------------------------------------------------
# Serialisation


@pytest.mark.parametrize("rule", [percent_rule(3), canvas_onto_progression(), rating_table()])
def test_mapping_dict_round_trip(
    rule: PercentMapping | CanvasPointsMapping | RatingTableMapping,
) -> None:
    assert mapping_from_dict(json.loads(json.dumps(mapping_to_dict(rule)))) == rule


def test_mapping_from_dict_refusals() -> None:
    with pytest.raises(MappingError, match="unknown mapping kind 'median'"):
        mapping_from_dict({"kind": "median"})
    with pytest.raises(MappingError, match="'thresholds' must be a list of objects"):
        mapping_from_dict({"kind": "percent", "thresholds": [1, 2]})
    with pytest.raises(MappingError, match="text description"):
        mapping_from_dict({"kind": "rating_table", "entries": [{"points": 1, "level": 1}]})


# ---------------------------------------------------------------------------------------------
# Round trip: to_level(to_canvas_points(L), possible) == L, as a property


def default_rules(scale: Scale) -> list[PercentMapping | CanvasPointsMapping | RatingTableMapping]:
    """One rule of each kind for a scale: even percent bands, a mirror Canvas scale, a table."""
    n = len(scale.levels)
    percent = PercentMapping(
        tuple(PercentThreshold(100 * i / n, lv.value) for i, lv in enumerate(scale.levels)),
        points_possible=4,
    )
    desc = list(reversed(scale.levels))
    canvas = CanvasPointsMapping(
        ratings=tuple(
            CanvasRating(lv.label, float(n - 1 - i), lv.value == scale.mastery_threshold)
            for i, lv in enumerate(desc)
        ),
        table=tuple(RatingLevel(float(n - 1 - i), lv.value) for i, lv in enumerate(desc)),
    )
    table = RatingTableMapping(tuple(RatingTableEntry(lv.label, lv.value, lv.value) for lv in desc))
    return [percent, canvas, table]


def assert_round_trip(
    rule: PercentMapping | CanvasPointsMapping | RatingTableMapping, scale: Scale
) -> None:
    validate_mapping(rule, scale)
    possibles = [rule.round_trip_possible]
    if not isinstance(rule, PercentMapping):
        possibles.append(rule.points_possible)
    for level in scale.levels:
        points = rule.to_canvas_points(level.value)
        for possible in possibles:
            assert rule.to_level(points, possible) == level.value, (level, points, possible)


@pytest.mark.parametrize("name", list_presets())
def test_round_trip_for_every_preset(name: str) -> None:
    scale = load_preset(name)
    for rule in default_rules(scale):
        assert_round_trip(rule, scale)


COLOURS = ["#0b5394", "#fab901", "#0b874b", "#d97900", "#e0061f", "#ffffff", "#000000"]


@st.composite
def scales(draw: st.DrawFn) -> Scale:
    presets = [load_preset(name) for name in list_presets()]
    if draw(st.booleans()):
        return draw(st.sampled_from(presets))
    halves = draw(st.sets(st.integers(min_value=-4, max_value=20), min_size=2, max_size=9))
    values = sorted(h / 2 for h in halves)
    levels = tuple(
        Level(v, f"L{v:g}", f"{v:g}", draw(st.sampled_from(COLOURS)), "") for v in values
    )
    return Scale("Random", levels, draw(st.sampled_from(values)))


@st.composite
def percent_mappings(draw: st.DrawFn, scale: Scale) -> PercentMapping:
    n = len(scale.levels)
    cents = draw(st.sets(st.integers(min_value=0, max_value=15000), min_size=n, max_size=n))
    points_possible = draw(st.integers(min_value=1, max_value=20000)) / 100
    return PercentMapping(
        tuple(
            PercentThreshold(c / 100, lv.value)
            for c, lv in zip(sorted(cents), scale.levels, strict=True)
        ),
        points_possible=points_possible,
    )


@st.composite
def monotone_levels(draw: st.DrawFn, scale: Scale) -> tuple[list[float], list[float]]:
    """Canvas rating points (descending) and a non-decreasing surjective map onto the scale."""
    n = len(scale.levels)
    k = n + draw(st.integers(min_value=0, max_value=3))
    points = sorted(
        draw(st.sets(st.integers(min_value=-500, max_value=1000), min_size=k, max_size=k)),
        reverse=True,
    )
    # Ratings ascending: the level steps up at n - 1 distinct cut positions.
    cuts = set(draw(st.permutations(range(1, k)))[: n - 1])
    ascending: list[float] = []
    index = 0
    for position in range(k):
        if position in cuts:
            index += 1
        ascending.append(scale.levels[index].value)
    return [p / 100 for p in points], list(reversed(ascending))


@st.composite
def canvas_mappings(draw: st.DrawFn, scale: Scale) -> CanvasPointsMapping:
    points, levels = draw(monotone_levels(scale))
    return CanvasPointsMapping(
        ratings=tuple(CanvasRating(f"R{p:g}", p) for p in points),
        table=tuple(RatingLevel(p, v) for p, v in zip(points, levels, strict=True)),
    )


@st.composite
def table_mappings(draw: st.DrawFn, scale: Scale) -> RatingTableMapping:
    points, levels = draw(monotone_levels(scale))
    return RatingTableMapping(
        tuple(RatingTableEntry(f"R{p:g}", p, v) for p, v in zip(points, levels, strict=True))
    )


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_round_trip_property_percent(data: st.DataObject) -> None:
    scale = data.draw(scales())
    rule = data.draw(percent_mappings(scale))
    refusal: str | None = None
    try:
        validate_mapping(rule, scale)
    except MappingError as exc:
        refusal = str(exc)
    if refusal is not None:
        # Only bands narrower than a cent can be refused; anything else is a bug.
        assert "does not round-trip" in refusal
        assume(False)
    assert_round_trip(rule, scale)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_round_trip_property_canvas_points(data: st.DataObject) -> None:
    scale = data.draw(scales())
    assert_round_trip(data.draw(canvas_mappings(scale)), scale)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_round_trip_property_rating_table(data: st.DataObject) -> None:
    scale = data.draw(scales())
    assert_round_trip(data.draw(table_mappings(scale)), scale)
