"""The district's own words in Spanish, end to end with real signed launches (SQLite and
PostgreSQL): an admin writes Spanish level texts on the scale page and Spanish pathway titles
in the library; a student reading in Spanish sees them, and the district's text where a
translation is empty; bad translations are refused with everything typed kept; and the teacher
pages read in Spanish when the launch is in Spanish."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.pathways import PathwayLibraryKind
from lti_app.policies.store import latest_scale
from tests.conftest import LtiBrowser
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, SYSTEM_USER, TOOL_BASE, FakePlatform
from tests.pathways.conftest import AVA, RL, platform_id_of, seed_course
from tests.policies.test_mastery_pages import MARZANO, form_data

PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
PROFICIENT = [lv.value for lv in MARZANO.levels].index(3.0)
KINDS = ("test", "project", "presentation", "portfolio", "performance_task", "conference")


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    return pid


def launch(browser: LtiBrowser, roles: list[str], locale: str = "en") -> tuple[str, str]:
    def in_language(claims: dict[str, Any]) -> None:
        claims[PRESENTATION]["locale"] = locale

    response = browser.launch(roles=roles, mutate=in_language)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return handle, csrf


def page(browser: LtiBrowser, handle: str, path: str) -> tuple[int, str]:
    response = browser.client.get(f"/s/{handle}{path}", base_url=TOOL_BASE)
    return response.status_code, response.get_data(as_text=True)


def send(browser: LtiBrowser, handle: str, path: str, data: dict[str, Any]) -> tuple[int, str]:
    response = browser.client.post(f"/s/{handle}{path}", data=data, base_url=TOOL_BASE)
    return response.status_code, response.get_data(as_text=True)


def spanish_levels(csrf: str, **changes: str) -> dict[str, str]:
    """The built-in scale saved as the district's, with Spanish texts for "Proficient" only."""
    return (
        form_data(
            csrf,
            action="save",
            **{
                f"level-{PROFICIENT}-es-label": "Competente",
                f"level-{PROFICIENT}-es-short_label": "C",
                f"level-{PROFICIENT}-es-student_description": "Puedo explicar la idea central.",
            },
        )
        | changes
    )


def test_spanish_level_texts_reach_the_student_with_the_districts_text_as_fallback(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    status, html = send(browser, admin, "/admin/mastery", spanish_levels(csrf))
    assert status == 200, html
    assert f'name="level-{PROFICIENT}-es-label" value="Competente"' in html  # shown again
    with app.app_context(), session_scope(app) as db:
        stored = latest_scale(db, pid, MARZANO.name)
        assert stored is not None
        version, scale = stored
        proficient = scale.level(3.0)
        assert proficient.label == "Proficient"  # the district's own text is untouched
        assert proficient.translations["es"].label == "Competente"
        assert scale.level(0.0).translations == {}  # nothing written: nothing stored
        assert "translations" not in version.definition["levels"][0]

    student, _ = launch(browser, [LEARNER], locale="es-MX")
    status, html = page(browser, student, "/me/")
    assert status == 200, html
    assert "Competente" in html and "Puedo explicar la idea central." in html
    assert "Not yet" in html  # no Spanish text for this level: the district's, never empty
    assert "Proficient<" not in html

    english, _ = launch(browser, [LEARNER], locale="en")
    status, html = page(browser, english, "/me/")
    assert "Proficient" in html and "Competente" not in html

    # The teacher's progress report in Spanish: its legend in the district's Spanish words.
    teacher, _ = launch(browser, [INSTRUCTOR], locale="es")
    status, html = page(browser, teacher, f"/report/students/{AVA}")
    assert status == 200, html
    assert "Competente" in html and "Not yet" in html


def test_a_translation_only_edit_keeps_the_scale_version(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    assert send(browser, admin, "/admin/mastery", form_data(csrf, action="save"))[0] == 200
    with app.app_context(), session_scope(app) as db:
        first = latest_scale(db, pid, MARZANO.name)
        assert first is not None
        first_id = first[0].id
    # The course has results, so a meaning change would make version 2; a translation does not.
    assert send(browser, admin, "/admin/mastery", spanish_levels(csrf))[0] == 200
    with app.app_context(), session_scope(app) as db:
        again = latest_scale(db, pid, MARZANO.name)
        assert again is not None
        assert again[0].id == first_id and again[0].version == 1
        assert again[1].level(3.0).translations["es"].short_label == "C"


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("es-label", "x" * 121, "at most 120 characters (121 typed)"),
        ("es-description", "y" * 501, "at most 500 characters (501 typed)"),
        ("es-student_description", "Puedo \u202eexplicar", "control character U+202E"),
    ],
)
def test_bad_spanish_level_texts_are_refused_keeping_what_was_typed(
    app: Flask, pid: int, browser: LtiBrowser, field: str, typed: str, message: str
) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    status, html = send(
        browser, admin, "/admin/mastery", spanish_levels(csrf, **{f"level-2-{field}": typed})
    )
    assert status == 400, html
    assert message in html and 'href="#f-translations"' in html
    assert typed in html  # nothing typed is lost
    with app.app_context(), session_scope(app) as db:
        assert latest_scale(db, pid, MARZANO.name) is None  # nothing saved


def test_a_control_character_in_a_spanish_text_is_refused_before_the_page(
    pid: int, browser: LtiBrowser
) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    status, html = send(
        browser, admin, "/admin/mastery", spanish_levels(csrf, **{"level-1-es-label": "a\x07b"})
    )
    assert status == 400 and "U+0007" in html


