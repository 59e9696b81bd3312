"""The sandbox over real loopback HTTP: a werkzeug server thread, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.tokens import mint_token


@pytest.fixture
def served() -> Iterator[tuple[str, SandboxState, DemoIds]]:
    config = SandboxConfig(base_url="http://127.0.0.1:0")
    app = create_sandbox(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    config.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield config.base_url, app.extensions["sandbox_state"], app.extensions["sandbox_ids"]
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_sync_like_walk_over_http(served: tuple[str, SandboxState, DemoIds]) -> None:
    base, state, ids = served
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {mint_token(state, ids.teacher)}"
    # the 302 is followed on the same host and the Authorization header survives
    root = session.get(f"{base}/api/v1/courses/{ids.ela_course}/root_outcome_group", timeout=5)
    assert root.status_code == 200 and root.json()["context_type"] == "Course"
    assert root.history and root.history[0].status_code == 302
    url: str | None = f"{base}/api/v1/courses/{ids.ela_course}/outcome_rollups?per_page=7"
    rollups: list[object] = []
    for _ in range(20):
        if url is None:
            break
        resp = session.get(url, timeout=5)
        assert resp.status_code == 200
        assert float(resp.headers["X-Rate-Limit-Remaining"]) > 0
        rollups.extend(resp.json()["rollups"])
        url = resp.links.get("next", {}).get("url")
    assert len(rollups) == 31
    session.headers["Authorization"] = "Bearer nope"
    assert session.get(f"{base}/api/v1/users/self", timeout=5).status_code == 401


def test_cli_serve_and_reset(tmp_path: object) -> None:
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "SANDBOX_LATENCY_MS": "0"}
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed argv
        [sys.executable, "-m", "canvas_sandbox", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        knobs = None
        while time.monotonic() < deadline:
            try:
                knobs = requests.get(f"http://127.0.0.1:{port}/_sandbox/knobs", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert knobs is not None, "sandbox did not start"
        assert knobs["base_url"] == f"http://localhost:{port}"
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "canvas_sandbox", "reset", "--url", f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert '"reset": true' in out.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_parallel_requests_pay_the_upfront_reservation(
    served: tuple[str, SandboxState, DemoIds],
) -> None:
    base, state, ids = served
    token = mint_token(state, ids.teacher)
    # Configure the live server: small bucket, slow requests so reservations overlap.
    knobs = {"bucket_high_water": 120, "bucket_outflow": 0, "latency_ms": 300}
    assert requests.post(f"{base}/_sandbox/knobs", json=knobs, timeout=5).status_code == 200
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        resp = requests.get(
            f"{base}/api/v1/users/self", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        with lock:
            statuses.append(resp.status_code)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    # three 50-unit reservations fill a 120 bucket; the rest are refused while they work
    assert sorted(statuses) == [200, 200, 200, 403]
    stats = requests.get(f"{base}/_sandbox/stats", timeout=5).json()
    assert stats["throttled"] == 1


def test_out_of_process_helpers(served: tuple[str, SandboxState, DemoIds]) -> None:
    base, _state, ids = served
    demo = requests.get(f"{base}/_sandbox/ids", timeout=5).json()
    assert demo["teacher"] == ids.teacher and demo["ela_course"] == ids.ela_course
    token = requests.post(
        f"{base}/_sandbox/tokens", json={"user_id": ids.teacher}, timeout=5
    ).json()["access_token"]
    made = requests.post(
        f"{base}/_sandbox/generate",
        json={"students": 4, "outcomes": 3, "results_per_pair": 2, "seed": 5},
        timeout=30,
    ).json()
    assert len(made["students"]) == 4 and len(made["outcomes"]) == 3
    teacher = requests.post(
        f"{base}/_sandbox/tokens", json={"user_id": made["teacher"]}, timeout=5
    ).json()["access_token"]
    results = requests.get(
        f"{base}/api/v1/courses/{made['course']}/outcome_results?per_page=100",
        headers={"Authorization": f"Bearer {teacher}"},
        timeout=5,
    ).json()["outcome_results"]
    assert len(results) == 4 * 3 * 2
    # Ms. Rivera is not in the synthetic course
    denied = requests.get(
        f"{base}/api/v1/courses/{made['course']}/outcome_results",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert denied.status_code == 401
    bad = requests.post(f"{base}/_sandbox/generate", json={"students": 0}, timeout=5)
    assert bad.status_code == 400
