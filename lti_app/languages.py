"""The languages the tool speaks: those with a catalog under lti_app/translations/."""

from __future__ import annotations

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
