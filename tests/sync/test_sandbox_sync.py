"""Course sync end to end against the Canvas sandbox over loopback HTTP: the CLI exactly as
the issue names it, counts equal to the sandbox's own, idempotent and incremental re-syncs,
and the faults Canvas really has (5xx bursts, timeouts, throttling mid-pagination, a token
expiring mid-sync, a student dropped between pages)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.canvas import connection
from lti_app.canvas.client.tokens import exchange_code
from lti_app.db import session_scope
from lti_app.models.canvas import (
    CanvasApiToken,
    CanvasCourse,
    CourseOutcome,
    CourseOutcomeResult,
    CourseSection,
    CourseStudent,
    SyncRun,
)
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.sync.background import start_user_sync
from lti_app.tasks.runner import runner
from tests.conftest import make_app
from tests.sandbox_results import canvas_result_id
from tests.sync.sandbox_server import RunningSandbox, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as sb:
        yield sb


def _make(url: str, tmp_path: Path) -> Iterator[Flask]:
    # Short timeouts so injected stalls cost little; retries do the rest.
    app = make_app(url, tmp_path, http_read_timeout=0.5, http_connect_timeout=0.5)
    yield app
    jobs = app.extensions.get("mp_jobs")
    if jobs is not None:
        jobs.shutdown(wait=True)
    app.extensions["db_engine"].dispose()


@pytest.fixture
def app(backend_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _make(backend_url, tmp_path)


@pytest.fixture
def fault_app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Fault tests exercise the client and the sync's all-or-nothing apply, which the
    backend-parametrised tests above already cover on both databases: SQLite keeps them fast."""
    yield from _make(sqlite_url, tmp_path)


def cli_sync(app: Flask, sb: RunningSandbox, course: int, token: str) -> Any:
    return app.test_cli_runner().invoke(
        args=[
            "canvas",
            "sync",
            "--canvas-url",
            sb.url,
            "--token",
            token,
            "--course-id",
            str(course),
        ]
    )


def expected(sb: RunningSandbox, course: int) -> dict[str, Any]:
    """What Canvas (the sandbox's own state) says the course holds (hidden results included:
    the sync reads them, flagged, to count them)."""
    from canvas_sandbox.outcomes import course_outcome_ids
    from canvas_sandbox.results import course_results

    state = sb.state
    outcomes = {str(o) for o in course_outcome_ids(state, course)}
    students = {str(u.id) for u in state.students_of(course)}
    results = {
        canvas_result_id(r): (str(r.user_id), str(r.outcome_id), r.score)
        for r in course_results(state, course, include_hidden=True)
        if str(r.user_id) in students and str(r.outcome_id) in outcomes
    }
    sections = {str(s.id) for s in state.sections.values() if s.course_id == course}
    return {"outcomes": outcomes, "students": students, "sections": sections, "results": results}


def stored(app: Flask) -> dict[str, Any]:
    with session_scope(app) as db:
        return {
            "outcomes": set(db.scalars(select(CourseOutcome.canvas_outcome_id))),
            "students": set(db.scalars(select(CourseStudent.canvas_user_id))),
            "sections": set(db.scalars(select(CourseSection.canvas_section_id))),
            "results": {
                r.canvas_result_id: (r.canvas_user_id, r.canvas_outcome_id, r.score)
                for r in db.scalars(select(CourseOutcomeResult))
            },
        }


