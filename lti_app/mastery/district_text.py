"""District text in the reader's language: a scale level's texts and a pathway's title and
instructions, each with an optional translation per language written by the district.

The one place every page (teacher, student, observer) asks for them. A missing or empty
translation falls back to the district's own text, never to an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from lti_app.mastery.scales import Level, LevelText, Scale

__all__ = ["localized", "localized_scale", "localized_text"]


def localized(level: Level, language: str) -> Level:
    """``level`` with its texts in ``language`` where the district wrote them.

    Students read their own words first: the translated "I can ..." text, else the translated
    description, else the district's own student text (``Level.for_students`` then falls back
    to the description as usual).
    """
    texts = level.translations.get(language) or LevelText()
    if not texts:
        return level
    return replace(
        level,
        label=texts.label or level.label,
        short_label=texts.short_label or level.short_label,
        description=texts.description or level.description,
        student_description=(
            texts.student_description or texts.description or level.student_description
        ),
    )


def localized_scale(scale: Scale, language: str) -> Scale:
    """``scale`` with every level :func:`localized` (values, colours and threshold unchanged)."""
    levels = tuple(localized(level, language) for level in scale.levels)
    if levels == scale.levels:
        return scale
    return replace(scale, levels=levels)


def localized_text(
    own: str, translations: Mapping[str, Mapping[str, str]] | None, language: str, name: str
) -> str:
    """Text ``name`` ("title", "instructions") of a district entry in ``language``, else ``own``.

    ``translations`` is the entry's stored map ``{"es": {"title": "...", ...}}`` (None or
    anything malformed counts as no translation).
    """
    if not isinstance(translations, Mapping):
        return own
    texts = translations.get(language)
    text = texts.get(name) if isinstance(texts, Mapping) else None
    return text if isinstance(text, str) and text.strip() else own
