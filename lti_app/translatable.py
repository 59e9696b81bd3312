"""Messages written in English where they arise, said in the reader's language where shown.

The pure engine (lti_app/mastery) and the services raise and return words for people, but they
know no Flask and no request: they cannot translate. ``_l`` (and ``_ln`` for a count) marks such
a message for the catalog (``make i18n-update`` extracts both) and returns a ``Text``: the
English sentence itself (a ``str``, so logs, comparisons and tests read English), which also
keeps its msgid and values. The page layer says it in the reader's language: every ``{{ }}`` of
a template translates a ``Text`` (lti_app/web/i18n.py), and Python code calls ``i18n.say``.

Values keep their type until shown, so numbers and dates take the reader's locale ("2,5",
"4 de diciembre de 2026"); a value that is itself a ``Text`` is translated too. Building a new
string from a ``Text`` (f-strings, ``+``, ``.lower()``) gives plain English: pass it as a value.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

Value = Any  # str | int | float | date | datetime | Text


def english(value: Value) -> str:
    """A value as English text shows it: levels as ``2.5``, dates as "December 4, 2026"."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    if isinstance(value, datetime | date):
        return f"{value:%B} {value.day}, {value.year}"
    return str(value)


class Text(str):
    """English text that can be said again in another language (see the module docstring)."""

    msgid: str
    plural: str | None
    num: int | None
    values: dict[str, Value]

    def __new__(
        cls, msgid: str, values: dict[str, Value], plural: str | None = None, num: int | None = None
    ) -> Text:
        chosen = plural if plural is not None and num != 1 else msgid
        shown = {k: english(v) for k, v in values.items()}
        if num is not None:
            shown.setdefault("num", english(num))
        self = super().__new__(cls, chosen % shown if shown else chosen)
        self.msgid, self.plural, self.num, self.values = msgid, plural, num, values
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (self.msgid, self.values, self.plural, self.num))

    def to_json(self) -> dict[str, Any]:
        """The message and its values for a JSON column, to be said again later in the
        language of whoever reads it. Values must be plain strings or numbers."""
        for key, value in self.values.items():
            if isinstance(value, Text) or not isinstance(value, str | int | float):
                raise TypeError(f"{key}={value!r}: only plain strings and numbers are kept")
        return {"msgid": self.msgid, "values": self.values, "plural": self.plural, "num": self.num}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Text:
        return cls(
            data["msgid"], dict(data.get("values") or {}), data.get("plural"), data.get("num")
        )


def _l(message: str, **values: Value) -> Text:
    """Mark ``message`` (``%(name)s`` placeholders for ``values``) for translation where shown."""
    return Text(message, values)


def _ln(singular: str, plural: str, num: int, **values: Value) -> Text:
    """As ``_l`` with a count: ``%(num)s`` is ``num``; the language's plural rule picks the form."""
    return Text(singular, values, plural, num)
