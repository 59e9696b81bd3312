"""What the tool accepts from people: whole numbers, finite numbers and plain text.

One definition for every form field and URL segment. ``str.isdigit`` and ``int``/``float``
accept far more than a person types in a form: superscripts ("²" passes ``isdigit`` but not
``int``), Arabic-Indic digits, "1_000", "nan", "inf", and numbers so large that the database
column or the arithmetic behind a level overflows. Here only ASCII digits count, every
number is bounded, and the characters no form field ever needs are named once.
"""

from __future__ import annotations

import math
import re

# SQLAlchemy ``Integer`` columns (every primary key and count) are int4 on PostgreSQL.
INT4_MAX = 2**31 - 1
# Levels, thresholds, percents and Canvas points are small numbers; bounding them keeps every
# sum and product of the calculations finite (1e308 is finite, 1e308 - -1e308 is not).
NUMBER_LIMIT = 1_000_000.0

_WHOLE = re.compile(r"-?[0-9]{1,12}")
_NUMBER = re.compile(
    r"[+-]?(?:[0-9]{1,12}(?:\.[0-9]{0,12})?|\.[0-9]{1,12})(?:[eE][+-]?[0-9]{1,3})?"
)

# C0 controls except tab, newline and carriage return; DEL; C1 controls. PostgreSQL cannot
# store NUL at all, and none of them is ever typed into a form.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Embedding, override and isolate controls: they reorder what is displayed, so that
# "https://evil.example/moc.elgoog" can read as another host ("Trojan Source").
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def whole_number(raw: str, low: int = 0, high: int = INT4_MAX) -> int | None:
    """``raw`` as an int in [low, high] if it is ASCII digits (optionally negative), else None."""
    text = raw.strip()
    if _WHOLE.fullmatch(text) is None:
        return None
    value = int(text)
    return value if low <= value <= high else None


def finite_number(raw: str, limit: float = NUMBER_LIMIT) -> float | None:
    """``raw`` as a float within +-``limit`` if written with ASCII digits, else None."""
    text = raw.strip()
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) and abs(value) <= limit else None


def control_character(text: str) -> str | None:
    """The first control character in ``text`` (tab and line breaks are fine), if any."""
    found = CONTROL_CHARACTERS.search(text)
    return found.group() if found else None


def bidi_control(text: str) -> str | None:
    found = BIDI_CONTROLS.search(text)
    return found.group() if found else None


def codepoint(char: str) -> str:
    """How a person can name an invisible character: ``U+202E``."""
    return f"U+{ord(char):04X}"