def test_cli_sync_of_the_seeded_ela_course_matches_the_sandbox(
    app: Flask, sandbox: RunningSandbox
) -> None:
    ids = sandbox.ids
    token = sandbox.token(ids.teacher)
    result = cli_sync(app, sandbox, ids.ela_course, token)
    assert result.exit_code == 0, result.output
    assert f"Registered Canvas instance {sandbox.url}" in result.output
    assert "[100%] Done" in result.output
    assert token not in result.output
    want = expected(sandbox, ids.ela_course)
    got = stored(app)
    assert got == want
    assert len(want["results"]) > 0 and len(want["outcomes"]) > 0
    counts = f"{len(want['outcomes'])} outcomes, {len(want['students'])} students"
    assert counts in result.output
    with session_scope(app) as db:
        platform = db.scalars(select(Platform)).one()
        assert platform.canvas_url == sandbox.url
        run = db.scalars(select(SyncRun)).one()
        assert run.status == "succeeded"
        # Every list read once at per_page=100 plus the roster re-check: no per-student loops.
        by_endpoint = sandbox.stats()["by_endpoint"]
        assert run.request_count == sandbox.stats()["total"], by_endpoint
        assert run.summary is not None
        read = run.summary["read"]
        quiz = [r for r in sandbox.state.results.values() if r.from_outcomes_service]
        assert (
            read["new_quizzes_results"]
            == len(
                [
                    r
                    for r in quiz
                    if r.course_id == ids.ela_course and str(r.user_id) in want["students"]
                ]
            )
            > 0
        )
        # Canvas's rollups were read and the tool reproduces every one of them.
        assert read["rollups_read"] is True and read["rollup_disagreements"] == 0
        assert read["scale_basis"] in ("rollups", "proficiency_answer", "outcome_scoring")

    # Second sync: nothing changes.
    again = cli_sync(app, sandbox, ids.ela_course, sandbox.token(ids.teacher))
    assert again.exit_code == 0, again.output
    assert (
        "outcomes +0 ~0 -0, sections +0 ~0 -0, students +0 ~0 -0, results +0 ~0 -0" in again.output
    )
    assert stored(app) == want


def test_resync_reflects_a_new_result_a_removed_link_and_a_dropped_student(
    app: Flask, sandbox: RunningSandbox
) -> None:
    ids = sandbox.ids
    course = ids.ela_course
    token = sandbox.token(ids.teacher)
    assert cli_sync(app, sandbox, course, token).exit_code == 0
    before = stored(app)
    state = sandbox.state
    from canvas_sandbox.results import course_results

    with state.lock:
        sample = course_results(state, course)[0]
        new = dataclasses.replace(
            sample,
            id=state.next_id("learning_outcome_result", 1),
            user_id=ids.no_results_student,
            score=1.0,
        )
        state.results[new.id] = new
        link = next(
            lk
            for lk in state.outcome_links.values()
            if lk.context_type == "Course"
            and lk.context_id == course
            and lk.outcome_id != sample.outcome_id
        )
        link.workflow_state = "deleted"
        dropped = next(
            e
            for e in state.enrollments.values()
            if e.course_id == course
            and e.type == "StudentEnrollment"
            and e.user_id != ids.no_results_student
        )
        for e in state.enrollments.values():  # every section they were in
            if e.course_id == course and e.user_id == dropped.user_id:
                e.workflow_state = "deleted"

    result = cli_sync(app, sandbox, course, token)
    assert result.exit_code == 0, result.output
    after = stored(app)
    assert after == expected(sandbox, course)
    assert str(new.id) in after["results"]
    assert (
        str(link.outcome_id) in before["outcomes"] and str(link.outcome_id) not in after["outcomes"]
    )
    assert str(dropped.user_id) not in after["students"]
    assert not any(u == str(dropped.user_id) for u, _, _ in after["results"].values())


# --- faults -------------------------------------------------------------------------------


def quick_client(app: Flask, sb: RunningSandbox, token: str, **kw: Any) -> Any:
    """A client with tiny backoffs (faults cost milliseconds) and the app's short timeouts."""
    from lti_app.canvas.client.tokens import StaticToken

    options: dict[str, Any] = {"backoff_base": 0.01, "backoff_cap": 0.05, **kw}
    with app.app_context():
        return connection.make_client(services(), sb.url, StaticToken(token), **options)


def sync_with(app: Flask, sb: RunningSandbox, course: int, make: Any) -> Any:
    from lti_app.sync import service
    from lti_app.sync.cli import platform_for

    with app.app_context():
        platform_id, _ = platform_for(sb.url)
    run_id, created = service.create_run(app, platform_id, str(course), "cli")
    assert created
    return service.execute(app, run_id, make)


