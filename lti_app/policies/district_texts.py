"""District text in other languages as admins and teachers type it: read from a form, checked
(length, invisible control characters), and stored as ``{"es": {"title": ...}}``.

One set of rules for the scale page (level texts) and the pathway library and menus (titles and
instructions). Reading them back in the reader's language is
``lti_app.mastery.district_text``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lti_app.input_rules import bidi_control, codepoint, control_character
from lti_app.languages import LANGUAGE_NAMES, LANGUAGES
from lti_app.translatable import Text, _l

__all__ = [
    "OTHER_LANGUAGES",
    "Translations",
    "language_name",
    "stored",
    "text_problem",
    "translation_errors",
    "translations_from_form",
]

#: The languages other than the district's own in which its texts may be written.
OTHER_LANGUAGES = LANGUAGES[1:]

#: ``{"es": {"title": "...", "instructions": "..."}}``
Translations = dict[str, dict[str, str]]


def language_name(code: str) -> str:
    return LANGUAGE_NAMES[code]


def text_problem(value: str, limit: int) -> Text | None:
    """Why a district text cannot be saved, or None: its length, or a control character (one
    that is invisible, or one that reorders what is displayed). Said in the reader's language
    where shown (lti_app/translatable.py), so the services may call it outside a request."""
    if len(value) > limit:
        return _l("at most %(limit)s characters (%(typed)s typed).", limit=limit, typed=len(value))
    char = control_character(value) or bidi_control(value)
    if char is not None:
        return _l("remove the invisible control character %(char)s.", char=codepoint(char))
    return None


def translations_from_form(
    form: Mapping[str, str], prefix: str, names: Mapping[str, int]
) -> Translations:
    """The texts typed in fields ``<prefix>-<lang>-<name>`` (e.g. ``essay-es-title``)."""
    return {
        lang: {name: (form.get(f"{prefix}-{lang}-{name}") or "").strip() for name in names}
        for lang in OTHER_LANGUAGES
    }


def translation_errors(
    translations: Mapping[str, Mapping[str, str]],
    names: Mapping[str, Text],
    limits: Mapping[str, int],
) -> dict[str, str]:
    """``{"<lang>-<name>": message}`` for each text that cannot be saved; ``names`` words each
    field for the message ("Title")."""
    errors: dict[str, str] = {}
    for lang, texts in translations.items():
        for name, value in texts.items():
            problem = text_problem(value, limits[name])
            if problem is not None:
                errors[f"{lang}-{name}"] = _l(
                    "%(field)s (%(language)s): %(problem)s",
                    field=names[name],
                    language=language_name(lang),
                    problem=problem,
                )
    return errors


def stored(translations: Mapping[str, Mapping[str, str]] | None) -> Translations | None:
    """What to store: only the languages and texts written (None when there is none)."""
    kept = {
        lang: {name: text for name, text in texts.items() if text}
        for lang, texts in (translations or {}).items()
        if isinstance(texts, Mapping)
    }
    kept = {lang: texts for lang, texts in kept.items() if texts}
    return kept or None
