"""Pagination links, throttling and the /_sandbox knobs (docs/canvas.md §4.6, §4.7)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import DEFAULT_RESULT_DELAY_MS, SandboxConfig
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.throttle import Throttle
from canvas_sandbox.tokens import mint_token
from tests.sandbox.conftest import BASE

H = dict[str, str]
LINK = re.compile(r'<([^>]+)>; rel="([a-z]+)"')


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(header)}


def test_numbered_link_header(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    url = f"/api/v1/courses/{ids.ela_course}/outcome_group_links?per_page=5&page=2&access_token=x"
    resp = client.get(url, headers=teacher)
    header = resp.headers["Link"]
    assert header.count('rel="') == 5
    links = _links(header)
    assert list(links) == ["current", "next", "prev", "first", "last"]
    assert links["current"] == (
        f"{BASE}/api/v1/courses/{ids.ela_course}/outcome_group_links?page=2&per_page=5"
    )
    assert links["last"].endswith("page=3&per_page=5")
    assert "access_token" not in header
    beyond = client.get(url.replace("page=2", "page=9"), headers=teacher)
    assert beyond.status_code == 200 and beyond.get_json() == []


def test_per_page_is_clamped(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    resp = client.get(
        f"/api/v1/courses/{ids.ela_course}/outcome_results?per_page=1000", headers=teacher
    )
    assert len(resp.get_json()["outcome_results"]) == 100
    assert "per_page=100" in _links(resp.headers["Link"])["next"]
    default = client.get(f"/api/v1/courses/{ids.ela_course}/outcome_results", headers=teacher)
    assert len(default.get_json()["outcome_results"]) == 10


def test_bookmarks(client: FlaskClient, ids: DemoIds, teacher: H) -> None:
    base = f"/api/v1/courses/{ids.ela_course}/users?enrollment_type[]=student&per_page=20"
    first = client.get(base, headers=teacher)
    links = _links(first.headers["Link"])
    assert set(links) == {"current", "next", "first"}
    assert "page=bookmark%3A" in links["next"]
    second = client.get(links["next"].removeprefix(BASE), headers=teacher)
    names = [u["id"] for u in first.get_json()] + [u["id"] for u in second.get_json()]
    assert sorted(names) == sorted(ids.students)
    assert "next" not in _links(second.headers["Link"])
    bad = client.get(base + "&page=bookmark:garbage!", headers=teacher)
    assert bad.status_code == 404
    assert bad.get_json() == {"errors": [{"message": "The specified resource does not exist."}]}


def test_rate_limit_headers_and_throttled_body(ids: DemoIds) -> None:
    app = create_sandbox(
        SandboxConfig(base_url=BASE, bucket_high_water=60, bucket_outflow=0.0, request_cost=20)
    )
    st: SandboxState = app.extensions["sandbox_state"]
    headers = {"Authorization": f"Bearer {mint_token(st, ids.teacher)}"}
    client = app.test_client()
    ok = client.get("/api/v1/users/self", headers=headers)
    assert ok.status_code == 200
    assert float(ok.headers["X-Request-Cost"]) == 20.0
    assert float(ok.headers["X-Rate-Limit-Remaining"]) == 40.0
    client.get("/api/v1/users/self", headers=headers)
    client.get("/api/v1/users/self", headers=headers)  # bucket now at 60: full
    throttled = client.get("/api/v1/users/self", headers=headers)
    assert throttled.status_code == 403
    assert throttled.get_data() == b"403 Forbidden (Rate Limit Exceeded)\n"
    assert throttled.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert throttled.headers["X-Rate-Limit-Remaining"] == "0.0"
    assert "X-Request-Cost" not in throttled.headers
    # another token has its own bucket
    other = {"Authorization": f"Bearer {mint_token(st, ids.ta)}"}
    assert client.get("/api/v1/users/self", headers=other).status_code == 200
    client.post("/_sandbox/knobs", json={"throttle_status": 429})
    assert client.get("/api/v1/users/self", headers=headers).status_code == 429
    assert client.get("/_sandbox/stats").get_json()["throttled"] == 2


def test_bucket_reservation_and_leak() -> None:
    now = [0.0]
    config = SandboxConfig(bucket_high_water=600, bucket_outflow=10, upfront_cost=50)
    throttle = Throttle(config, clock=lambda: now[0])
    # twelve parallel requests exhaust the headroom on reservations alone (docs/canvas.md §4.7)
    assert all(throttle.start("t") for _ in range(12))
    assert not throttle.start("t")
    cost, remaining = throttle.finish("t", rows=100)
    assert cost == config.request_cost + 100 * config.row_cost
    assert remaining == 600 - (11 * 50 + cost)
    now[0] = 10.0  # 100 units leak out in ten seconds
    assert throttle.start("t")


def test_knobs_faults_stats_and_reset(
    sandbox: Flask, client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    knobs = client.get("/_sandbox/knobs").get_json()
    assert knobs["result_delay_ms"] == DEFAULT_RESULT_DELAY_MS > 0
    assert knobs["throttle_status"] == 403
    assert client.post("/_sandbox/knobs", json={"nope": 1}).status_code == 400
    client.post("/_sandbox/knobs", json={"error_rate": 1.0})
    failed = client.get("/api/v1/users/self", headers=teacher)
    assert failed.status_code == 500
    assert failed.get_json()["errors"][0]["error_code"] == "internal_server_error"
    client.post("/_sandbox/knobs", json={"error_rate": 0.5, "fault_seed": 3})
    pattern = [client.get("/api/v1/users/self", headers=teacher).status_code for _ in range(20)]
    client.post("/_sandbox/knobs", json={"fault_seed": 3})
    again = [client.get("/api/v1/users/self", headers=teacher).status_code for _ in range(20)]
    assert pattern == again and 500 in pattern and 200 in pattern  # deterministic dice
    client.post("/_sandbox/knobs", json={"error_rate": 0, "timeout_rate": 1, "timeout_sleep_s": 0})
    assert client.get("/api/v1/users/self", headers=teacher).status_code == 504
    client.post("/_sandbox/knobs", json={"timeout_mode": "hang", "timeout_sleep_s": 0.05})
    started = time.monotonic()
    assert client.get("/api/v1/users/self", headers=teacher).status_code == 200
    assert time.monotonic() - started >= 0.05
    client.post("/_sandbox/knobs", json={"timeout_rate": 0, "latency_ms": 30})
    started = time.monotonic()
    client.get("/api/v1/users/self", headers=teacher)
    assert time.monotonic() - started >= 0.03
    client.post("/_sandbox/knobs", json={"latency_ms": 0})
    stats = client.get("/_sandbox/stats").get_json()
    assert stats["by_endpoint"]["GET /api/v1/users/self"] >= 42
    assert stats["injected_timeouts"] == 2
    client.post("/_sandbox/stats/reset")
    assert client.get("/_sandbox/stats").get_json()["total"] == 0
    # reset re-seeds in place: made-up data disappears, ids are the same
    state.results.clear()
    reset = client.post("/_sandbox/reset").get_json()
    assert reset["ids"]["teacher"] == ids.teacher
    assert sandbox.extensions["sandbox_state"] is state and state.results


def test_config_from_env() -> None:
    cfg = SandboxConfig.from_env(
        {
            "SANDBOX_LATENCY_MS": "25",
            "SANDBOX_THROTTLE_ENABLED": "false",
            "SANDBOX_ERROR_RATE": "0.1",
        }
    )
    assert (cfg.latency_ms, cfg.throttle_enabled, cfg.error_rate) == (25, False, 0.1)


def test_student_only_sees_own_enrollments(
    client: FlaskClient, ids: DemoIds, auth: Callable[[int], H]
) -> None:
    me = ids.two_section_student
    rows = client.get(
        f"/api/v1/courses/{ids.ela_course}/enrollments?per_page=100", headers=auth(me)
    ).get_json()
    assert {r["user_id"] for r in rows} == {me} and len(rows) == 2
    assert set(rows[0]["user"]) == {
        "id", "name", "created_at", "sortable_name", "short_name", "sis_user_id", "login_id"
    }  # fmt: skip


def test_outcome_results_pages_shift_when_rows_before_them_go(
    client: FlaskClient, ids: DemoIds, teacher: H, state: SandboxState
) -> None:
    """outcome_results pages by number (OutcomeResultsController#index -> Api.paginate with
    an offset), so rows removed before the next page shift it: rows are skipped, as in Canvas."""
    base = f"/api/v1/courses/{ids.ela_course}/outcome_results?per_page=50"
    first = client.get(base, headers=teacher)
    served = first.get_json()["outcome_results"]
    gone = int(served[0]["links"]["user"])
    removed = 0
    for r in list(state.results.values()):
        if r.user_id == gone and r.course_id == ids.ela_course:
            r.workflow_state = "deleted"
            removed += 1
    state.result_generation += 1  # as every write to results does
    nxt = _links(first.headers["Link"])["next"].removeprefix(BASE)
    assert "page=2" in nxt
    second = client.get(nxt, headers=teacher).get_json()["outcome_results"]
    remaining = [
        r["id"]
        for r in client.get(
            base.replace("per_page=50", "per_page=100"), headers=teacher
        ).get_json()["outcome_results"]
    ]
    assert [r["id"] for r in second] == remaining[50:100]  # offset 50 of what is left
    served_ids = {r["id"] for r in served}
    skipped = [i for i in remaining[:50] if i is not None and i not in served_ids]
    assert removed and skipped  # rows never served on any page


def test_reset_keeps_other_modules_tables_and_runs_hooks(
    sandbox: Flask, client: FlaskClient, state: SandboxState
) -> None:
    state.table("someone_elses")["k"] = "v"
    seen: list[SandboxState] = []
    sandbox.extensions["sandbox_runtime"].on_reset.append(seen.append)
    state.users.clear()
    client.post("/_sandbox/reset")
    assert state.table("someone_elses") == {"k": "v"}
    assert seen == [state] and state.users