def library_form(csrf: str, **changes: str) -> dict[str, Any]:
    form: dict[str, Any] = {CSRF_FIELD: csrf, "enabled": ["test", "project"]}
    for kind in (*KINDS, "proposal"):
        form[f"{kind}-title"] = kind.replace("_", " ").title()
        form[f"{kind}-instructions"] = f"District instructions for {kind}"
    return (
        form
        | {
            "test-es-title": "Examen",
            "test-es-instructions": "Haz el examen de esta meta.",
            "project-es-title": "",
        }
        | changes
    )


def test_library_entries_in_spanish_reach_the_students_menu(
    app: Flask, pid: int, browser: LtiBrowser
) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    status, html = send(browser, admin, "/pathways/library", library_form(csrf))
    assert status == 200, html
    assert 'value="Examen"' in html
    with app.app_context(), session_scope(app) as db:
        test = db.query(PathwayLibraryKind).filter_by(platform_id=pid, kind="test").one()
        project = db.query(PathwayLibraryKind).filter_by(platform_id=pid, kind="project").one()
        assert test.translations == {
            "es": {"title": "Examen", "instructions": "Haz el examen de esta meta."}
        }
        assert project.translations is None  # nothing written: nothing stored

    student, _ = launch(browser, [LEARNER], locale="es")
    status, html = page(browser, student, f"/me/targets/{RL}")
    assert status == 200, html
    assert "Examen" in html and "Haz el examen de esta meta." in html
    assert "Project" in html and "District instructions for project" in html  # fallback
    assert "District instructions for test" not in html

    english, _ = launch(browser, [LEARNER])
    status, html = page(browser, english, f"/me/targets/{RL}")
    assert "District instructions for test" in html and "Examen" not in html

    # A teacher's menu starts from the library's Spanish texts and keeps them when saved.
    teacher, tcsrf = launch(browser, [INSTRUCTOR])
    status, html = page(browser, teacher, f"/pathways/targets/{RL}")
    assert 'name="test-es-title" value="Examen"' in html
    menu = {
        CSRF_FIELD: tcsrf,
        "offer": ["test"],
        "test-title": "Unit test",
        "test-instructions": "Take it in class.",
        "test-es-title": "Examen de la unidad",
        "test-es-instructions": "",
    }
    status, html = send(browser, teacher, f"/pathways/targets/{RL}", menu)
    assert status == 200, html
    student, _ = launch(browser, [LEARNER], locale="es")  # one launch at a time per browser
    status, html = page(browser, student, f"/me/targets/{RL}")
    assert "Examen de la unidad" in html and "Take it in class." in html


def test_bad_spanish_pathway_texts_are_refused(app: Flask, pid: int, browser: LtiBrowser) -> None:
    admin, csrf = launch(browser, [ADMIN, SYSTEM_USER])
    status, html = send(
        browser, admin, "/pathways/library", library_form(csrf, **{"test-es-title": "E" * 201})
    )
    assert status == 400, html
    assert "Title (Español): at most 200 characters (201 typed)." in html
    assert 'href="#f-test-es-title"' in html and 'id="f-test-es-title"' in html
    with app.app_context(), session_scope(app) as db:
        rows = db.query(PathwayLibraryKind).filter_by(platform_id=pid).all()
        assert all(r.translations is None for r in rows)  # nothing saved

    teacher, tcsrf = launch(browser, [INSTRUCTOR])
    menu = {
        CSRF_FIELD: tcsrf,
        "offer": ["test"],
        "test-title": "Unit test",
        "test-instructions": "Take it in class.",
        "test-es-instructions": "Hazlo \u2066en clase",
    }
    status, html = send(browser, teacher, f"/pathways/targets/{RL}", menu)
    assert status == 400 and "control character U+2066" in html
    assert "Hazlo \u2066en clase" in html


def test_teacher_pages_read_in_spanish_after_a_spanish_launch(
    pid: int, browser: LtiBrowser
) -> None:
    teacher, _ = launch(browser, [INSTRUCTOR], locale="es-419")
    headings = {
        "/grid": ["<h1>Dominio de la clase</h1>", "Ordenar estudiantes por", ">Niveles</h2>"],
        f"/grid/{AVA}/{RL}": [">Nivel actual</h2>", ">Crecimiento</h2>", ">Cómo se calcula</h3>"],
        "/pathways/review": [
            "<h1>Caminos de demostración</h1>",
            "Propuestas para aprobar o devolver (0)",
            "No hay entregas en espera.",
        ],
        "/pathways/": ["Formas de demostrar cada meta de aprendizaje"],
        "/pathways/canvas-results": [">Enviado a Canvas</h2>"],
        "/evidence": ["<h1>Registrar evidencia</h1>"],
    }
    for path, expected in headings.items():
        status, html = page(browser, teacher, path)
        assert status == 200, (path, html)
        assert '<html lang="es">' in html
        for text in expected:
            assert text in html, (path, text)
    admin, _ = launch(browser, [ADMIN, SYSTEM_USER], locale="es")
    status, html = page(browser, admin, "/admin/mastery")
    assert status == 200
    for text in ("<h1>Escala de dominio y cálculo</h1>", "Los niveles en español (opcional)"):
        assert text in html
