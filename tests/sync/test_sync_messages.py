"""The sync's progress step and failure are kept as messages, so the Canvas page (and its
status feed) says them in each reader's language; the English stays in the row for the CLI
and logs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lti_app.canvas.client.errors import PermissionDenied
from lti_app.db import session_scope
from lti_app.models.canvas import SYNC_FAILED, SYNC_RUNNING, SyncRun
from lti_app.sync import errors
from lti_app.translatable import Text, _l
from tests.conftest import LtiBrowser
from tests.grading.seed import get, launch, read_in_spanish
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform
from tests.pathways.conftest import platform_id_of


@pytest.fixture
def db_url(backend_url: str) -> str:
    """SQLite and PostgreSQL."""
    return backend_url


def add_run(app: Flask, pid: int, status: str) -> None:
    with app.app_context(), session_scope(app) as db:
        run = SyncRun(platform_id=pid, canvas_course_id="101", requested_by="812", status=status)
        if status == SYNC_RUNNING:
            run.set_step(_l("Reading outcome results (%(count)s)", count=12500))
        else:
            run.error_code = errors.PERMISSION
            denied = PermissionDenied("forbidden", status=403, hint="url:GET|/api/v1/courses")
            run.set_error(errors.classify(denied).message)
        db.add(run)


def feed(browser: LtiBrowser, handle: str) -> dict[str, Any]:
    """The newest run as the page's status feed gives it."""
    response = browser.client.get(f"/s/{handle}/canvas/status.json", base_url=TOOL_BASE)
    run: dict[str, Any] = response.get_json()["run"]
    return run


def test_the_step_of_a_running_sync_in_each_readers_language(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    add_run(app, platform_id_of(app, platform), SYNC_RUNNING)
    handle, csrf = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/canvas")
    assert status == 200 and "Reading outcome results (12500)" in html

    read_in_spanish(browser, handle, csrf)
    status, html = get(browser, f"/s/{handle}/canvas")
    assert status == 200 and "Leyendo los resultados de aprendizaje (12500)" in html
    assert feed(browser, handle)["step"] == "Leyendo los resultados de aprendizaje (12500)"
    with app.app_context(), session_scope(app) as db:
        [run] = db.query(SyncRun).all()
        assert run.step == "Reading outcome results (12500)"  # the row keeps the English


def test_why_a_sync_failed_in_each_readers_language(
    app: Flask, browser: LtiBrowser, platform: FakePlatform
) -> None:
    add_run(app, platform_id_of(app, platform), SYNC_FAILED)
    handle, csrf = launch(browser, [INSTRUCTOR])
    status, html = get(browser, f"/s/{handle}/canvas")
    assert status == 200
    assert "Canvas refused access to this course&#39;s outcome data. Missing: url:GET|" in html

    read_in_spanish(browser, handle, csrf)
    status, html = get(browser, f"/s/{handle}/canvas")
    assert (
        "Canvas denegó el acceso a los datos de resultados de este curso. Falta: url:GET|" in html
    )
    assert feed(browser, handle)["error_message"].startswith("Canvas denegó el acceso")


def test_an_older_run_without_a_message_shows_its_english() -> None:
    run = SyncRun(step="Reading outcome results", error_message="Something English")
    assert run.step_text == "Reading outcome results"
    assert run.error_text == "Something English"


def test_a_message_keeps_only_plain_values() -> None:
    kept = _l("Reading course structure (%(done)s of %(total)s)", done=2, total=7).to_json()
    again = Text.from_json(kept)
    assert (again, again.msgid, again.values) == (
        "Reading course structure (2 of 7)",
        "Reading course structure (%(done)s of %(total)s)",
        {"done": 2, "total": 7},
    )
    with pytest.raises(TypeError, match="only plain strings and numbers"):
        _l("Where: %(where)s", where=_l("Canvas")).to_json()