def clean_then_faulty(
    app: Flask, sb: RunningSandbox, client_options: dict[str, Any] | None = None, **knobs: Any
) -> tuple[Any, dict[str, Any]]:
    ids = sb.ids
    token = sb.token(ids.teacher)
    assert sync_with(app, sb, ids.ela_course, lambda: quick_client(app, sb, token)).ok
    clean = stored(app)
    assert clean == expected(sb, ids.ela_course)
    # Make the next sync differ from the last one, so "complete" is observable.
    state = sb.state
    with state.lock:
        from canvas_sandbox.results import course_results

        first = course_results(state, ids.ela_course)[0]
        first.score = (first.score or 0.0) + 0.5
    saved = sb.config.as_dict()
    sb.knobs(**knobs)
    sb.runtime.stats.reset()
    outcome = sync_with(
        app, sb, ids.ela_course, lambda: quick_client(app, sb, token, **(client_options or {}))
    )
    sb.knobs(**{name: saved[name] for name in knobs})  # a healthy Canvas again
    sb.runtime.throttle.reset()
    if outcome.ok:
        # Complete and identical to a clean sync of the changed course.
        assert stored(app) == expected(sb, ids.ela_course)
    else:
        # Or failed cleanly: the previous complete data untouched, the reason recorded, and a
        # retry succeeds.
        assert stored(app) == clean
        assert outcome.error_code in ("canvas_unavailable", "throttled")
        retry = sync_with(app, sb, ids.ela_course, lambda: quick_client(app, sb, token))
        assert retry.ok
        assert stored(app) == expected(sb, ids.ela_course)
    return outcome, sb.stats()


def test_5xx_bursts(fault_app: Flask, sandbox: RunningSandbox) -> None:
    outcome, stats = clean_then_faulty(fault_app, sandbox, error_rate=0.3, fault_seed=3)
    assert stats["injected_errors"] > 0
    assert outcome.ok  # bounded retries ride out a 30% error rate


def test_timeouts(fault_app: Flask, sandbox: RunningSandbox) -> None:
    # Eight attempts: the results are read on several threads, so which request draws a stall
    # varies; with the default five, one request in ~1,000 draws five in a row (0.25^5), and
    # on a loaded machine a slow answer past the 0.5-s read timeout counts as one too.
    outcome, stats = clean_then_faulty(
        fault_app,
        sandbox,
        {"max_attempts": 8},
        timeout_rate=0.25,
        timeout_sleep_s=1.0,
        fault_seed=5,
    )
    assert stats["injected_timeouts"] > 0
    assert outcome.ok


THROTTLING = {
    # A page of 100 results costs ~51 units and the bucket holds 60: the next request within
    # half a second (the next page, another slice) is throttled.
    "row_cost": 0.5,
    "bucket_high_water": 60.0,
    "bucket_outflow": 100.0,
}
# The client's pacing off (pacing is what normally keeps a sync clear of throttling).
UNPACED = {"pace_below": 0.0, "backoff_base": 0.2, "backoff_cap": 1.0, "max_attempts": 8}


