"""The grid under writes: the Canvas side is computed once per sync, and a teacher's override
or a scored demonstration only changes the cells it touches (issue 20, part 2)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.grading import grid as grid_model
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.calculation import Basis
from lti_app.models.canvas import CanvasCourse
from lti_app.models.pathways import Demonstration, MasteryOverride
from tests.conftest import LtiBrowser
from tests.grading.seed import COURSE, T0, get, launch, platform_id, seed_course
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    grid_model.clear_grid_cache()
    seed_course(app, platform)
    return app


@pytest.fixture
def base_computations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = grid_model._compute_base

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(grid_model, "_compute_base", counting)
    return calls


def cells(html: str) -> dict[tuple[str, str], str]:
    found = re.findall(r'<td class="(lv\w+)"><a href="grid/(\d+)/(\d+)">([^<]*)', html)
    return {(uid, oid): f"{lv} {text}" for lv, uid, oid, text in found}


def test_override_changes_one_cell_without_recomputing_the_course(
    seeded: Flask, browser: LtiBrowser, base_computations: list[int], platform: FakePlatform
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    status, before = get(browser, f"/s/{handle}/grid")
    assert status == 200
    assert base_computations == [1]
    response = browser.client.post(
        f"/s/{handle}/grid/813/99/override",
        data={CSRF_FIELD: csrf, "action": "set", "level": "1.5", "reason": "Retaught, 11/20"},
        base_url=TOOL_BASE,
    )
    assert response.status_code == 303
    after = cells(get(browser, f"/s/{handle}/grid")[1])

    assert base_computations == [1]  # the Canvas side was kept
    assert after[("813", "99")] == "lv3 1.5 B+"  # was 2.63 from Canvas evidence
    changed = {k for k, v in after.items() if cells(before).get(k) != v}
    assert changed == {("813", "99")}

    # A scored demonstration merges with the Canvas evidence of its cell only.
    with session_scope(seeded) as db:
        db.add(
            Demonstration(
                platform_id=platform_id(seeded, platform),
                canvas_course_id=COURSE,
                canvas_user_id="812",
                canvas_outcome_id="97",
                kind="project",
                title="Poster",
                state="scored",
                open_slot=None,
                attempt=1,
                links=[],
                reflection_links=[],
                score=4.0,
                scored_by="1",
                created_at=T0 + timedelta(weeks=2),
                updated_at=T0 + timedelta(weeks=3),
                submitted_at=T0 + timedelta(weeks=2),
                scored_at=T0 + timedelta(weeks=3),
            )
        )
    final = cells(get(browser, f"/s/{handle}/grid")[1])
    assert base_computations == [1]
    # Decaying average 65 over 2, 3, then 4: 0.65 x 4 + 0.35 x mean(2, 3) = 3.475
    assert final[("812", "97")] == "lv6 3.48 P"
    assert {k for k, v in final.items() if after.get(k) != v} == {("812", "97")}


def test_a_new_sync_recomputes_the_canvas_side(
    seeded: Flask, browser: LtiBrowser, base_computations: list[int]
) -> None:
    handle, _csrf = launch(browser, [INSTRUCTOR])
    get(browser, f"/s/{handle}/grid")
    get(browser, f"/s/{handle}/grid?sort=level_asc")
    assert base_computations == [1]
    with session_scope(seeded) as db:
        course = db.query(CanvasCourse).one()
        assert course.last_synced_at is not None
        course.last_synced_at = course.last_synced_at + timedelta(hours=1)
    get(browser, f"/s/{handle}/grid")
    assert base_computations == [1, 1]


@pytest.fixture
def own_computations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The pairs whose cell was computed with the tool's own evidence (either basis)."""
    pairs: list[tuple[str, str]] = []
    real_mixed: Callable[..., Any] = grid_model._mixed_cell
    real_canvas: Callable[..., Any] = grid_model._canvas_cells

    def mixed(base: Any, key: tuple[str, str], *args: Any) -> Any:
        pairs.append(key)
        return real_mixed(base, key, *args)

    def canvas(base: Any, tool: dict[tuple[str, str], Any], *args: Any) -> Any:
        pairs.extend(tool)
        return real_canvas(base, tool, *args)

    monkeypatch.setattr(grid_model, "_mixed_cell", mixed)
    monkeypatch.setattr(grid_model, "_canvas_cells", canvas)
    return pairs


