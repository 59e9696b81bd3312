"""The client against the real canvas_sandbox over loopback HTTP (werkzeug in a thread).

Reads the seeded ELA course end to end and checks every list against the sandbox's state; then
the same under 5xx faults and throttling, and the OAuth2 path (code exchange, expiry → one
refresh, revocation → reconnect) against the sandbox's token endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.serving import make_server

import canvas_sandbox.app as sandbox_app
import canvas_sandbox.config as sandbox_config
import canvas_sandbox.grading_periods as sandbox_periods
import canvas_sandbox.results as sandbox_results
import canvas_sandbox.roster as sandbox_roster
import canvas_sandbox.seed as sandbox_seed
import canvas_sandbox.state as sandbox_state
import canvas_sandbox.tokens as sandbox_tokens
from lti_app.canvas.client import (
    CanvasClient,
    OAuth2TokenSource,
    StaticToken,
    StoredToken,
    exchange_code,
    revoke,
)
from lti_app.canvas.client.errors import ReconnectRequired
from lti_app.canvas.client.types import (
    CriterionSpec,
    RatingSpec,
    dedupe_rollups,
)
from tests.sandbox_results import canvas_result_id


@dataclass
class Sandbox:
    base_url: str
    state: Any
    ids: Any
    config: Any


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    holder: dict[str, Any] = {}

    def wsgi(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    state = sandbox_state.SandboxState()
    ids = sandbox_seed.demo_district(state)
    config = sandbox_config.SandboxConfig(base_url=base_url)
    try:
        holder["app"] = sandbox_app.create_sandbox(config, state)
    except ImportError as exc:  # S1's REST modules still landing
        server.server_close()
        pytest.skip(f"canvas_sandbox is incomplete: {exc}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Sandbox(base_url, state, ids, config)
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def knobs(sandbox: Sandbox) -> Iterator[Any]:
    """The sandbox config, restored after the test."""
    before = sandbox.config.as_dict()
    yield sandbox.config
    sandbox.config.update(before)


def teacher_client(sandbox: Sandbox, **kwargs: Any) -> CanvasClient:
    token = sandbox_tokens.mint_token(sandbox.state, sandbox.ids.teacher)
    options: dict[str, Any] = {"backoff_base": 0.01, "backoff_cap": 0.2, "read_timeout": 10.0}
    options.update(kwargs)
    return CanvasClient(sandbox.base_url, StaticToken(token), **options)


def expected_result_ids(sandbox: Sandbox, *, include_hidden: bool) -> set[str]:
    rows = sandbox_results.course_results(
        sandbox.state, sandbox.ids.ela_course, include_hidden=include_hidden
    )
    return {canvas_result_id(r) for r in rows}


def read_everything(client: CanvasClient, course: str) -> dict[str, Any]:
    return {
        "links": sorted(link.outcome.id for link in client.outcome_links(course)),
        "groups": sorted(g.id for g in client.outcome_groups(course)),
        "scale": client.course_proficiency(course),
        "sections": sorted(s.id for s in client.sections(course)),
        "students": sorted({e.user_id for e in client.student_enrollments(course)}),
        "results": sorted(r.id for r in client.outcome_results(course)),
    }


def test_reads_the_seeded_course_completely(sandbox: Sandbox) -> None:
    ids = sandbox.ids
    course = str(ids.ela_course)
    client = teacher_client(sandbox)
    assert client.users_self().id == str(ids.teacher)
    assert client.course(course)["course_code"] == "ELA7-P2"
    data = read_everything(client, course)
    assert data["links"] == sorted(str(i) for i in ids.ela_outcomes.values())
    assert data["scale"] is not None and data["scale"].mastery_points == 3.0
    assert data["sections"] == sorted(str(s) for s in ids.ela_sections)
    assert data["students"] == sorted(str(s) for s in ids.students)
    # The parent's two links, each naming its student (docs/canvas.md §7.10).
    observers = client.observer_enrollments(course)
    assert sorted((e.user_id, e.associated_user_id) for e in observers) == sorted(
        (str(ids.parent), str(c)) for c in ids.parent_children
    )
    assert set(data["results"]) == expected_result_ids(sandbox, include_hidden=False)
    assert len(data["results"]) > 100  # more than one page at per_page=100

    with_hidden = {r.id for r in client.outcome_results(course, include_hidden=True)}
    assert with_hidden == expected_result_ids(sandbox, include_hidden=True)
    assert len(with_hidden) > len(data["results"])

    rollups = client.outcome_rollups(course)
    assert len(rollups) == len(ids.students) + 1  # the two-section student appears twice
    assert len(dedupe_rollups(rollups)) == len(ids.students)

    assignments = {a.id: a for a in client.assignments(course)}
    first = client.assignment(course, str(ids.ela_assignments[0]))
    assert first.id in assignments
    assert any(c.learning_outcome_id for c in first.rubric)
    assert client.stats.throttled == 0 and client.stats.retries == 0


def test_same_data_under_server_errors(sandbox: Sandbox, knobs: Any) -> None:
    course = str(sandbox.ids.ela_course)
    clean = read_everything(teacher_client(sandbox), course)
    knobs.update({"error_rate": 0.3, "fault_seed": 3})
    client = teacher_client(sandbox, max_attempts=8)
    assert read_everything(client, course) == clean
    assert client.stats.retries > 0


# Each request leaves 40 units in a 120-unit bucket draining 1000 units/s: a client that
# does not pace fills it within three back-to-back requests.
BUSY_BUCKET = {
    "bucket_high_water": 120.0,
    "bucket_outflow": 1000.0,
    "request_cost": 40.0,
    "row_cost": 0.0,
    "throttle_status": 403,
}


def test_throttled_reads_are_retried_to_the_same_data(sandbox: Sandbox, knobs: Any) -> None:
    course = str(sandbox.ids.ela_course)
    clean = read_everything(teacher_client(sandbox), course)
    # Every request overfills the bucket (cost 200 > high water 120) and 80 units must drain
    # (0.4 s) before the next one is let in: an unpaced reader is throttled on every page.
    knobs.update(
        {
            "bucket_high_water": 120.0,
            "bucket_outflow": 200.0,
            "request_cost": 200.0,
            "row_cost": 0.0,
            "throttle_status": 403,
        }
    )
    unpaced = teacher_client(
        sandbox, max_attempts=12, pace_below=0.0, jitter=lambda low, high: high
    )
    assert sorted(s.id for s in unpaced.sections(course)) == clean["sections"]
    assert sorted(link.outcome.id for link in unpaced.outcome_links(course)) == clean["links"]
    assert unpaced.course_proficiency(course) == clean["scale"]
    assert unpaced.stats.throttled >= 2
    knobs.update(BUSY_BUCKET)

    # three readers sharing one token (one bucket), paced as in production
    shared = teacher_client(sandbox, max_attempts=30, pace_below=60.0, leak_per_second=1000.0)
    outcomes: list[object] = []

    def reader() -> None:
        try:
            outcomes.append(read_everything(shared, course))
        except Exception as exc:  # reported by the assertion below
            outcomes.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes == [clean, clean, clean]


def test_pacing_by_remaining_avoids_throttling(sandbox: Sandbox, knobs: Any) -> None:
    course = str(sandbox.ids.ela_course)
    knobs.update(BUSY_BUCKET)
    # pace while fewer than 60 units remain, knowing the bucket drains 1000 units/s
    client = teacher_client(sandbox, pace_below=60.0, leak_per_second=1000.0)
    read_everything(client, course)
    assert client.stats.throttled == 0
    assert client.stats.requests > 10


class MemoryStore:
    def __init__(self, token: StoredToken) -> None:
        self.token: StoredToken | None = token
        self.saves = 0

    def load(self) -> StoredToken | None:
        return self.token

    def save(self, token: StoredToken) -> None:
        self.saves += 1
        self.token = token


def test_oauth_code_exchange_refresh_and_revocation(sandbox: Sandbox) -> None:
    ids, state, config = sandbox.ids, sandbox.state, sandbox.config
    code = sandbox_tokens.issue_code(
        state, ids.api_client_id, ids.teacher, config.api_redirect_uri, []
    )
    token = exchange_code(
        sandbox.base_url,
        ids.api_client_id,
        ids.api_client_secret,
        config.api_redirect_uri,
        code,
        timeout=(3.05, 10.0),
    )
    assert token.canvas_user_id == str(ids.teacher) and token.refresh_token
    store = MemoryStore(token)
    tokens = OAuth2TokenSource(
        canvas_url=sandbox.base_url,
        client_id=ids.api_client_id,
        client_secret=ids.api_client_secret,
        store=store,
    )
    client = CanvasClient(sandbox.base_url, tokens, backoff_base=0.01)
    assert client.users_self().id == str(ids.teacher)

    # Canvas expires the token early (clock skew, admin action): 401 → one refresh → retry
    record = state.access_tokens[sandbox_tokens.token_hash(token.access_token)]
    record.expires_at = state.now() - timedelta(seconds=1)
    assert client.users_self().id == str(ids.teacher)
    assert client.stats.refreshes == 1 and tokens.refresh_count == 1
    assert store.token is not None and store.token.access_token != token.access_token
    assert store.token.refresh_token == token.refresh_token  # Canvas sends no new one

    # revoked at Canvas: the refresh token dies with it → the user must reconnect
    revoke(sandbox.base_url, store.token.access_token)
    with pytest.raises(ReconnectRequired):
        client.users_self()


def test_root_outcome_group_redirect_is_followed(sandbox: Sandbox) -> None:
    client = teacher_client(sandbox)
    root = client.root_outcome_group(str(sandbox.ids.ela_course))
    assert root.parent_id is None
    assert client.stats.requests == 2  # the 302 and its same-origin target


def test_write_back_path_creates_readable_outcome_results(sandbox: Sandbox) -> None:
    """Carrier assignment → outcome-linked rubric → single and bulk assessment → results."""
    ids = sandbox.ids
    course = str(ids.ela_course)
    outcome_id = str(next(iter(ids.ela_outcomes.values())))
    first, second = (str(s) for s in ids.students[:2])
    client = teacher_client(sandbox)
    scale = client.course_proficiency(course)
    assert scale is not None

    carrier = client.create_assignment(course, "District mastery: client test")
    assert carrier.published and carrier.omit_from_final_grade
    criteria = [
        CriterionSpec(
            "Main idea",
            [RatingSpec(r.points, r.description) for r in scale.ratings],
            learning_outcome_id=outcome_id,
            mastery_points=scale.mastery_points,
        )
    ]
    rubric = client.create_rubric(course, carrier.id, "District mastery", criteria)
    (criterion,) = rubric.criteria
    assert criterion.learning_outcome_id == outcome_id and criterion.points == 4.0
    assert rubric.association_id is not None

    updated = client.update_rubric(
        course, rubric.rubric_id, rubric.association_id, carrier.id, "District mastery", criteria
    )
    assert updated.rubric_id == rubric.rubric_id  # used in one place: updated in place

    submission = client.assess_submission(
        course, carrier.id, first, {criterion.id: {"points": 3, "comments": "Evidence A"}}
    )
    # SubmissionsApiController#update does not echo the assessment; a GET with
    # include[]=rubric_assessment shows it.
    assert submission.rubric_assessment is None
    read_back = client.submission(course, carrier.id, first)
    assert read_back.rubric_assessment is not None
    assert read_back.rubric_assessment[criterion.id]["points"] == 3.0

    progress = client.update_grades(
        course, carrier.id, {second: {"rubric_assessment": {criterion.id: {"points": 2}}}}
    )
    assert client.wait_for_progress(progress, max_wait=10.0).workflow_state == "completed"

    # Canvas writes the results in a job after the assessment: read until both are there
    # (bounded in reads and time).
    written: dict[str, Any] = {}
    deadline = time.monotonic() + 10
    for _ in range(50):
        written = {
            r.user_id: r
            for r in client.outcome_results(course, user_ids=[first, second])
            if r.assignment_id == int(carrier.id)
        }
        if len(written) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {u: (r.outcome_id, r.score, r.mastery) for u, r in written.items()} == {
        first: (outcome_id, 3.0, True),
        second: (outcome_id, 2.0, False),
    }


def test_grading_periods_wrapped_pages_followed_to_the_end(sandbox: Sandbox) -> None:
    """GradingPeriodsController#index: pages are objects ({"grading_periods": [...]}) linked
    by Link headers; the client reads every page, in start-date order."""
    ids = sandbox.ids
    client = teacher_client(sandbox)
    q1, q2 = client.grading_periods(str(ids.ela_course))
    assert [q1.id, q2.id] == [str(i) for i in ids.grading_periods[ids.ela_course]]
    assert (q1.title, q2.title) == ("Quarter 1", "Quarter 2")
    assert q1.end_date < q2.start_date and q2.is_last and not q1.is_last

    # 105 periods: two pages at per_page=100, read whole (an admin reads any course)
    course = sandbox_roster.add_course(sandbox.state, ids.account, "Long year", "LONG-1")
    start = sandbox_seed.TERM_START
    for week in reversed(range(105)):  # created out of order: Canvas sorts by start date
        at = start + timedelta(weeks=week)
        sandbox_periods.add_grading_period(
            sandbox.state, course.id, f"Week {week + 1}", at, at + timedelta(days=6)
        )
    admin = CanvasClient(
        sandbox.base_url, StaticToken(sandbox_tokens.mint_token(sandbox.state, ids.admin))
    )
    periods = admin.grading_periods(str(course.id))
    assert [p.title for p in periods] == [f"Week {n}" for n in range(1, 106)]
    assert admin.stats.snapshot()["requests"] == 2
