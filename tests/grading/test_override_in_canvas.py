"""The override form says what Canvas shows (Canvas knows nothing of overrides) and can send
the override to Canvas as evidence, owed in the same transaction (issue 17, item 7).

Ava's RL.7.2 (tests/grading/seed.py): Canvas results 2 then 3, decaying average 65: 2.65.
"""

from __future__ import annotations

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.grading import views as grid_views
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.models.pathways import MasteryOverride
from lti_app.models.writeback import WritebackItem
from tests.conftest import LtiBrowser
from tests.grading.seed import get, launch, seed_course
from tests.lti_platform import INSTRUCTOR, TOOL_BASE, FakePlatform

DRILL = "/s/{h}/grid/812/97"


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def seeded(app: Flask, platform: FakePlatform) -> Flask:
    seed_course(app, platform)
    return app


def override(browser: LtiBrowser, handle: str, csrf: str, **extra: str) -> str:
    data = {CSRF_FIELD: csrf, "action": "set", "reason": "Conference", **extra}
    response = browser.client.post(
        DRILL.format(h=handle) + "/override", data=data, base_url=TOOL_BASE
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def items(app: Flask) -> list[WritebackItem]:
    with app.app_context(), session_scope(app) as db:
        return list(db.query(WritebackItem).order_by(WritebackItem.id))


def test_the_form_says_what_canvas_shows_and_what_it_would_with_each_level(
    seeded: Flask, browser: LtiBrowser
) -> None:
    handle, csrf = launch(browser, [INSTRUCTOR])
    html = get(browser, DRILL.format(h=handle))[1]
    assert "calculates from the results it holds and shows <strong>2.65</strong>" in html
    # 0.65 x 4 + 0.35 x mean(2, 3) = 3.475; 0.65 x 3 + 0.875 = 2.825; 0.65 x 0 + 0.875
    assert "<li>4 A sent: Canvas shows 3.48</li>" in html
    assert "<li>3 P sent: Canvas shows 2.83</li>" in html
    assert "<li>0 NY sent: Canvas shows 0.88</li>" in html
    assert 'name="send_to_canvas" value="1"' in html

    # Not sent: the tool shows the override, Canvas still 2.65, and the form says so.
    location = override(browser, handle, csrf, level="3.0")
    assert location.endswith("/done/set")
    html = get(browser, location)[1]
    assert "shows <strong>2.65</strong> for Ava Jones on this target." in html
    assert "It does not show your override's 3." in html
    assert items(seeded) == []


def test_an_override_sent_to_canvas_is_owed_with_it_and_counts_in_canvas(
    seeded: Flask, browser: LtiBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    kicks: list[tuple[int, str]] = []  # deliveries started (recorded, not run: no Canvas here)
    monkeypatch.setattr(grid_views, "kick_after_response", lambda *a: kicks.append(a))
    handle, csrf = launch(browser, [INSTRUCTOR])
    location = override(browser, handle, csrf, level="4.0", send_to_canvas="1")
    assert location.endswith("/done/sent")
    assert [course for _, course in kicks] == ["101"]
    html = get(browser, location)[1]
    assert "Override saved, and sent to Canvas as evidence" in html
    with seeded.app_context(), session_scope(seeded) as db:
        saved = db.query(MasteryOverride).one()
    [item] = items(seeded)
    assert item.idempotency_key == f"override:{saved.id}"
    assert (item.canvas_user_id, item.canvas_outcome_id, item.level) == ("812", "97", 4.0)
    assert item.status == "pending" and item.round == 1
    # Canvas will hold it as its newest result: 3.48 there, 4 (the override) here.
    assert "shows <strong>3.48</strong> for Ava Jones on this target." in html
    assert '<span class="level-badge lv8">4 A' in html
    # a refused save keeps the box ticked; nothing is owed
    response = browser.client.post(
        DRILL.format(h=handle) + "/override",
        data={
            CSRF_FIELD: csrf,
            "action": "set",
            "level": "4.0",
            "reason": " ",
            "send_to_canvas": "1",
        },
        base_url=TOOL_BASE,
    )
    assert response.status_code == 400
    assert 'value="1" aria-describedby="ov-canvas" checked>' in response.get_data(as_text=True)
    assert len(items(seeded)) == 1
