"""`canvas sync-account` against the sandbox over loopback HTTP: a district with a school
sub-account, every published course with students synced exactly as Canvas holds it, and the
account sync's faults (a course failing mid-way, a throttled burst, the token expiring, a
worker killed): the run finishes the others, names each failure, and a re-run with --since
completes the rest without duplicating anything."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from sqlalchemy import func, select

from canvas_sandbox import roster
from canvas_sandbox.generator import synthetic_course
from lti_app.db import session_scope
from lti_app.models.canvas import CanvasCourse, CourseOutcomeResult, SyncRun
from lti_app.sync import account, account_run
from lti_app.sync.cli import platform_for
from lti_app.tasks import jobs
from tests.sync.sandbox_server import RunningSandbox, running_sandbox
from tests.sync.test_sandbox_sync import _make, expected


def _district(sb: RunningSandbox) -> list[int]:
    """A school under the demo district with three small courses, plus an unpublished one and
    one without students (neither is listed); returns the ids Canvas would list."""
    state, ids = sb.state, sb.ids
    school = roster.add_account(state, "Hillside Middle", parent_id=ids.account)
    for seed in (21, 22, 23):
        synthetic_course(state, 4, 3, 2, sections=1, seed=seed, account_id=school.id)
    hidden = synthetic_course(state, 2, 2, 1, sections=1, seed=24, account_id=school.id)
    state.courses[hidden.course].workflow_state = "created"
    roster.add_course(state, school.id, "Empty", "EMPTY")
    return sorted(
        c.id
        for c in state.courses.values()
        if c.workflow_state == "available"
        and state.is_admin(ids.admin, c.account_id)
        and any(
            e.type == "StudentEnrollment" and e.workflow_state != "deleted"
            for e in state.enrollments_in(c.id)
        )
    )


@pytest.fixture
def district() -> Iterator[tuple[RunningSandbox, list[int]]]:
    with running_sandbox() as sb:
        yield sb, _district(sb)


@pytest.fixture
def app(backend_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _make(backend_url, tmp_path)


@pytest.fixture
def fault_app(sqlite_url: str, tmp_path: Path) -> Iterator[Flask]:
    # The course sync's own faults run on both databases in test_sandbox_sync; the account
    # sync adds only orchestration, so its fault tests use SQLite.
    yield from _make(sqlite_url, tmp_path)


def run_cli(app: Flask, sb: RunningSandbox, token: str, *extra: str) -> Any:
    args = ["canvas", "sync-account", "--canvas-url", sb.url, "--account-id", str(sb.ids.account)]
    return app.test_cli_runner().invoke(args=[*args, "--token", token, *extra])


def stored_for(app: Flask, course: int) -> dict[str, Any]:
    with session_scope(app) as db:
        rows = db.scalars(
            select(CourseOutcomeResult)
            .join(CanvasCourse, CanvasCourse.id == CourseOutcomeResult.course_pk)
            .where(CanvasCourse.canvas_course_id == str(course))
        )
        return {r.canvas_result_id: (r.canvas_user_id, r.canvas_outcome_id, r.score) for r in rows}


def assert_all_synced(app: Flask, sb: RunningSandbox, courses: list[int]) -> None:
    for course in courses:
        assert stored_for(app, course) == expected(sb, course)["results"], course
    with session_scope(app) as db:
        total = db.scalar(select(func.count()).select_from(CourseOutcomeResult))
        synced = set(db.scalars(select(CanvasCourse.canvas_course_id)))
    assert synced == {str(c) for c in courses}
    assert total == sum(len(expected(sb, c)["results"]) for c in courses)  # no duplicates


def test_syncs_every_course_of_the_account_and_its_schools(
    app: Flask, district: tuple[RunningSandbox, list[int]]
) -> None:
    sb, courses = district
    started = datetime.now(UTC)
    result = run_cli(app, sb, sb.token(sb.ids.admin))
    assert result.exit_code == 0, result.output
    assert f"{len(courses)} courses with students; syncing {len(courses)}." in result.output
    assert f"[{len(courses)}/{len(courses)}] course " in result.output
    assert re.search(r"Done in [\d.]+s: \d+ synced, 0 failed, 0 not started", result.output)
    assert_all_synced(app, sb, courses)
    with session_scope(app) as db:  # each course's school, named as Canvas names it
        schools = {
            (c.account_id, c.account_name)
            for c in db.scalars(select(CanvasCourse))
            if c.account_id != str(sb.ids.account)
        }
    assert schools == {
        (str(a.id), a.name) for a in sb.state.accounts.values() if a.name == "Hillside Middle"
    }
    # One pacing budget for the token: the courses synced side by side were never throttled.
    assert sb.stats()["throttled"] == 0
    assert "0 throttled." in result.output
    # A re-run since the first one skips every course; nothing is queued or duplicated.
    again = run_cli(app, sb, sb.token(sb.ids.admin), "--since", started.isoformat())
    assert again.exit_code == 0, again.output
    assert f"{len(courses)} already synced since --since; syncing 0." in again.output
    with session_scope(app) as db:
        assert db.scalar(select(func.count()).select_from(SyncRun)) == len(courses)
    assert_all_synced(app, sb, courses)
    # The admin's token is kept encrypted at rest for the jobs, never in clear.
    from lti_app.models.canvas import CanvasApiToken

    with session_scope(app) as db:
        row = db.scalars(select(CanvasApiToken)).one()
        assert row.canvas_user_id == account.ACCOUNT_SYNC_USER
        assert sb.token(sb.ids.admin)[:10] not in row.access_token_encrypted


def _fail_results_of(sb_app: Any, course: int) -> None:
    """Canvas refuses one course's outcome results, after its roster was read."""

    def refuse() -> Response | None:
        if request.path == f"/api/v1/courses/{course}/outcome_results" and FAULTS["on"]:
            return Response(
                '{"errors":[{"message":"user not authorized to perform that action"}]}',
                status=403,
                mimetype="application/json",
            )
        return None

    sb_app.before_request(refuse)


