"""District proficiency scales: validation messages, WCAG contrast, presets, versioning, JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_app.mastery.scales import (
    AA_CONTRAST,
    BLACK,
    PRESETS_DIR,
    WHITE,
    Level,
    Scale,
    ScaleError,
    ScaleVersion,
    TargetDescriptor,
    best_text_color,
    contrast_ratio,
    edit_requires_new_version,
    list_presets,
    load_preset,
    meaning_changes,
    next_version,
    relative_luminance,
    scale_from_dict,
    scale_to_dict,
    validate_scale,
)

PRESET_NAMES = ["canvas_default_5", "learning_progression_1_4", "marzano_0_4_half"]


def lvl(value: float, label: str = "", color: str = "#0b5394") -> Level:
    label = label or f"Level {value:g}"
    return Level(value=value, label=label, short_label=label[:2], color=color, description="")


def four_levels() -> list[Level]:
    return [
        lvl(1, "Beginning", "#d97900"),
        lvl(2, "Developing", "#fab901"),
        lvl(3, "Proficient", "#0b874b"),
        lvl(4, "Exceeding", "#0374b5"),
    ]


def make(levels: list[Level] | None = None, threshold: float | None = 3.0) -> Scale:
    levels = four_levels() if levels is None else levels
    validate_scale("Test", levels, threshold)
    assert threshold is not None
    return Scale(name="Test", levels=tuple(levels), mastery_threshold=threshold)


# ---------------------------------------------------------------------------------------------
# WCAG 2.1 contrast


def test_luminance_of_black_and_white() -> None:
    assert relative_luminance(BLACK) == 0.0
    assert relative_luminance(WHITE) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (BLACK, WHITE, 21.0),
        (WHITE, BLACK, 21.0),
        (WHITE, WHITE, 1.0),
        ("#0b5394", WHITE, 7.84),  # dark blue: white text passes AAA
        ("#767676", WHITE, 4.54),  # the classic lightest grey that passes AA on white
        ("#777777", WHITE, 4.48),  # ... and one step lighter fails
        ("#0B874B", WHITE, 4.58),  # Canvas "Mastery" green
        ("#FAB901", BLACK, 12.0),  # Canvas "Near Mastery" yellow
        ("#ff0000", WHITE, 4.0),
    ],
)
def test_contrast_ratio_known_pairs(first: str, second: str, expected: float) -> None:
    assert contrast_ratio(first, second) == pytest.approx(expected, abs=0.01)


def test_best_text_color_picks_the_higher_contrast() -> None:
    assert best_text_color("#0b5394") == WHITE
    assert best_text_color("#fab901") == BLACK
    assert best_text_color(WHITE) == BLACK
    assert best_text_color(BLACK) == WHITE
    level = lvl(1, color="#0b5394")
    assert level.text_color == WHITE
    assert level.text_contrast == pytest.approx(7.84, abs=0.01)


@pytest.mark.parametrize("bad", ["0b5394", "#0b539", "#0b53944", "#gg0000", "blue", ""])
def test_contrast_refuses_non_hex(bad: str) -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        relative_luminance(bad)


# ---------------------------------------------------------------------------------------------
# Validation: every refusal names the level


def test_valid_scale_helpers() -> None:
    scale = make()
    assert scale.values == (1, 2, 3, 4)
    assert (scale.min_value, scale.max_value) == (1, 4)
    assert scale.mastery_level.label == "Proficient"
    assert scale.level(2).label == "Developing"
    with pytest.raises(KeyError):
        scale.level(2.5)
    assert scale.is_mastery(3.0)
    assert scale.is_mastery(3.7)
    assert not scale.is_mastery(2.99)
    next_up = scale.next_level_above(2.0)
    assert next_up is not None
    assert next_up.value == 3
    next_up = scale.next_level_above(2.5)
    assert next_up is not None
    assert next_up.value == 3
    assert scale.next_level_above(4.0) is None
    assert scale.next_level_above(0.0) == scale.levels[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.99, None), (1.0, 1.0), (1.5, 1.0), (2.73, 2.0), (2.999, 2.0), (3.0, 3.0), (9.0, 4.0)],
)
def test_level_for_uses_floor_semantics(value: float, expected: float | None) -> None:
    found = make().level_for(value)
    assert (None if found is None else found.value) == expected


def test_refuses_unordered_values_naming_the_level() -> None:
    levels = four_levels()
    levels[1], levels[2] = levels[2], levels[1]
    with pytest.raises(ScaleError, match=r"level 3 \('Developing', value 2\).*ascending.*after 3"):
        make(levels)


def test_refuses_duplicate_values_naming_both_levels() -> None:
    levels = four_levels()
    levels[2] = lvl(2, "Proficient", "#0b874b")
    with pytest.raises(ScaleError, match=r"level 3 \('Proficient', value 2\): duplicate .*level 2"):
        make(levels)


def test_refuses_missing_threshold() -> None:
    with pytest.raises(ScaleError, match="no mastery threshold"):
        make(threshold=None)


def test_refuses_threshold_off_the_levels() -> None:
    with pytest.raises(ScaleError, match=r"threshold 2\.5 is not one of the level values"):
        make(threshold=2.5)


@pytest.mark.parametrize("label", ["", "   "])
def test_refuses_empty_label(label: str) -> None:
    levels = four_levels()
    levels[3] = Level(4, label, "4", "#0374b5", "")
    with pytest.raises(ScaleError, match=r"level 4 \('unlabelled', value 4\): the label is empty"):
        make(levels)


def test_refuses_empty_short_label() -> None:
    levels = four_levels()
    levels[0] = replace(levels[0], short_label="")
    with pytest.raises(ScaleError, match=r"level 1 \('Beginning', value 1\): the short label"):
        make(levels)


@pytest.mark.parametrize("color", ["0b5394", "#fff", "red", "#12345z"])
def test_refuses_non_hex_colour(color: str) -> None:
    levels = four_levels()
    levels[1] = replace(levels[1], color=color)
    with pytest.raises(ScaleError, match=r"level 2 \('Developing', value 2\): colour .* not a hex"):
        make(levels)


@given(st.integers(min_value=0, max_value=0xFFFFFF))
@settings(max_examples=300, deadline=None)
def test_black_or_white_always_reaches_aa(rgb: int) -> None:
    # White passes while L <= 0.1833, black from L >= 0.175: the ranges overlap, so at 4.5:1 a
    # well-formed colour is always readable with the better text colour. The "fails both" check
    # therefore bites only on a stricter requirement (tested below with AAA's 7:1).
    color = f"#{rgb:06x}"
    assert contrast_ratio(color, best_text_color(color)) >= AA_CONTRAST
    lvl(1, color=color)


def test_refuses_colour_below_a_raised_contrast_requirement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lti_app.mastery.scales as scales_module

    monkeypatch.setattr(scales_module, "AA_CONTRAST", 7.0)
    levels = [replace(level, color=WHITE) for level in four_levels()]
    levels[2] = replace(levels[2], color="#0b874b")  # best is white at 4.58:1
    with pytest.raises(
        ScaleError,
        match=r"level 3 \('Proficient', value 3\): colour #0b874b is unreadable: black text "
        r"reaches 4\.58:1 and white text 4\.58:1, WCAG AA needs 7\.0:1",
    ):
        make(levels)


def test_aa_threshold_is_four_and_a_half() -> None:
    assert AA_CONTRAST == 4.5


def test_refuses_fewer_than_two_levels() -> None:
    with pytest.raises(ScaleError, match="at least 2 levels, it has 1"):
        make([lvl(1)], threshold=1)


def test_refuses_non_finite_value() -> None:
    levels = four_levels()
    levels[3] = replace(levels[3], value=float("nan"))
    with pytest.raises(ScaleError, match=r"level 4 \('Exceeding', value nan\): .*finite"):
        make(levels)


def test_refuses_descriptor_for_an_unknown_level() -> None:
    with pytest.raises(ScaleError, match=r"target 'RL\.1' refers to value 2\.5"):
        Scale("Test", tuple(four_levels()), 3.0, (TargetDescriptor("RL.1", 2.5, "text"),))


def test_refuses_empty_descriptor_naming_the_level() -> None:
    with pytest.raises(ScaleError, match=r"level 3 \('Proficient', value 3\): the descriptor"):
        Scale("Test", tuple(four_levels()), 3.0, (TargetDescriptor("RL.1", 3.0, " "),))


def test_descriptors_are_per_target_text() -> None:
    scale = Scale(
        "Test",
        tuple(four_levels()),
        3.0,
        (
            TargetDescriptor("RL.1", 3.0, "Cites textual evidence"),
            TargetDescriptor("RL.2", 3.0, "Determines a theme"),
        ),
    )
    assert scale.descriptor("RL.1", 3.0) == "Cites textual evidence"
    assert scale.descriptor("RL.2", 3.0) == "Determines a theme"
    assert scale.descriptor("RL.1", 2.0) is None


def test_scale_is_frozen() -> None:
    scale = make()
    with pytest.raises(AttributeError):
        scale.name = "Other"  # type: ignore[misc]
    assert hash(scale) == hash(make())


# ---------------------------------------------------------------------------------------------
# Presets


def test_presets_are_listed() -> None:
    assert list_presets() == PRESET_NAMES
    assert (PRESETS_DIR / "marzano_0_4_half.json").is_file()


@pytest.mark.parametrize(
    "name", ["canvas_default_5", "learning_progression_1_4", "marzano_0_4_half"]
)
def test_every_preset_validates_and_round_trips_through_json(name: str) -> None:
    scale = load_preset(name)
    assert scale_from_dict(json.loads(json.dumps(scale_to_dict(scale)))) == scale
    for level, raw in zip(scale.levels, scale_to_dict(scale)["levels"], strict=True):
        assert level.text_contrast >= AA_CONTRAST
        assert raw["text_color"] == level.text_color


def test_marzano_preset() -> None:
    scale = load_preset("marzano_0_4_half")
    assert scale.values == tuple(v / 2 for v in range(9))
    assert scale.mastery_threshold == 3.0
    assert [scale.level(v).label for v in (0, 1, 2, 3, 4)] == [
        "Not yet",
        "Beginning",
        "Developing",
        "Proficient",
        "Advanced",
    ]
    assert len({level.label for level in scale.levels}) == 9


def test_learning_progression_preset() -> None:
    scale = load_preset("learning_progression_1_4")
    assert [(lv.value, lv.label) for lv in scale.levels] == [
        (1, "Beginning"),
        (2, "Developing"),
        (3, "Proficient"),
        (4, "Exceeding"),
    ]
    assert scale.mastery_threshold == 3


def test_canvas_default_preset_matches_canvas() -> None:
    scale = load_preset("canvas_default_5")
    canvas = {  # docs/canvas.md §6.6, the current built-in default
        4.0: ("Exceeds Mastery", "0374B5"),
        3.0: ("Mastery", "0B874B"),
        2.0: ("Near Mastery", "FAB901"),
        1.0: ("Below Mastery", "D97900"),
        0.0: ("No Evidence", "E0061F"),
    }
    assert {lv.value: (lv.label, lv.color[1:].upper()) for lv in scale.levels} == canvas
    assert scale.mastery_threshold == 3.0


def test_unknown_and_malformed_presets(tmp_path: Path) -> None:
    with pytest.raises(ScaleError, match="no preset scale 'nope'"):
        load_preset("nope")
    with pytest.raises(ScaleError, match="not a preset name"):
        load_preset("../secrets")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(ScaleError, match="not valid JSON"):
        load_preset("broken", directory=tmp_path)
    bad = scale_to_dict(make())
    bad["levels"][1]["color"] = "yellow"
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ScaleError, match=r"level 2 \('Developing', value 2\): colour 'yellow'"):
        load_preset("bad", directory=tmp_path)
    assert list_presets(tmp_path) == ["bad", "broken"]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"name": None}, "the scale name must be text"),
        ({"levels": "x"}, "'levels' must be a list"),
        ({"levels": [1, 2]}, "level 1 must be an object"),
        ({"mastery_threshold": "3"}, "threshold must be a number"),
        ({"mastery_threshold": None}, "no mastery threshold"),
        ({"descriptors": {}}, "'descriptors' must be a list"),
    ],
)
def test_scale_from_dict_refuses_malformed_documents(
    patch: dict[str, object], message: str
) -> None:
    data = {**scale_to_dict(make()), **patch}
    with pytest.raises(ScaleError, match=message):
        scale_from_dict(data)


def test_scale_from_dict_names_the_level_with_a_bad_field() -> None:
    data = scale_to_dict(make())
    data["levels"][2]["value"] = "3"
    with pytest.raises(ScaleError, match=r"level 3: value must be a number"):
        scale_from_dict(data)


# ---------------------------------------------------------------------------------------------
# Versioning


def test_cosmetic_edits_never_need_a_new_version() -> None:
    old = make()
    levels = [replace(lv, color="#0374b5", description="new words") for lv in old.levels]
    new = Scale("Renamed", tuple(levels), 3.0, (TargetDescriptor("RL.1", 3.0, "x"),))
    assert meaning_changes(old, new) == []
    assert not edit_requires_new_version(old, new, has_evidence=True)


@pytest.mark.parametrize(
    ("edit", "change"),
    [
        (lambda ls: [*ls[:3], replace(ls[3], value=5.0)], "level values changed"),
        (lambda ls: [replace(ls[0], label="Emerging"), *ls[1:]], "label of 1 changed"),
        (lambda ls: [replace(ls[0], short_label="E"), *ls[1:]], "short label of 1 changed"),
        (lambda ls: ls[1:], "level values changed"),
    ],
)
def test_meaning_edits_need_a_new_version_only_with_evidence(edit: object, change: str) -> None:
    old = make()
    assert callable(edit)
    new = make(edit(list(old.levels)))
    assert any(change in text for text in meaning_changes(old, new))
    assert edit_requires_new_version(old, new, has_evidence=True)
    assert not edit_requires_new_version(old, new, has_evidence=False)


def test_threshold_change_needs_a_new_version() -> None:
    old, new = make(threshold=3.0), make(threshold=4.0)
    assert meaning_changes(old, new) == ["mastery threshold changed from 3 to 4"]
    assert edit_requires_new_version(old, new, has_evidence=True)


def test_next_version_numbers() -> None:
    current = ScaleVersion(version=2, scale=make())
    relabelled = make([replace(four_levels()[0], label="Emerging"), *four_levels()[1:]])
    assert next_version(current, relabelled, has_evidence=True) == ScaleVersion(3, relabelled)
    assert next_version(current, relabelled, has_evidence=False) == ScaleVersion(2, relabelled)
    recoloured = make([replace(four_levels()[0], color="#b3261e"), *four_levels()[1:]])
    assert next_version(current, recoloured, has_evidence=True).version == 2
    with pytest.raises(ScaleError, match="integer >= 1"):
        ScaleVersion(version=0, scale=make())


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_level_says_what_it_means_to_a_student(preset: str) -> None:
    scale = load_preset(preset)
    for level in scale.levels:
        assert "I " in level.student_description, (preset, level.value)
        assert level.for_students == level.student_description
    again = scale_from_dict(scale_to_dict(scale))
    assert again == scale


def test_student_description_is_optional_and_falls_back_to_the_teachers() -> None:
    level = Level(1.0, "Beginning", "B", "#d97900", "Teacher words")
    assert level.student_description == "" and level.for_students == "Teacher words"
