"""The page language: English or Spanish (and any next language with a catalog under
lti_app/translations/), chosen per launch session.

Canvas sends the user's language in the launch (launch_presentation.locale, e.g. "es" or
"es-MX"); the reader can switch on any page, and the launch session remembers it (the tool
runs without cookies in Canvas's iframe, so the choice lives on the server-side session row).
Pages outside a launch (errors before one, registration) follow the browser's Accept-Language.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Blueprint, Flask, Response, g, request
from flask_babel import Babel, get_translations

from lti_app.db import get_session
from lti_app.languages import LANGUAGE_NAMES, LANGUAGES, current_language, local_number, supported
from lti_app.models.launch import LaunchSession
from lti_app.translatable import Text, english
from lti_app.web.access import session_required

bp = Blueprint("language", __name__, url_prefix="/s/<handle>")


def _select_locale() -> str:
    session: LaunchSession | None = g.get("launch_session")
    if session is not None and session.locale in LANGUAGES:
        return session.locale
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def long_date(value: date | datetime) -> str:
    """A day as the reader's language writes it out: "December 4, 2026", "4 de diciembre de
    2026" (the day of the value as it is: no change of zone)."""
    language = current_language()
    if language == LANGUAGES[0]:
        return english(value)
    return format_date(value, "long", locale=language)


# CLDR's minimumGroupingDigits, which browsers apply (char_count.js counts with them) and Babel
# does not: Spanish writes 2000 but 12.000.
_MIN_GROUPING_DIGITS = {"es": 2}


def count_number(value: int) -> str:
    """A count as the reader's language groups its digits: 5,000 and 12,000 in English, 5000
    and 12.000 in Spanish (as the page's script writes its live count)."""
    language = current_language()
    if language == LANGUAGES[0]:
        return f"{value:,}"
    grouped = len(str(abs(value))) >= 3 + _MIN_GROUPING_DIGITS.get(language, 1)
    return format_decimal(value, locale=language, group_separator=grouped)


def _local(value: Any) -> Any:
    if isinstance(value, Text):
        return say(value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return local_number(value)
    if isinstance(value, datetime | date):
        return long_date(value)
    return value


def say(value: Any) -> Any:
    """A ``Text`` (lti_app/translatable.py) in the reader's language; anything else as it is.
    Every ``{{ }}`` of a template goes through it (the Jinja environment's finalize)."""
    if not isinstance(value, Text) or current_language() == LANGUAGES[0]:
        return value
    translations = get_translations()
    if value.plural is None or value.num is None:
        said = translations.gettext(value.msgid)
    else:
        said = translations.ngettext(value.msgid, value.plural, value.num)
    shown = {key: _local(v) for key, v in value.values.items()}
    if value.num is not None:
        shown.setdefault("num", _local(value.num))
    return said % shown if shown else said


def _switch_next() -> str | None:
    """Where the language switch brings the reader back: this page if it was read with GET (a
    page answering a POST may not be shown again by address), the session's home on the page a
    launch lands on (that very page); None: no switch on this page."""
    session: LaunchSession | None = g.get("launch_session")
    if session is None:
        return None
    if request.method == "GET":
        return request.full_path
    if request.endpoint == "lti.launch":
        return f"/s/{session.id}/"
    return None


def _switch_targets() -> list[tuple[str, str]]:
    here = current_language()
    return [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES if code != here]


@bp.post("/language")
@session_required()
def switch(row: LaunchSession) -> Response:
    """Remember the reader's language on the launch session, then show the same page again."""
    chosen = supported(request.form.get("language"))
    if chosen is not None:
        row.locale = chosen
        get_session().commit()
    # Only a page of this same session: never an address from elsewhere.
    back = urlsplit(request.form.get("next", ""))
    home = f"/s/{row.id}/"
    target = back.path if not back.netloc and back.path.startswith(home) else home
    if back.query and target == back.path:
        target += "?" + back.query
    return Response(status=303, headers={"Location": target})


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    Babel(app, locale_selector=_select_locale)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.finalize = say
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["number"] = local_number
    app.jinja_env.filters["count_number"] = count_number
    app.jinja_env.globals["language_switch"] = _switch_targets
    app.jinja_env.globals["language_switch_next"] = _switch_next
    app.register_blueprint(bp)