FAULTS: dict[str, Any] = {"on": False}


def test_a_course_failing_mid_way_is_named_and_a_rerun_completes_it(fault_app: Flask) -> None:
    box: dict[str, int] = {}

    def prepare(sb_app: Any) -> None:
        ids = sb_app.extensions["sandbox_ids"]
        box["course"] = ids.math_course
        _fail_results_of(sb_app, ids.math_course)

    FAULTS["on"] = True
    try:
        with running_sandbox(prepare=prepare) as sb:
            courses = _district(sb)
            started = datetime.now(UTC)
            result = run_cli(fault_app, sb, sb.token(sb.ids.admin))
            assert result.exit_code != 0
            assert "1 failed, 0 not started" in result.output
            assert "Error: 1 course(s) failed. Run again with --since " in result.output
            assert re.search(
                rf"Failed: course {box['course']} .*\(permission\): Canvas refused", result.output
            )
            others = [c for c in courses if c != box["course"]]
            for course in others:
                assert stored_for(fault_app, course) == expected(sb, course)["results"]
            assert stored_for(fault_app, box["course"]) == {}
            FAULTS["on"] = False
            again = run_cli(fault_app, sb, sb.token(sb.ids.admin), "--since", started.isoformat())
            assert again.exit_code == 0, again.output
            assert "syncing 1." in again.output
            assert_all_synced(fault_app, sb, courses)
    finally:
        FAULTS["on"] = False


def test_a_throttled_burst_is_ridden_out(fault_app: Flask) -> None:
    burst = {"left": 0, "seen": 0}

    def prepare(sb_app: Any) -> None:
        def throttle() -> Response | None:
            if not request.path.endswith("/outcome_results"):
                return None
            burst["seen"] += 1
            if burst["seen"] == 2:
                burst["left"] = 4  # the next four requests of every kind are refused
            if burst["left"] > 0:
                burst["left"] -= 1
                return Response("403 Forbidden (Rate Limit Exceeded)\n", status=403)
            return None

        sb_app.before_request(throttle)

    with running_sandbox(prepare=prepare) as sb:
        courses = _district(sb)
        result = run_cli(fault_app, sb, sb.token(sb.ids.admin))
        assert result.exit_code == 0, result.output
        match = re.search(r"(\d+) throttled\.", result.output)
        assert match is not None and 1 <= int(match.group(1)) <= 4
        assert_all_synced(fault_app, sb, courses)


