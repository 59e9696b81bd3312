"""The teacher's and admin's pages in Spanish in real Chromium against the demo stack: the admin
switches the page to Español, writes the Spanish label of a level on the scale page and saves;
the teacher switches too and reads the class grid in Spanish with that label in the legend.
axe-core, and screenshots at 1280 and 375 px (es-teacher-*.png), on each (``check_page``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.core_loop_flows import (
    check_page,
    open_in_frame,
    session_base,
    sync_course,
    tool_frame,
)
from tests.e2e.sandbox_harness import SandboxStack
from tests.e2e.test_core_loop import page  # noqa: F401  (the fixture: Chromium's default policy)
from tests.e2e.test_daily_use import fresh_stack  # noqa: F401  (the demo stack, API key set)
from tests.e2e.test_sandbox_launch import open_account_tool, open_tool_tab, pick_user

pytestmark = pytest.mark.timeout(120)

PROFICIENT = 6  # the built-in Marzano 0-4 scale: 0, 0.5, ... 3.0 is the seventh level


def in_spanish(frame: Any) -> None:
    """Press the page's language switch; the session remembers the choice."""
    frame.get_by_role("button", name="Español").click()
    frame.locator('html[lang="es"]').wait_for(state="attached")


def test_admin_writes_a_spanish_level_and_the_teacher_reads_the_grid_in_spanish(
    page: Any,  # noqa: F811
    fresh_stack: SandboxStack,  # noqa: F811
) -> None:
    stack = fresh_stack
    sync_course(stack, stack.ids.ela_course)
    open_account_tool(page, stack)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/admin/mastery")
    in_spanish(frame)
    frame.get_by_role("heading", level=1, name="Escala de dominio y cálculo").wait_for()
    frame.locator("#f-translations summary").click()
    frame.get_by_label(f"Etiqueta del nivel {PROFICIENT + 1} en español").fill("Competente")
    frame.get_by_role("button", name="Guardar", exact=True).click()
    frame.get_by_text("Guardado como el predeterminado del distrito").wait_for()
    check_page(page, "es-teacher-scale", show=frame.locator("#f-translations"))

    pick_user(page, stack, stack.ids.teacher)
    open_tool_tab(page, stack, stack.ids.ela_course)
    base = stack.tool_base + session_base(tool_frame(page))
    frame = open_in_frame(page, base + "/grid")
    in_spanish(frame)
    frame.get_by_role("heading", level=1, name="Dominio de la clase").wait_for()
    legend = frame.locator("ul.legend")
    assert "Competente" in legend.inner_text()
    assert "Not yet" in legend.inner_text()  # no Spanish text written: the district's own
    assert frame.get_by_label("Ordenar estudiantes por").count() == 1
    check_page(page, "es-teacher-grid")
    assert page.csp_errors == []