@pytest.mark.parametrize("basis", list(Basis))
def test_accumulated_overrides_are_not_recomputed_on_every_read(
    app: Flask,
    platform: FakePlatform,
    browser: LtiBrowser,
    own_computations: list[tuple[str, str]],
    basis: Basis,
) -> None:
    """Every override stays on record; with many pairs overridden, a read after one more
    override computes that pair's cell alone (issue 20, part 2: it used to compute them all)."""
    grid_model.clear_grid_cache()
    seed_course(app, platform, basis=basis)
    pid = platform_id(app, platform)
    handle, csrf = launch(browser, [INSTRUCTOR])

    def override(uid: str, oid: str, level: str) -> None:
        with session_scope(app) as db:  # as another process stores it: nothing here is told
            db.add(
                MasteryOverride(
                    platform_id=pid,
                    canvas_course_id=COURSE,
                    canvas_user_id=uid,
                    canvas_outcome_id=oid,
                    level=float(level),
                    reason="Conference",
                    teacher_canvas_user_id="1",
                    created_at=T0 + timedelta(weeks=5, minutes=len(own_computations)),
                )
            )

    for uid in ("812", "813", "814"):
        for oid in ("97", "98", "99"):
            override(uid, oid, "2.0")
    get(browser, f"/s/{handle}/grid")
    assert len(own_computations) == 9
    own_computations.clear()
    get(browser, f"/s/{handle}/grid?sort=level_asc")
    assert own_computations == []  # nothing changed: every cell kept

    override("813", "98", "3.5")  # a second override on record for this pair; the latest counts
    after = cells(get(browser, f"/s/{handle}/grid")[1])
    assert own_computations == [("813", "98")]
    assert after[("813", "98")] == "lv7 3.5 P+"
    assert after[("812", "97")] == "lv4 2 D"

    # A teacher clears the pair through the page (every override in force on it): its cell is
    # the Canvas side's again (no visible Canvas result there), computing nothing.
    own_computations.clear()
    response = browser.client.post(
        f"/s/{handle}/grid/813/98/override",
        data={CSRF_FIELD: csrf, "action": "clear"},
        base_url=TOOL_BASE,
    )
    assert response.status_code == 303
    final = cells(get(browser, f"/s/{handle}/grid")[1])
    assert own_computations == []
    assert final == {**after, ("813", "98"): "lvn "}


def test_only_a_changed_students_row_is_rendered_again(
    seeded: Flask, browser: LtiBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are kept with the cell objects they were rendered from: after an override only
    that student's row is rendered again; another language or folded group renders anew."""
    from lti_app.grading import views as grid_views

    rendered: list[str] = []
    real: Callable[..., Any] = grid_views._row

    def counting(student: Any, *args: Any) -> Any:
        rendered.append(student.canvas_user_id)
        return real(student, *args)

    monkeypatch.setattr(grid_views, "_row", counting)
    grid_views._KEPT_ROWS.clear()
    handle, csrf = launch(browser, [INSTRUCTOR])
    first = cells(get(browser, f"/s/{handle}/grid")[1])
    assert sorted(rendered) == ["812", "813", "814"]
    rendered.clear()
    assert cells(get(browser, f"/s/{handle}/grid?sort=level_desc")[1]) == first
    assert rendered == []
    response = browser.client.post(
        f"/s/{handle}/grid/814/98/override",
        data={CSRF_FIELD: csrf, "action": "set", "level": "4", "reason": "Portfolio"},
        base_url=TOOL_BASE,
    )
    assert response.status_code == 303
    after = cells(get(browser, f"/s/{handle}/grid")[1])
    assert rendered == ["814"] and after[("814", "98")].startswith("lv8 4 ")
    rendered.clear()
    get(browser, f"/s/{handle}/grid?closed=0")
    assert sorted(rendered) == ["812", "813", "814"]