def test_a_token_that_expires_stops_the_run_and_a_new_token_completes_it(
    fault_app: Flask,
) -> None:
    box: dict[str, int] = {}

    def prepare(sb_app: Any) -> None:
        state = sb_app.extensions["sandbox_state"]

        def expire() -> None:
            # The last course is queued only once an earlier one finished: the token
            # expires mid-run, with some courses done and others still to do.
            if request.path.startswith(f"/api/v1/courses/{box.get('last')}/"):
                box["last"] = -1  # once
                with state.lock:
                    for record in state.access_tokens.values():
                        record.expires_at = state.now() - timedelta(seconds=1)

        sb_app.before_request(expire)

    with running_sandbox(prepare=prepare) as sb:
        courses = _district(sb)
        assert len(courses) > account_run.WINDOW
        box["last"] = courses[-1]
        started = datetime.now(UTC)
        result = run_cli(fault_app, sb, sb.token(sb.ids.admin))
        assert result.exit_code != 0
        assert "Canvas rejected the token" in result.output
        assert "(reconnect)" in result.output
        with session_scope(fault_app) as db:
            ok = set(
                db.scalars(select(SyncRun.canvas_course_id).where(SyncRun.status == "succeeded"))
            )
        assert 0 < len(ok) < len(courses)
        again = run_cli(fault_app, sb, sb.token(sb.ids.admin), "--since", started.isoformat())
        assert again.exit_code == 0, again.output
        assert f"{len(ok)} already synced since --since" in again.output
        assert_all_synced(fault_app, sb, courses)


def test_courses_waiting_behind_long_syncs_are_not_taken_for_dead(
    fault_app: Flask, district: tuple[RunningSandbox, list[int]]
) -> None:
    """Two workers, four courses in flight: the two queued behind two slow syncs wait longer
    than ``stale_after`` with the heartbeat of when they were queued, and the account loop,
    which waits for them, keeps them alive."""
    sb, courses = district
    slow = {str(c) for c in courses[:2]}
    real = jobs.registered(fault_app)[account.TASK_COURSE].run

    def slow_first(app: Flask, run_id: int, platform_id: int) -> object:
        with session_scope(app) as db:
            run = db.get(SyncRun, run_id)
            assert run is not None
            course = run.canvas_course_id
        if course in slow:
            time.sleep(3.0)  # both workers busy: the next courses wait in the queue
        return real(app, run_id, platform_id)

    jobs.register(fault_app, jobs.Job(account.TASK_COURSE, slow_first))
    with fault_app.app_context():
        platform_id, _ = platform_for(sb.url)
    account.store_token(fault_app, platform_id, sb.url, sb.token(sb.ids.admin))
    report = account_run.sync_account(
        fault_app, platform_id, str(sb.ids.account), stale_after=timedelta(seconds=2)
    )
    assert report.failed == [] and len(report.done) == len(courses)
    assert_all_synced(fault_app, sb, courses)


def test_a_killed_worker_s_course_is_reported_and_done_by_the_next_run(
    fault_app: Flask, district: tuple[RunningSandbox, list[int]]
) -> None:
    sb, courses = district
    victim = str(courses[1])
    real = jobs.registered(fault_app)[account.TASK_COURSE].run

    def dies_on_victim(app: Flask, run_id: int, platform_id: int) -> object:
        with session_scope(app) as db:
            run = db.get(SyncRun, run_id)
            assert run is not None
            if run.canvas_course_id == victim:
                # The worker took the run and died: "running", and its heartbeat stops.
                run.status = "running"
                run.heartbeat_at = datetime.now(UTC) - timedelta(minutes=30)
                return False
        return real(app, run_id, platform_id)

    jobs.register(fault_app, jobs.Job(account.TASK_COURSE, dies_on_victim))
    with fault_app.app_context():
        platform_id, _ = platform_for(sb.url)
    account.store_token(fault_app, platform_id, sb.url, sb.token(sb.ids.admin))
    started = datetime.now(UTC)
    # The victim's heartbeat is 30 minutes old; a course waiting its turn in the queue (its
    # heartbeat is when it was queued) must not look stale on a loaded machine.
    report = account_run.sync_account(
        fault_app, platform_id, str(sb.ids.account), stale_after=timedelta(minutes=5)
    )
    assert [(c.course_id, c.error_code) for c in report.failed] == [(victim, "interrupted")]
    assert len(report.done) == len(courses)
    jobs.register(fault_app, jobs.Job(account.TASK_COURSE, real))
    again = account_run.sync_account(fault_app, platform_id, str(sb.ids.account), since=started)
    assert again.ok and again.skipped == len(courses) - 1
    assert [c.course_id for c in again.done] == [victim]
    assert_all_synced(fault_app, sb, courses)
