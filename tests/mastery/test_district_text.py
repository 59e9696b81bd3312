"""A scale level's texts and a pathway's title in the reader's language, falling back to the
district's own text (never to an empty one); translations are stored in the scale's JSON and
never change what a scale version means."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lti_app.mastery.district_text import localized, localized_scale, localized_text
from lti_app.mastery.scales import (
    LevelText,
    Scale,
    ScaleError,
    edit_requires_new_version,
    load_preset,
    meaning_changes,
    scale_from_dict,
    scale_to_dict,
)

MARZANO = load_preset("marzano_0_4_half")


def with_spanish(**texts: str) -> Scale:
    proficient = MARZANO.level(3.0)
    levels = tuple(
        replace(lv, translations={"es": LevelText(**texts)}) if lv is proficient else lv
        for lv in MARZANO.levels
    )
    return replace(MARZANO, levels=levels)


def test_a_written_translation_is_used_and_an_empty_one_falls_back() -> None:
    scale = with_spanish(label="Competente", student_description="Puedo explicarlo.")
    level = localized(scale.level(3.0), "es")
    assert level.label == "Competente"
    assert level.short_label == "P"  # no Spanish short label: the district's
    assert level.description == MARZANO.level(3.0).description
    assert level.for_students == "Puedo explicarlo."
    assert (level.value, level.color) == (3.0, MARZANO.level(3.0).color)
    # English readers, and levels with nothing written, see the district's text unchanged.
    assert localized(scale.level(3.0), "en") == scale.level(3.0)
    assert localized(MARZANO.level(0.0), "es") is MARZANO.level(0.0)


def test_a_spanish_description_is_what_students_read_before_the_english_student_text() -> None:
    scale = with_spanish(description="Demuestra la destreza sin ayuda.")
    level = localized(scale.level(3.0), "es")
    assert level.for_students == "Demuestra la destreza sin ayuda."


def test_a_whole_scale_in_spanish_keeps_values_threshold_and_order() -> None:
    scale = with_spanish(label="Competente")
    shown = localized_scale(scale, "es")
    assert shown.values == MARZANO.values and shown.mastery_threshold == 3.0
    assert [lv.label for lv in shown.levels].count("Competente") == 1
    assert localized_scale(MARZANO, "es") is MARZANO  # nothing written: the same scale


def test_translations_round_trip_through_json_and_only_written_texts_are_stored() -> None:
    scale = with_spanish(label="Competente", short_label="C")
    data = scale_to_dict(scale)
    proficient = next(lv for lv in data["levels"] if lv["value"] == 3.0)
    assert proficient["translations"] == {"es": {"label": "Competente", "short_label": "C"}}
    assert "translations" not in data["levels"][0]
    assert scale_from_dict(data) == scale
    # Scales saved before translations existed read back with none.
    for level in data["levels"]:
        level.pop("translations", None)
    assert scale_from_dict(data) == MARZANO


def test_a_translation_never_changes_meaning_nor_makes_a_new_version() -> None:
    scale = with_spanish(label="Competente")
    assert meaning_changes(MARZANO, scale) == []
    assert not edit_requires_new_version(MARZANO, scale, has_evidence=True)


@pytest.mark.parametrize(
    "translations",
    [{"Spanish": {"label": "x"}}, {"es": "Competente"}, {"es": {"label": 3}}],
)
def test_malformed_translations_are_refused(translations: object) -> None:
    data = scale_to_dict(MARZANO)
    data["levels"][0]["translations"] = translations
    with pytest.raises(ScaleError):
        scale_from_dict(data)


def test_a_pathway_text_falls_back_to_the_district_or_teachers_own() -> None:
    stored = {"es": {"title": "Examen", "instructions": "  "}}
    assert localized_text("Test", stored, "es", "title") == "Examen"
    assert localized_text("Do it", stored, "es", "instructions") == "Do it"  # blank: fallback
    assert localized_text("Test", stored, "en", "title") == "Test"
    assert localized_text("Test", None, "es", "title") == "Test"
    malformed: Any = {"es": "Examen"}
    assert localized_text("Test", malformed, "es", "title") == "Test"
