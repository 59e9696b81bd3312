"""The chokepoint: timeouts, retries, throttling, pacing, refresh-once, typed errors, logs."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest
import requests
import responses

from canvas_sandbox import serializers as ser
from lti_app.canvas.client import CanvasClient, StaticToken
from lti_app.canvas.client.errors import (
    BadPayload,
    CanvasError,
    CanvasUnavailable,
    NotFound,
    PermissionDenied,
    ReconnectRequired,
    Throttled,
    TokenInvalid,
    ValidationFailed,
)
from lti_app.canvas.client.types import parse_progress
from tests.canvas import payloads
from tests.canvas.conftest import BASE, TOKEN, FakeClock, MakeClient, auth_of
from tests.http_calls import send_kwargs

SECTIONS = f"{BASE}/api/v1/courses/12/sections"
SECTION = payloads.section(45, "Period 2")
THROTTLE_BODY = "403 Forbidden (Rate Limit Exceeded)\n"
WWW_AUTH = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}
SUBMIT = f"{BASE}/api/v1/courses/12/assignments/53/submissions/update_grades"
PROGRESS = payloads.progress(1)
GRADE_DATA = {"812": {"rubric_assessment": {"_1234": {"points": 3}}}}


def throttled_403(canvas: responses.RequestsMock, url: str = SECTIONS) -> None:
    canvas.get(
        url,
        body=THROTTLE_BODY,
        status=403,
        content_type="text/plain; charset=utf-8",
        headers={"X-Rate-Limit-Remaining": "0.0"},
    )


def test_every_call_has_connect_and_read_timeouts(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, json=[SECTION])
    canvas.post(SUBMIT, json=PROGRESS)
    client = make_client(connect_timeout=2.0, read_timeout=9.0)
    client.sections("12")
    client.update_grades("12", "53", GRADE_DATA)
    assert len(canvas.calls) == 2
    for call in canvas.calls:
        assert send_kwargs(call.request)["timeout"] == (2.0, 9.0)


def test_gets_are_retried_on_5xx_with_exponential_backoff(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(SECTIONS, status=502)
    canvas.get(SECTIONS, status=503)
    canvas.get(SECTIONS, status=500)
    canvas.get(SECTIONS, json=[SECTION])
    client = make_client(backoff_base=0.5)
    assert [s.id for s in client.sections("12")] == ["45"]
    assert clock.sleeps == [0.5, 1.0, 2.0]  # jitter fixture returns the ceiling
    assert client.stats.snapshot() == {"requests": 4, "retries": 3, "throttled": 0, "refreshes": 0}


def test_full_jitter_draws_between_zero_and_the_capped_ceiling(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    for _ in range(5):
        canvas.get(SECTIONS, status=503)
    canvas.get(SECTIONS, json=[SECTION])
    ranges: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        ranges.append((low, high))
        return 0.0

    client = make_client(jitter=jitter, backoff_base=1.0, backoff_cap=5.0, max_attempts=6)
    client.sections("12")
    assert ranges == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 5.0), (0.0, 5.0)]


def test_retries_are_bounded_by_attempts(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, status=503)
    client = make_client(max_attempts=4)
    with pytest.raises(CanvasUnavailable) as caught:
        client.sections("12")
    assert caught.value.status == 503
    assert len(canvas.calls) == 4


def test_retries_stop_at_the_deadline(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(SECTIONS, status=503)
    client = make_client(max_attempts=50, backoff_base=4.0, backoff_cap=30.0, deadline_seconds=50)
    with pytest.raises(CanvasUnavailable):
        client.sections("12")
    # 4 + 8 + 16 = 28 s slept; the next 30 s pause would pass the 50 s deadline
    assert clock.sleeps == [4.0, 8.0, 16.0]
    assert len(canvas.calls) == 4


def test_read_timeouts_are_retried_for_gets(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, body=requests.ReadTimeout("slow"))
    canvas.get(SECTIONS, body=requests.ConnectionError("reset"))
    canvas.get(SECTIONS, json=[SECTION])
    client = make_client()
    assert len(client.sections("12")) == 1
    assert client.stats.retries == 2


def test_timeouts_surface_as_canvas_unavailable(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, body=requests.ReadTimeout("slow"))
    with pytest.raises(CanvasUnavailable, match="ReadTimeout"):
        make_client(max_attempts=2).sections("12")
    assert len(canvas.calls) == 2


def test_post_is_not_retried_on_5xx_or_read_timeout(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.post(SUBMIT, status=502)
    client = make_client()
    with pytest.raises(CanvasUnavailable):
        client.update_grades("12", "53", GRADE_DATA)
    assert len(canvas.calls) == 1

    canvas.replace(responses.POST, SUBMIT, body=requests.ReadTimeout("slow"))
    with pytest.raises(CanvasUnavailable):
        client.update_grades("12", "53", GRADE_DATA)
    assert len(canvas.calls) == 2  # the request may have run at Canvas: never resent


def test_post_is_retried_after_a_connect_timeout(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    # a connect timeout never reached Canvas, so resending cannot duplicate the write
    canvas.post(SUBMIT, body=requests.ConnectTimeout("no route"))
    canvas.post(SUBMIT, json=PROGRESS)
    progress = make_client().update_grades("12", "53", GRADE_DATA)
    assert progress.id == "1"
    assert len(canvas.calls) == 2


def test_put_is_retried_because_it_is_idempotent(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    url = f"{BASE}/api/v1/courses/12/assignments/53/submissions/812"
    canvas.put(url, status=504)
    canvas.put(url, json=payloads.submission(812, 53, {"_1234": 3.0}))
    submission = make_client().assess_submission("12", "53", "812", {"_1234": {"points": 3}})
    assert submission.rubric_assessment == {
        "_1234": {"points": 3.0, "rating_id": "r_1234", "comments": ""}
    }
    assert len(canvas.calls) == 2
    assert canvas.calls[1].request.body == "rubric_assessment%5B_1234%5D%5Bpoints%5D=3"


TOO_LONG = ser.validation_error_json("title", "too long")


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, ser.error_json("invalid include: foo"), ValidationFailed, None),
        (400, {"message": "invalid rubric_assessment"}, ValidationFailed, None),
        (400, "'grade_data' parameter required", ValidationFailed, None),
        (422, TOO_LONG, ValidationFailed, "title: too long"),
        (404, ser.not_found_json(), NotFound, None),
        (409, {"error": "conflict"}, ValidationFailed, "conflict"),
    ],
)
def test_client_errors_are_typed_and_not_retried(
    canvas: responses.RequestsMock,
    make_client: MakeClient,
    status: int,
    body: Any,
    error: type[CanvasError],
    message: str | None,
) -> None:
    canvas.get(SECTIONS, status=status, json=body)
    with pytest.raises(error) as caught:
        make_client().sections("12")
    assert caught.value.status == status
    assert len(canvas.calls) == 1
    expected = message or (
        body if isinstance(body, str) else body.get("message") or body["errors"][0]["message"]
    )
    assert caught.value.message == expected


# --- throttling --------------------------------------------------------------------------


def test_403_rate_limit_body_is_throttling_and_retried(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    throttled_403(canvas)
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "580.5"})
    client = make_client()
    assert len(client.sections("12")) == 1
    assert client.stats.throttled == 1
    assert client.stats.retries == 1


def test_429_is_throttling_too(canvas: responses.RequestsMock, make_client: MakeClient) -> None:
    canvas.get(SECTIONS, status=429, body="429 Too Many Requests")
    canvas.get(SECTIONS, json=[SECTION])
    client = make_client()
    assert len(client.sections("12")) == 1
    assert client.stats.throttled == 1


def test_throttled_posts_are_retried_because_they_did_not_run(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.post(SUBMIT, status=429, body="")
    canvas.post(SUBMIT, json=PROGRESS)
    assert make_client().update_grades("12", "53", GRADE_DATA).workflow_state == "queued"
    assert len(canvas.calls) == 2


def test_403_with_json_body_is_a_permission_error_not_throttling(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    # even if the text mentions the rate limit: JSON 403s are Canvas permission answers
    canvas.get(
        SECTIONS,
        status=403,
        json=ser.error_json("user not authorized (Rate Limit Exceeded wording)"),
    )
    client = make_client()
    with pytest.raises(PermissionDenied):
        client.sections("12")
    assert len(canvas.calls) == 1
    assert client.stats.throttled == 0


def test_persistent_throttling_raises_throttled_after_bounded_attempts(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    throttled_403(canvas)
    client = make_client(max_attempts=3)
    with pytest.raises(Throttled):
        client.sections("12")
    assert len(canvas.calls) == 3
    assert client.stats.throttled == 3
    # X-Rate-Limit-Remaining 0 → wait at least until one reservation (50 units) drained
    assert clock.sleeps == [5.0, 5.0]


def test_low_remaining_paces_the_next_request_in_proportion(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    low = {"X-Rate-Limit-Remaining": "20.0", "X-Request-Cost": "10.5"}
    canvas.get(SECTIONS, json=[SECTION], headers=low)
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "400"})
    client = make_client()
    client.sections("12")
    assert clock.sleeps == []
    client.sections("12")
    # one request at a time needs one reservation (50) + the last cost (10.5) of headroom:
    # (60.5 - 20) units / 10 units per second
    assert clock.sleeps == [4.05]
    client.sections("12")
    assert clock.sleeps == [4.05]  # healthy again: no pause


def test_pacing_counts_the_reservations_of_requests_in_flight(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "100"})
    client = make_client()
    client.sections("12")
    assert clock.sleeps == []  # 100 left is plenty for a lone request
    client._lane.in_flight = 2  # two other threads' requests hold 50 units each
    try:
        client.sections("12")
    finally:
        client._lane.in_flight = 0
    assert clock.sleeps == [5.0]  # capped at 150: (150 - 100) / 10


def test_pacing_counts_the_requests_asleep_in_pacing(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    # Requests asleep in the pacer wake together and start together: room for all of them.
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "100"})
    client = make_client()
    client.sections("12")
    client._lane.waiting = 2
    try:
        client.sections("12")
    finally:
        client._lane.waiting = 0
    assert clock.sleeps == [5.0]  # (150 - 100) / 10, not 0 as a lone request would


def test_remaining_drains_while_time_passes(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "10"})
    client = make_client()
    client.sections("12")
    clock.now += 3.0  # 30 units leaked since the answer
    client.sections("12")
    assert clock.sleeps == [1.0]  # (50 - 10 - 30) / 10


def test_pacing_is_shared_by_clients_of_one_token(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    tokens = StaticToken(TOKEN)
    canvas.get(SECTIONS, json=[SECTION], headers={"X-Rate-Limit-Remaining": "30"})
    make_client(tokens).sections("12")
    make_client(tokens).sections("12")
    assert clock.sleeps == [2.0]
    make_client(StaticToken("another")).sections("12")  # another bucket at Canvas
    assert clock.sleeps == [2.0]


def test_concurrency_per_token_source_is_bounded() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    class HeldSession(requests.Session):
        """Holds every request until the test has seen how many got in at once."""

        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            release.wait(10)
            with lock:
                in_flight -= 1
            response = requests.Response()
            response.status_code = 200
            response._content = b"[]"
            response.url = args[1]
            return response

    tokens = StaticToken(TOKEN)
    clients = [CanvasClient(BASE, tokens, session=HeldSession(), max_concurrency=3) for _ in (1, 2)]
    threads = [threading.Thread(target=clients[i % 2].sections, args=("12",)) for i in range(12)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while peak < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # give a fourth request the chance to slip through if it could
    assert peak == 3
    release.set()
    for t in threads:
        t.join(10)
    assert peak == 3  # 12 threads over two clients, one token: never more than 3 at Canvas
    assert sum(c.stats.requests for c in clients) == 12


# --- 401 handling ------------------------------------------------------------------------


class CountingRefresh:
    origin = None

    def __init__(self) -> None:
        self.token = "old-token"
        self.rejected: list[str] = []

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected: str) -> str:
        self.rejected.append(rejected)
        self.token = "new-token"
        return self.token


def test_401_with_www_authenticate_refreshes_once_and_retries(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        status=401,
        headers=WWW_AUTH,
        json=payloads.expired_token(),
    )
    canvas.get(SECTIONS, json=[SECTION])
    tokens = CountingRefresh()
    client = make_client(tokens)
    assert len(client.sections("12")) == 1
    assert tokens.rejected == ["old-token"]
    assert [auth_of(c) for c in canvas.calls] == ["Bearer old-token", "Bearer new-token"]
    assert client.stats.refreshes == 1


def test_second_401_after_refresh_is_token_invalid(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        status=401,
        headers=WWW_AUTH,
        json=payloads.revoked_token(),
    )
    tokens = CountingRefresh()
    with pytest.raises(TokenInvalid) as caught:
        make_client(tokens).sections("12")
    assert caught.value.reason == "revoked"
    assert len(canvas.calls) == 2
    assert len(tokens.rejected) == 1


def test_static_token_rejected_means_reconnect(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        status=401,
        headers=WWW_AUTH,
        json=payloads.invalid_token(),
    )
    with pytest.raises(ReconnectRequired):
        make_client().sections("12")
    assert len(canvas.calls) == 1


def test_401_without_www_authenticate_is_permission_denied_without_refresh(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        SECTIONS,
        status=401,
        json=payloads.unauthorized(),
    )
    tokens = CountingRefresh()
    with pytest.raises(PermissionDenied) as caught:
        make_client(tokens).sections("12")
    assert caught.value.message == "user not authorized to perform that action"
    assert caught.value.hint == "the course permission to see the roster"
    assert tokens.rejected == []
    assert len(canvas.calls) == 1


def test_insufficient_scopes_names_the_scope(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        f"{BASE}/api/v1/courses/12/outcome_results",
        status=401,
        json=ser.error_json("Insufficient scopes on access token."),
    )
    with pytest.raises(PermissionDenied) as caught:
        list(make_client().outcome_results("12"))
    assert caught.value.hint == "url:GET|/api/v1/courses/:course_id/outcome_results"


def test_forbidden_results_name_the_permission(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(
        f"{BASE}/api/v1/courses/12/outcome_results",
        status=403,
        json=ser.error_json("users not specified and no access to all grades"),
    )
    with pytest.raises(PermissionDenied) as caught:
        list(make_client().outcome_results("12"))
    assert caught.value.status == 403
    assert caught.value.message == "users not specified and no access to all grades"
    assert caught.value.hint is not None and "view_all_grades" in caught.value.hint


# --- logs --------------------------------------------------------------------------------


def test_logs_carry_method_path_status_attempt_but_no_token_or_query(
    canvas: responses.RequestsMock, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    canvas.get(SECTIONS, status=503)
    canvas.get(SECTIONS, body=requests.ReadTimeout("slow"))
    canvas.get(SECTIONS, json=[SECTION])
    caplog.set_level(logging.DEBUG, logger="lti_app.canvas.client")
    make_client().sections("12")
    text = caplog.text
    assert "method=GET path=/api/v1/courses/12/sections status=503" in text
    assert "status=ReadTimeout" in text
    assert "status=200" in text and "attempt=3" in text
    assert TOKEN not in text
    assert "per_page" not in text and "?" not in text


def test_error_messages_never_contain_the_token(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, body=requests.ConnectionError(f"failed with Bearer {TOKEN}"))
    with pytest.raises(CanvasUnavailable) as caught:
        make_client(max_attempts=1).sections("12")
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_retry_after_is_honoured_when_a_proxy_sends_it(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(SECTIONS, status=429, body="", headers={"Retry-After": "7"})
    canvas.get(SECTIONS, json=[SECTION])
    make_client(jitter=lambda low, high: 0.0).sections("12")
    assert clock.sleeps == [7.0]


def test_progress_is_polled_with_backoff_until_done(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    url = f"{BASE}/api/v1/progress/1"
    canvas.get(url, json={**PROGRESS, "workflow_state": "running", "completion": 50})
    canvas.get(url, json={**PROGRESS, "workflow_state": "running", "completion": 90})
    canvas.get(url, json={**PROGRESS, "workflow_state": "completed", "completion": 100})
    done = make_client().wait_for_progress(parse_progress(PROGRESS))
    assert done.workflow_state == "completed"
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_progress_polling_is_bounded_in_time(
    canvas: responses.RequestsMock, make_client: MakeClient, clock: FakeClock
) -> None:
    canvas.get(f"{BASE}/api/v1/progress/1", json={**PROGRESS, "workflow_state": "running"})
    last = make_client().wait_for_progress(parse_progress(PROGRESS), max_wait=10.0)
    assert last.workflow_state == "running"
    assert sum(clock.sleeps) == 10.0
    assert len(canvas.calls) == 4  # after 1, 2, 4 and the remaining 3 seconds


def test_json_hijacking_guard_is_stripped_and_non_json_is_bad_payload(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    canvas.get(SECTIONS, body="while(1);" + json.dumps([SECTION]))
    assert [s.id for s in make_client().sections("12")] == ["45"]
    canvas.replace(responses.GET, SECTIONS, body="<html>maintenance</html>")
    with pytest.raises(BadPayload):
        make_client().sections("12")


def test_missing_course_scale_is_none_but_other_404s_raise(
    canvas: responses.RequestsMock, make_client: MakeClient
) -> None:
    # account_level_mastery_scales off and no scale defined: Canvas answers 404
    # (docs/canvas.md §6.6)
    canvas.get(
        f"{BASE}/api/v1/courses/12/outcome_proficiency",
        status=404,
        json={"message": "No proficiency ratings found"},
    )
    canvas.get(f"{BASE}/api/v1/courses/13/outcome_proficiency", json=ser.proficiency_json([]))
    canvas.get(SECTIONS, status=404, json=ser.not_found_json())
    client = make_client()
    assert client.course_proficiency("12") is None
    with pytest.raises(BadPayload):  # a scale without ratings is garbage, not "no scale"
        client.course_proficiency("13")
    with pytest.raises(NotFound):
        client.sections("12")
