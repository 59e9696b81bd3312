"""Hostile input stops here, before any view or the database sees it.

- ``<id:...>`` in a route replaces Werkzeug's ``<int:...>``, whose ``\\d+`` also matches
  non-ASCII digits and any length: an id is 1 to 10 ASCII digits within the int4 range of the
  primary keys, else the route does not match (404) and no query is made.
- :func:`ids` reads a list of ids from a form the same way.
- Every request's path, query and form (names and values) is checked for control characters
  (see ``lti_app.input_rules``): PostgreSQL cannot store NUL, and no person types any
  of them. Such a request is refused with 400 before the view runs, saying which field.

Links a student gave are shown through the ``reveal_bidi`` filter.

Numbers inside forms go through ``input_rules`` in the form parsers, so that an
out-of-range value is a message on its field with everything typed kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter, ValidationError

from lti_app.input_rules import (
    BIDI_CONTROLS,
    INT4_MAX,
    codepoint,
    control_character,
    whole_number,
)
from lti_app.translatable import Text, _l

# Field names worth repeating on the error page; anything else is "a field".
_PRINTABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


class RefusedInput(BadRequest):
    """A 400 whose page says, in plain words, what was wrong (security.py renders it)."""

    def __init__(self, title: str, advice: str) -> None:
        super().__init__(title)
        self.title = title
        self.advice = advice


class IdConverter(BaseConverter):
    """A database id in a URL: ASCII digits, 1 to INT4_MAX."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = whole_number(value, 1, INT4_MAX)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(value)


def ids(raw: Iterable[str]) -> list[int] | None:
    """Every value as an id, or None if any of them is not one."""
    parsed = [whole_number(value, 1, INT4_MAX) for value in raw]
    return None if any(v is None for v in parsed) else [v for v in parsed if v is not None]


def _where(kind: str, name: str) -> Text:
    if kind == "path":
        return _l("The address")
    if not _PRINTABLE_NAME.fullmatch(name):
        return _l("A value in the address") if kind == "query" else _l("A field")
    if kind == "query":
        return _l("The value “%(name)s” in the address", name=name)
    return _l("The field “%(name)s”", name=name)


def _check_text() -> None:
    """Refuse a control character anywhere a person could have typed text."""
    places: list[tuple[str, str, str]] = [("path", "", request.path)]
    places += [("query", k, k + v) for k, values in request.args.lists() for v in values]
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        places += [("form", k, k + v) for k, values in request.form.lists() for v in values]
    for kind, name, text in places:
        char = control_character(text)
        if char is not None:
            raise RefusedInput(
                _l("This request contained an invisible control character."),
                _l(
                    "%(where)s contains the control character %(char)s, which Mastery Pathways "
                    "does not accept. Go back, remove it (retyping the text helps) and send again.",
                    where=_where(kind, name),
                    char=codepoint(char),
                ),
            )


def reveal_bidi(text: str) -> str:
    """Show each direction control as a visible ``[U+202E]``: a student's link stored before
    links with them were refused must not read as another host to the teacher."""
    return BIDI_CONTROLS.sub(lambda m: f"[{codepoint(m.group())}]", text)


def init_app(app: Flask) -> None:
    """Before any blueprint: routes are compiled with the converters known at that time."""
    app.url_map.converters["id"] = IdConverter
    app.before_request(_check_text)
    app.jinja_env.filters["reveal_bidi"] = reveal_bidi
