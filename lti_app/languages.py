"""The languages the tool speaks: those with a catalog under lti_app/translations/."""

from __future__ import annotations

from babel.numbers import format_decimal
from flask import has_request_context
from flask_babel import get_locale

#: In the order a language switch offers them; the first is the default.
LANGUAGES: tuple[str, ...] = ("en", "es")
#: Each language named in itself, as a switch shows it.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "es": "Español"}


def supported(tag: object) -> str | None:
    """The supported language a BCP 47 / POSIX tag ("es-MX", "es_419", "EN") asks for, or None."""
    if not isinstance(tag, str) or not tag or len(tag) > 35:
        return None
    base = tag.replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def current_language() -> str:
    """The request's language code (the default outside a request or before a locale)."""
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None else LANGUAGES[0]


def local_number(value: float | int) -> str:
    """A level, an average or a count as the reader's language writes it: 2.5 in English (as
    it always was: no grouping, at most 2 decimals), 2,5 in Spanish."""
    rounded = round(value, 2)
    language = current_language()
    if language == LANGUAGES[0]:
        return f"{rounded:g}" if isinstance(rounded, float) else str(rounded)
    return format_decimal(rounded, locale=language, group_separator=False)
