"""A student whose Canvas language is Spanish reads the student pages in Spanish: headings,
levels and growth in words, the calculation, dates and decimal numbers as Spanish writes them,
refusals too; the same pages launched in English read exactly as before."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.models.pathways import PathwayMenuItem
from lti_app.pathways import service as svc
from tests.conftest import LtiBrowser
from tests.lti_platform import LEARNER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import AVA, COURSE, RL, W, platform_id_of, seed_course

PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    teacher = svc.CourseContext(pid, COURSE, "900", Role.TEACHER)
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, COURSE, AVA, Role.STUDENT)
        d = svc.choose(db, ava, W, "test")
        svc.submit(db, ava, d.id, "My argument", "")
        svc.score(db, teacher, d.id, "2.0", "Good claims; add evidence.")
        past = svc.MenuRow("project", True, "Build a model", "Show the plot", "", "")
        svc.save_menu(db, teacher, RL, [past])
        item = db.query(PathwayMenuItem).one()
        item.due_at = datetime(2026, 1, 9, 23, 59, tzinfo=UTC)
    return pid


def launch_in(browser: LtiBrowser, locale: str) -> tuple[str, str, str]:
    """A real signed launch of Ava with Canvas's user language: (handle, CSRF token, page)."""

    def mutate(claims: dict[str, Any]) -> None:
        claims[PRESENTATION]["locale"] = locale

    response = browser.launch(roles=[LEARNER], mutate=mutate)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf, html


def page(browser: LtiBrowser, handle: str, path: str) -> tuple[int, str]:
    r = browser.client.get(f"/s/{handle}/me{path}", base_url=TOOL_BASE)
    return r.status_code, r.get_data(as_text=True)


def test_a_spanish_launch_shows_the_targets_page_in_spanish(pid: int, browser: LtiBrowser) -> None:
    _, _, html = launch_in(browser, "es-MX")
    assert '<html lang="es">' in html
    assert "<h1>Mis metas de aprendizaje</h1>" in html
    assert "<title>Mis metas de aprendizaje – " in html
    assert "Alcanzaste el dominio en <strong>0 de 2</strong> metas de aprendizaje." in html
    assert "Dominio quiere decir nivel 3 (Proficient) o más." in html
    assert "<summary>Qué quiere decir cada nivel</summary>" in html
    # levels in words: W has a level, RL none yet; the next step's 2.5 is written 2,5
    assert "<span>Mi nivel:</span>" in html
    assert re.search(r'<span class="level-badge lv\d+">2 D – Developing</span>', html)
    assert '<span class="level-badge lvn">Todavía sin nivel</span>' in html
    assert "<strong>Siguiente paso: 2,5 Developing, partial on target content.</strong>" in html
    assert "<strong>Meta: 3 Proficient.</strong>" in html
    # growth in words, and the chart's words for screen readers
    assert "Todavía no hay trabajos calificados en esta meta." in html
    assert "Tus calificaciones todavía no están subiendo." in html
    assert re.search(r"<desc [^>]*>1 calificación: de 2 el \d{4}-\d\d-\d\d a 2 el ", html)
    assert ">dominio</text>" in html
    assert "Todavía no has elegido un camino." in html
    assert "Cerrar sesión" in html and ">English</button>" in html
    for english in ("My learning targets", "No level yet", "Next step", "Sign out", "Goal:"):
        assert english not in html, english


def test_a_spanish_target_page_says_the_calculation_dates_and_forms_in_spanish(
    pid: int, browser: LtiBrowser
) -> None:
    handle, csrf, _ = launch_in(browser, "es")
    status, html = page(browser, handle, f"/targets/{W}")
    assert status == 200, html
    assert '<html lang="es">' in html
    assert '<h2 id="now-h">Dónde estoy ahora</h2>' in html
    assert "<strong>Cómo se calculó mi nivel:</strong> Hasta ahora tienes una sola " in html
    assert "calificación, así que tu nivel es esa calificación: 2." in html
    assert "Estás a 1 de llegar." in html
    assert "Para llegar a 2,5 (Developing, partial on target content), tu próxima " in html
    assert '<h2 id="fb-h">Comentarios y mis intentos</h2>' in html
    assert "Calificado" in html and "Mi maestro escribió:" in html
    assert re.search(r'<time datetime="[^"]+">\d{1,2} de [a-z]+ de \d{4}</time>', html)
    assert "Pedirle a mi maestro que me vuelva a evaluar" in html
    assert "Hasta 2000 caracteres." in html  # the reflection's limit: 4 digits, no grouping
    assert 'data-of="{n} de {limit} caracteres"' in html  # the live count's words
    status, html = page(browser, handle, f"/targets/{RL}")
    assert "Fecha de entrega: 9 de enero de 2026. Esa fecha ya pasó" in html
    assert "Elige cómo vas a mostrar esta meta" in html
    # a refused form: the page's words and the service's message in Spanish
    r = browser.client.post(
        f"/s/{handle}/me/targets/{RL}/choose", data={CSRF_FIELD: csrf}, base_url=TOOL_BASE
    )
    refused = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Hay algo que corregir. No se perdió nada de lo que escribiste." in refused
    assert "Primero elige uno de los caminos." in refused
    status, html = page(browser, handle, "/targets/12345")
    assert status == 404
    assert "Este curso no tiene esa meta de aprendizaje." in html
    assert "Vuelve a Mis metas de aprendizaje y elige otra vez." in html
    r = browser.client.post(f"/s/{handle}/sign-out", data={CSRF_FIELD: csrf}, base_url=TOOL_BASE)
    assert "Cerraste la sesión de Mastery Pathways." in r.get_data(as_text=True)


def test_an_english_launch_reads_as_before(pid: int, browser: LtiBrowser) -> None:
    handle, _, html = launch_in(browser, "en-US")
    assert '<html lang="en">' in html
    assert "<h1>My learning targets</h1>" in html
    assert "<strong>Next step: 2.5 Developing, partial on target content.</strong>" in html
    assert "There is no work scored on this target yet." in html
    assert re.search(r"<desc [^>]*>1 score from 2 on \d{4}-\d\d-\d\d to 2 on ", html)
    assert ">Español</button>" in html
    status, html = page(browser, handle, f"/targets/{RL}")
    assert status == 200
    assert "Due January 9, 2026. That date has passed" in html
    assert "Mis metas" not in html and "calificación" not in html
