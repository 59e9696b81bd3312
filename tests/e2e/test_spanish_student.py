"""A Spanish-speaking student in real Chromium against the demo stack: Camila Flores's Canvas
language is Spanish, so the tool opens in Spanish inside Canvas's iframe; she reads her levels,
growth and how her level was worked out, chooses a pathway, is told in Spanish what to fix,
hands in work, and switches to English and back with the switch at the top of the page (also
with no cookie at all: the switch's form carries the launch token like every form). axe-core on
every page, no sideways scrolling at 375 and 320 px, screenshots es-student-*.png at 1280 and
375 px in test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser_pages import COOKIE_MODES, cookie_mode_page, synced_sandbox
from tests.e2e.core_loop_flows import check_page, tool_frame
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_sandbox_launch import open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def es_stack(
    tmp_path_factory: pytest.TempPathFactory, stack_database_url: str | None
) -> Iterator[SandboxStack]:
    """On SQLite, then on PostgreSQL (issue 18: both databases end to end)."""
    yield from synced_sandbox(tmp_path_factory, "spanish-student", stack_database_url)


@pytest.fixture(params=COOKIE_MODES)
def es_page(
    request: pytest.FixtureRequest,
    playwright_driver: Any,
    tmp_path_factory: pytest.TempPathFactory,
    es_stack: SandboxStack,
) -> Iterator[Any]:
    for page in cookie_mode_page(request.param, playwright_driver, tmp_path_factory, es_stack):
        page.pictures = not page.no_cookies  # one set of screenshots
        # The stack is shared: each run hands in work on a target of its own.
        page.target = "RL.7.2" if page.pictures else "RL.7.3"
        yield page


def look(page: Any, name: str, show: Any = None) -> None:
    if page.pictures:
        check_page(page, name, show=show)


def lang(page: Any) -> str:
    value: str = tool_frame(page).evaluate("document.documentElement.lang")
    return value


def test_a_spanish_speaking_student_works_in_spanish_and_can_switch(
    es_page: Any, es_stack: SandboxStack
) -> None:
    page, stack = es_page, es_stack
    ids = stack.ids
    oid = str(ids.ela_outcomes[page.target])
    evidence = "Mi resumen cuenta la historia y marca el tema en cada párrafo."

    pick_user(page, stack, ids.spanish_student)
    frame = open_tool_tab(page, stack, ids.ela_course)  # Canvas's language: Spanish
    frame.get_by_role("heading", level=1, name="Mis metas de aprendizaje").wait_for()
    assert lang(page) == "es"
    main = tool_frame(page).locator("main").inner_text()
    assert "Alcanzaste el dominio en" in main and "Dominio quiere decir nivel" in main
    card = frame.locator(f'article:has(a[href$="/me/targets/{oid}"])')
    text = card.inner_text()
    assert "Mi nivel:" in text and "My level" not in text, text
    look(page, "es-student-targets")
    look(page, "es-student-targets-card", show=card)
    frame.get_by_text("Qué quiere decir cada nivel").click()
    look(page, "es-student-levels", show=frame.locator(".scale-box"))

    card.locator(f'h3 a[href$="/me/targets/{oid}"]').click()
    frame.get_by_role("heading", name="Mostrar lo que sé").wait_for()
    assert "Cómo se calculó mi nivel:" in frame.locator("#how-counted").inner_text()
    frame.get_by_role("heading", name="Dónde estoy ahora").wait_for()
    look(page, "es-student-target")

    frame.locator('input[name="kind"][value="project"]').check()
    frame.get_by_role("button", name="Elegir este camino").click()
    frame.get_by_text("Elegiste un camino.").wait_for()
    frame.get_by_label("Sobre mi trabajo").fill(evidence)
    count = frame.locator("#f-evidence-count").inner_text()
    assert count == f"{len(evidence)} de 10.000 caracteres", count  # the live count, in Spanish
    frame.get_by_label("Enlaces a mi trabajo (opcional)").fill("javascript:alert(1)")
    frame.get_by_role("button", name="Entregar mi trabajo").click()
    alert = frame.get_by_role("alert")
    alert.wait_for()
    said = alert.inner_text()
    assert "Hay algo que corregir. No se perdió nada de lo que escribiste." in said, said
    assert "no es una dirección web; tiene que empezar con https:// o http://" in said, said
    assert frame.get_by_label("Sobre mi trabajo").input_value() == evidence
    look(page, "es-student-target-error", show=alert)
    frame.get_by_label("Enlaces a mi trabajo (opcional)").fill("https://docs.example/resumen")
    frame.get_by_role("button", name="Entregar mi trabajo").click()
    frame.get_by_text("Tu trabajo se entregó. Tu maestro lo calificará.").wait_for()
    look(page, "es-student-target-submitted")

    # The switch at the top: English for the rest of the session, then Spanish again.
    switch = frame.get_by_role("form", name="Idioma")
    look(page, "es-student-language-switch", show=switch)
    switch.get_by_role("button", name="English").click()
    frame.get_by_role("heading", name="Show what I know").wait_for()
    assert lang(page) == "en"
    assert "Your work was handed in." in tool_frame(page).locator("main").inner_text()
    frame.get_by_role("link", name="Back to My learning targets").click()
    frame.get_by_role("heading", level=1, name="My learning targets").wait_for()
    frame.get_by_role("form", name="Language").get_by_role("button", name="Español").click()
    frame.get_by_role("heading", level=1, name="Mis metas de aprendizaje").wait_for()
    assert lang(page) == "es"
