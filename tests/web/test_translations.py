"""Every page in the reader's language: the Spanish catalog is complete, the launch's locale
chooses the language, and the switch on the page changes it for the rest of the session."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask

from lti_app.languages import LANGUAGES, supported
from tests.conftest import LtiBrowser
from tests.lti_platform import INSTRUCTOR, TOOL_BASE
from tests.pathways.test_pages import launch

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "lti_app" / "translations"
PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


def extracted_messages() -> dict[str | tuple[str, ...], str]:
    """Every marked string of the sources, as `make i18n-update` extracts it (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    found: dict[str | tuple[str, ...], str] = {}
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "lazy_gettext": None,
        "_l": None,
        "_ln": (1, 2),
    }
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found[message] = f"{filename}:{lineno}"
    return found


@pytest.mark.parametrize("code", LANGUAGES[1:])
def test_every_marked_message_has_a_translation(code: str) -> None:
    """Spanish, and any language added to LANGUAGES with its catalog."""
    with (CATALOGS / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=code)
    problems = []
    for message, where in sorted(extracted_messages().items(), key=lambda item: item[1]):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"{where}: not in the catalog (make i18n-update): {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: fuzzy: {msgid!r}")
        elif not all(entry.string) if isinstance(entry.string, tuple) else not entry.string:
            problems.append(f"{where}: untranslated: {msgid!r}")
    assert not problems, "\n".join(problems)


def test_every_catalog_is_compiled_from_its_latest_text() -> None:
    for code in LANGUAGES[1:]:
        po = CATALOGS / code / "LC_MESSAGES" / "messages.po"
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run make translations"
        assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is stale: run make translations"


def test_language_tags_from_canvas_map_onto_the_catalogs() -> None:
    assert supported("es") == "es"
    assert supported("es-MX") == "es"
    assert supported("es_419") == "es"
    assert supported("EN-gb") == "en"
    assert supported("fr") is None
    assert supported("") is None
    assert supported(None) is None
    assert supported("es-" + "x" * 40) is None


def with_locale(locale: str) -> Any:
    def mutate(claims: dict[str, Any]) -> None:
        claims[PRESENTATION]["locale"] = locale

    return mutate


def html_lang(html: str) -> str:
    found: list[str] = re.findall(r'<html lang="([^"]+)"', html)
    return found[0]


def test_the_launch_locale_sets_the_page_language(browser: LtiBrowser) -> None:
    spanish = browser.launch(roles=[INSTRUCTOR], mutate=with_locale("es-MX"))
    assert spanish.status_code == 200
    assert html_lang(spanish.get_data(as_text=True)) == "es"
    english = browser.launch(roles=[INSTRUCTOR], mutate=with_locale("en-GB"))
    assert html_lang(english.get_data(as_text=True)) == "en"
    # A language without a catalog: the browser's preference, then the default.
    other = browser.launch(roles=[INSTRUCTOR], mutate=with_locale("fr"))
    assert html_lang(other.get_data(as_text=True)) == "en"


def test_the_switch_is_remembered_by_the_session(app: Flask, browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    page = browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE)
    assert html_lang(page.get_data(as_text=True)) == "en"
    assert 'value="es" lang="es">Español</button>' in page.get_data(as_text=True)
    switched = browser.client.post(
        f"/s/{handle}/language",
        data={"csrf_token": csrf, "language": "es", "next": f"/s/{handle}/?tab=1"},
        base_url=TOOL_BASE,
    )
    assert switched.status_code == 303
    assert switched.headers["Location"] == f"/s/{handle}/?tab=1"
    again = browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE)
    assert html_lang(again.get_data(as_text=True)) == "es"
    assert 'value="en" lang="en">English</button>' in again.get_data(as_text=True)


def test_the_switch_goes_back_only_to_this_sessions_pages(browser: LtiBrowser) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    for foreign in ("https://evil.example/s/x/", "//evil.example/", "/s/other/", "/lti/login"):
        response = browser.client.post(
            f"/s/{handle}/language",
            data={"csrf_token": csrf, "language": "es", "next": foreign},
            base_url=TOOL_BASE,
        )
        assert response.status_code == 303
        assert response.headers["Location"] == f"/s/{handle}/", foreign


def test_the_switch_needs_the_sessions_csrf_token(browser: LtiBrowser) -> None:
    handle, _csrf = launch(browser, [INSTRUCTOR])
    refused = browser.client.post(
        f"/s/{handle}/language",
        data={"csrf_token": "forged", "language": "es"},
        base_url=TOOL_BASE,
    )
    assert refused.status_code in (400, 403)
    page = browser.client.get(f"/s/{handle}/", base_url=TOOL_BASE)
    assert html_lang(page.get_data(as_text=True)) == "en"


def test_a_text_reads_english_and_is_said_in_the_readers_language(app: Flask) -> None:
    from datetime import date

    from lti_app.translatable import Text, _l, _ln
    from lti_app.web.i18n import say

    growing = _l(
        "You are growing. If you keep going like this, you could reach proficiency around "
        "%(date)s.",
        date=date(2026, 12, 4),
    )
    assert growing == (
        "You are growing. If you keep going like this, you could reach proficiency around "
        "December 4, 2026."
    )
    counted = _ln(
        "Your level is the average of your %(num)s score at %(threshold)s or higher: %(value)s.",
        "Your level is the average of your %(num)s scores at %(threshold)s or higher: %(value)s.",
        2,
        threshold=3.0,
        value=3.25,
    )
    assert counted == "Your level is the average of your 2 scores at 3 or higher: 3.25."
    copied = copy.deepcopy(counted)  # a Text survives a copy with its msgid and values
    assert copied == counted and isinstance(copied, Text) and copied.values == counted.values
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert say(growing).endswith("alrededor del 4 de diciembre de 2026.")
        assert say(counted) == ("Tu nivel es el promedio de tus 2 calificaciones de 3 o más: 3,25.")
        # a Text inside a Text is said in Spanish too; anything else is left as it is
        nested = _l(
            "That cannot be done now: %(why)s.",
            why=_l("a proposal must be approved before evidence is submitted"),
        )
        assert say(nested) == (
            "Eso no se puede hacer ahora: una propuesta tiene que aprobarse antes de entregar "
            "la evidencia."
        )
        assert say("plain") == "plain" and say(3) == 3
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert say(counted) is counted
        assert isinstance(counted, Text) and isinstance(say(nested), str)