def test_throttling_mid_pagination(
    fault_app: Flask, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lti_app.sync import fetch

    monkeypatch.setattr(fetch, "MAX_SLICES", 1)  # one chain of pages
    outcome, stats = clean_then_faulty(fault_app, sandbox, client_options=UNPACED, **THROTTLING)
    assert stats["throttled"] > 0
    assert outcome.ok  # throttled mid-way, backed off, and finished complete


def test_throttling_of_concurrent_slices(fault_app: Flask, sandbox: RunningSandbox) -> None:
    # Three chains competing for a bucket that holds one page: each ends complete, or the sync
    # fails cleanly as "throttled" and the retry succeeds (clean_then_faulty checks both).
    outcome, stats = clean_then_faulty(fault_app, sandbox, client_options=UNPACED, **THROTTLING)
    assert stats["throttled"] > 0
    assert outcome.ok or outcome.error_code == "throttled"


def test_canvas_down_fails_cleanly_and_a_retry_succeeds(
    fault_app: Flask, sandbox: RunningSandbox
) -> None:
    outcome, _ = clean_then_faulty(fault_app, sandbox, error_rate=1.0)
    assert not outcome.ok and outcome.error_code == "canvas_unavailable"
    with session_scope(fault_app) as db:
        failed = db.scalars(select(SyncRun).where(SyncRun.status == "failed")).one()
        assert failed.error_message and "Try again later" in failed.error_message


def test_a_student_dropped_between_result_pages() -> None:
    state_box: dict[str, Any] = {}

    def prepare(sandbox_app: Any) -> None:
        from flask import request

        def drop_on_second_page() -> None:
            if not request.path.endswith("/outcome_results"):
                return
            state_box["pages"] = state_box.get("pages", 0) + 1
            if state_box["pages"] == 2 and "dropped" not in state_box:
                state = sandbox_app.extensions["sandbox_state"]
                course = sandbox_app.extensions["sandbox_ids"].ela_course
                with state.lock:
                    first = state.students_of(course)[0]  # sorts first: every later page shifts
                    for e in state.enrollments.values():
                        if e.course_id == course and e.user_id == first.id:
                            e.workflow_state = "deleted"
                state_box["dropped"] = str(first.id)

        sandbox_app.before_request(drop_on_second_page)

    with running_sandbox(prepare=prepare) as sb, _app() as app:
        ids = sb.ids
        token = sb.token(ids.teacher)
        outcome = sync_with(app, sb, ids.ela_course, lambda: quick_client(app, sb, token))
        assert "dropped" in state_box, "the course has fewer than two pages of results"
        assert outcome.ok, outcome.error_message
        assert stored(app) == expected(sb, ids.ela_course)
        assert state_box["dropped"] not in stored(app)["students"]
        assert state_box["pages"] > 2  # the results were read again


class _app:
    """An SQLite app for tests that build their own sandbox."""

    def __enter__(self) -> Flask:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        d = Path(self._dir.name)
        self.app = make_app(f"sqlite:///{d / 't.sqlite3'}", d, http_read_timeout=0.5)
        return self.app

    def __exit__(self, *exc: object) -> None:
        self.app.extensions["db_engine"].dispose()
        self._dir.cleanup()


def test_oauth_token_expiring_mid_sync_is_refreshed_once() -> None:
    """The stored token's expiry says an hour, but Canvas expires it after a few requests
    (revoked early, clock skew): the client refreshes once and the sync completes."""
    box: dict[str, Any] = {"api": 0}

    def prepare(sandbox_app: Any) -> None:
        from flask import request

        def expire_after_three() -> None:
            if (
                request.path == "/login/oauth2/token"
                and request.method == "POST"
                and request.form.get("grant_type") == "refresh_token"
            ):
                box["refreshes"] = box.get("refreshes", 0) + 1
            if request.path.startswith("/api/v1/"):
                box["api"] += 1
                if box["api"] == 4:
                    state = sandbox_app.extensions["sandbox_state"]
                    with state.lock:
                        for t in state.access_tokens.values():
                            if t.refresh_hash:
                                t.expires_at = state.now() - timedelta(seconds=1)

        sandbox_app.before_request(expire_after_three)

    with running_sandbox(prepare=prepare) as sb, _app() as app:
        from canvas_sandbox.tokens import issue_code

        ids = sb.ids
        redirect = sb.config.api_redirect_uri
        code = issue_code(sb.state, ids.api_client_id, ids.teacher, redirect, [])
        token = exchange_code(sb.url, ids.api_client_id, ids.api_client_secret, redirect, code)
        with app.app_context(), session_scope(app) as db:
            platform = db.scalars(select(Platform)).first()
            if platform is None:
                from lti_app.sync.cli import platform_for

                platform_for(sb.url)
                platform = db.scalars(select(Platform)).one()
            platform.canvas_url = sb.url
            connection.store_api_key(
                services().keyring, platform, ids.api_client_id, ids.api_client_secret
            )
            stale = dataclasses.replace(token, expires_at=datetime.now(UTC) + timedelta(hours=1))
            connection.save_token(db, services().keyring, platform.id, stale)
            platform_id = platform.id
        with app.app_context():
            run_id, created = start_user_sync(
                app, platform_id, str(ids.ela_course), str(ids.teacher)
            )
        assert created
        assert runner(app).wait_idle(timeout=60)
        with session_scope(app) as db:
            run = db.get(SyncRun, run_id)
            assert run is not None
            assert run.status == "succeeded", (run.error_code, run.error_message)
            row = db.scalars(select(CanvasApiToken)).one()
        assert stored(app) == expected(sb, ids.ela_course)
        with app.app_context():
            fresh = connection.load_token(services().keyring, row)
        assert fresh.access_token != token.access_token  # refreshed and saved, encrypted
        assert fresh.refresh_token == token.refresh_token  # Canvas sends no new one: kept
        assert box["api"] > 4
        assert box.get("refreshes") == 1


# --- the CLI's failures -------------------------------------------------------------------


def test_cli_takes_the_token_from_the_environment(
    fault_app: Flask, sandbox: RunningSandbox
) -> None:
    token = sandbox.token(sandbox.ids.teacher)
    result = fault_app.test_cli_runner().invoke(
        args=[
            "canvas",
            "sync",
            "--canvas-url",
            sandbox.url,
            "--course-id",
            str(sandbox.ids.ela_course),
        ],
        env={"CANVAS_TOKEN": token},
    )
    assert result.exit_code == 0, result.output
    assert token not in result.output


def test_cli_with_a_rejected_token_exits_non_zero_and_says_why(
    fault_app: Flask, sandbox: RunningSandbox
) -> None:
    bad = "7~" + "x" * 40
    result = cli_sync(fault_app, sandbox, sandbox.ids.ela_course, bad)
    assert result.exit_code == 1
    assert "Sync failed (reconnect): Canvas rejected the API token" in result.output
    assert bad not in result.output
    assert stored(fault_app)["results"] == {}


def test_cli_with_a_student_token_names_the_missing_permission(
    fault_app: Flask, sandbox: RunningSandbox
) -> None:
    student = sandbox.token(sandbox.ids.students[0])
    result = cli_sync(fault_app, sandbox, sandbox.ids.ela_course, student)
    assert result.exit_code == 1
    assert "Sync failed (permission)" in result.output, result.output
    assert stored(fault_app)["results"] == {}


def test_cli_refuses_a_malformed_course_id_or_url(fault_app: Flask) -> None:
    runner = fault_app.test_cli_runner()
    for url, course in (
        ("https://canvas.example.edu", "../../admin"),
        ("ftp://canvas.example.edu", "12"),
        ("https://canvas.example.edu/api/v1", "12"),
    ):
        result = runner.invoke(
            args=["canvas", "sync", "--canvas-url", url, "--token", "t", "--course-id", course]
        )
        assert result.exit_code == 2, result.output


def test_platform_add_adopts_the_canvas_registered_by_sync(
    app: Flask, sandbox: RunningSandbox
) -> None:
    """`canvas sync` registers an unknown Canvas as API only; adding the LTI key later for the
    same Canvas URL completes that platform, so the synced course stays with its tenant."""
    ids = sandbox.ids
    assert cli_sync(app, sandbox, ids.ela_course, sandbox.token(ids.teacher)).exit_code == 0
    args = ["platform", "add", "--issuer", "https://canvas.instructure.com"]
    args += ["--client-id", "10000000000001", "--deployment-id", "1:abc"]
    for option, path in (
        ("--auth-url", "/api/lti/authorize_redirect"),
        ("--token-url", "/login/oauth2/token"),
        ("--jwks-url", "/api/lti/security/jwks"),
    ):
        args += [option, sandbox.url + path]
    result = app.test_cli_runner().invoke(args=[*args, "--canvas-url", sandbox.url])
    assert result.exit_code == 0, result.output
    with session_scope(app) as db:
        platform = db.scalars(select(Platform)).one()  # adopted, not a second row
        assert (platform.issuer, platform.client_id) == (
            "https://canvas.instructure.com",
            "10000000000001",
        )
        assert [d.deployment_id for d in platform.deployments] == ["1:abc"]
        course = db.scalars(select(CanvasCourse)).one()
        assert course.platform_id == platform.id
