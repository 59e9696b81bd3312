"""The page language: English or Spanish (and any next language with a catalog under
lti_app/translations/), chosen per launch session.

Canvas sends the user's language in the launch (launch_presentation.locale, e.g. "es" or
"es-MX"); the reader can switch on any page, and the launch session remembers it (the tool
runs without cookies in Canvas's iframe, so the choice lives on the server-side session row).
Pages outside a launch (errors before one, registration) follow the browser's Accept-Language.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, g, has_request_context, request
from flask_babel import Babel, get_locale

from lti_app.db import get_session
from lti_app.languages import LANGUAGE_NAMES, LANGUAGES, supported
from lti_app.models.launch import LaunchSession
from lti_app.web.access import session_required

bp = Blueprint("language", __name__, url_prefix="/s/<handle>")


def _select_locale() -> str:
    session: LaunchSession | None = g.get("launch_session")
    if session is not None and session.locale in LANGUAGES:
        return session.locale
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def current_language() -> str:
    """The request's language code ("en" outside a request)."""
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None else LANGUAGES[0]


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
    app.jinja_env.globals["language_switch"] = _switch_targets
    app.register_blueprint(bp)
