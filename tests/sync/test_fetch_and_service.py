"""fetch_course against a scripted Canvas, and the sync service's run record and failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from lti_app.canvas.client.errors import (
    CanvasUnavailable,
    PermissionDenied,
    ReconnectRequired,
)
from lti_app.db import session_scope
from lti_app.models.canvas import (
    CanvasApiToken,
    CanvasCourse,
    CourseOutcome,
    CourseOutcomeResult,
    CourseStudent,
    SyncRun,
)
from lti_app.sync import service
from lti_app.sync.fetch import fetch_course
from lti_app.sync.snapshot import SCALE_COURSE, SCALE_OUTCOMES
from tests.sync.fakes import FakeCanvas, enrollment, result


def no_progress(percent: int, step: str) -> None:
    assert 0 <= percent <= 100 and step


def test_fetch_reads_each_list_once_and_builds_paths_and_sections() -> None:
    canvas = FakeCanvas()
    steps: list[int] = []
    snap = fetch_course(canvas, "12", lambda p, s: steps.append(p))
    # Canvas's rollups beside everything (once); the small lists and the root account's
    # features side by side, then the results (hidden ones included), then the roster re-check.
    assert canvas.calls.count("outcome_rollups") == 1
    assert canvas.calls.count("grading_periods") == 1
    calls = [c for c in canvas.calls if c not in ("outcome_rollups", "grading_periods")]
    assert sorted(calls[:8]) == [
        "course",
        "course_proficiency",
        "observer_enrollments",
        "outcome_groups",
        "outcome_links",
        "root_account_features",
        "sections",
        "student_enrollments",
    ]
    assert calls[8:] == ["outcome_results", "student_enrollments"]
    assert canvas.hidden_asked == [True]
    assert steps == sorted(steps)
    assert snap.scale_source == SCALE_COURSE
    assert snap.mastery_scale is not None and snap.mastery_scale[1].mastery is True
    paths = {o.canvas_outcome_id: o.group_path for o in snap.outcomes.values()}
    # The root group is the course itself: not part of a path.
    assert paths == {"97": ("Reading", "Literature"), "98": ("Reading",), "99": ()}
    assert [r.points for r in snap.outcomes["97"].ratings] == [4.0, 3.0]
    assert snap.students["813"].section_ids == ("45", "46")
    assert snap.students["812"].sortable_name == "Lovelace, Ada"
    assert set(snap.results) == {"4711", "4712", "4713"}
    assert snap.results["4713"].canvas_assignment_id == "60"
    assert snap.course_name == "Algebra I – Period 3"


def test_fetch_keeps_the_names_of_what_results_were_scored_on() -> None:
    """Names come in the results' own pages (include[]=alignments, docs/canvas.md §6); only
    those of kept results are kept."""
    canvas = FakeCanvas(
        alignment_names={"assignment_53": "Unit 2 essay", "assignment_60": "Unit 3 quiz"}
    )
    snap = fetch_course(canvas, "12", no_progress)
    assert {a: r.name for a, r in snap.alignments.items()} == {
        "assignment_53": "Unit 2 essay",
        "assignment_60": "Unit 3 quiz",
    }


def test_fetch_falls_back_to_outcome_ratings_without_a_course_scale() -> None:
    snap = fetch_course(FakeCanvas(proficiency=None), "12", no_progress)
    assert (snap.scale_source, snap.mastery_scale) == (SCALE_OUTCOMES, None)


def test_a_student_dropped_between_pages_rereads_results_once() -> None:
    canvas = FakeCanvas()
    full = canvas.rosters[0]
    dropped = [e for e in full if e.user_id != "812"]
    # The roster seen before, after the first pass, and after the second pass.
    canvas.rosters = [full, dropped, dropped]

    def drop(c: FakeCanvas, page: int) -> None:
        if page == 1:  # Canvas drops Ada's results while the pages are being read
            c.results = [r for r in c.results if r.user_id != "812"]

    canvas.on_page = drop
    snap = fetch_course(canvas, "12", no_progress)
    assert canvas.calls.count("outcome_results") == 2
    assert set(snap.students) == {"813"}
    assert set(snap.results) == {"4712"}


def test_a_roster_that_keeps_changing_keeps_what_was_read_and_counts_the_rest() -> None:
    """Never a failed sync: after the last pass the students enrolled now keep their results;
    the one who left is skipped and counted, the newcomers' results come with the next sync."""
    canvas = FakeCanvas()
    a = canvas.rosters[0]
    b = [e for e in a if e.user_id != "812"]
    c = [*b, enrollment("815", "Edsger Dijkstra")]
    canvas.rosters = [a, b, c]
    snap = fetch_course(canvas, "12", no_progress)
    assert canvas.calls.count("outcome_results") == 2
    assert set(snap.students) == {"813", "815"}
    assert set(snap.results) == {"4712"}
    assert snap.read.students_who_left == 1
    assert snap.read.students_who_joined == 1
    assert snap.read.results_of_students_who_left == 2


def test_results_seen_twice_across_a_page_shift_count_once() -> None:
    canvas = FakeCanvas(page_size=2)

    def insert(c: FakeCanvas, page: int) -> None:
        if page == 1 and len(c.results) == 3:  # a new result sorts before the page boundary
            c.results.insert(0, result("4700", "812", "99"))

    canvas.on_page = insert
    snap = fetch_course(canvas, "12", no_progress)
    # 4712 shifted onto page 2 and is read twice; kept once. (4700 arrives with the next sync.)
    assert sorted(snap.results) == ["4711", "4712", "4713"]


def run(app: Flask, platform_id: int, canvas: FakeCanvas, by: str = "cli") -> service.Outcome:
    run_id, created = service.create_run(app, platform_id, "12", by)
    assert created
    return service.execute(app, run_id, lambda: canvas)  # type: ignore[arg-type,return-value]


def counts(app: Flask) -> tuple[int, int, int]:
    with session_scope(app) as db:
        return (
            db.scalar(select(func.count()).select_from(CourseOutcome)) or 0,
            db.scalar(select(func.count()).select_from(CourseStudent)) or 0,
            db.scalar(select(func.count()).select_from(CourseOutcomeResult)) or 0,
        )


def test_a_successful_run_records_status_progress_and_summary(
    sync_app: Flask, platform_id: int
) -> None:
    outcome = run(sync_app, platform_id, FakeCanvas())
    assert outcome.ok
    with session_scope(sync_app) as db:
        r = db.scalars(select(SyncRun)).one()
        assert (r.status, r.progress, r.step, r.error_code) == ("succeeded", 100, "Done", None)
        assert r.started_at and r.finished_at and r.finished_at >= r.started_at
        assert r.summary is not None and r.summary["counts"]["results"] == 3
        course = db.scalars(select(CanvasCourse)).one()
        assert course.last_sync_run_id == r.id and course.last_synced_at == r.finished_at
    assert counts(sync_app) == (3, 2, 3)


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (CanvasUnavailable("Canvas failed", status=503), "canvas_unavailable", "Try again later"),
        (
            PermissionDenied(
                "no", status=401, hint="url:GET|/api/v1/courses/:course_id/outcome_results"
            ),
            "permission",
            "outcome_results",
        ),
        (ReconnectRequired("dead refresh token"), "reconnect", "Reconnect"),
    ],
)
def test_a_failed_run_keeps_the_previous_data_and_says_why(
    sync_app: Flask, platform_id: int, error: Exception, code: str, words: str
) -> None:
    assert run(sync_app, platform_id, FakeCanvas()).ok
    before = counts(sync_app)
    changed = FakeCanvas(results=[], fail_on="outcome_results", error=error)
    outcome = run(sync_app, platform_id, changed)
    assert not outcome.ok and outcome.error_code == code
    assert counts(sync_app) == before
    with session_scope(sync_app) as db:
        last = db.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()
        assert last is not None
        assert (last.status, last.error_code) == ("failed", code)
        assert last.error_message and words in last.error_message
        assert last.finished_at is not None
    # A retry against a healthy Canvas succeeds.
    assert run(sync_app, platform_id, FakeCanvas()).ok


def test_reconnect_failure_forgets_the_dead_token(sync_app: Flask, platform_id: int) -> None:
    with session_scope(sync_app) as db:
        db.add(
            CanvasApiToken(
                platform_id=platform_id,
                canvas_user_id="812",
                access_token_encrypted="v1:x:y",
                expires_at=datetime.now(UTC),
                canvas_origin="https://canvas.test",
            )
        )
    outcome = run(
        sync_app,
        platform_id,
        FakeCanvas(fail_on="outcome_links", error=ReconnectRequired("x")),
        by="812",
    )
    assert outcome.error_code == "reconnect"
    with session_scope(sync_app) as db:
        assert db.scalars(select(CanvasApiToken)).all() == []


def test_one_active_run_per_course_and_stale_runs_are_interrupted(
    sync_app: Flask, platform_id: int
) -> None:
    first, created = service.create_run(sync_app, platform_id, "12", "812")
    assert created
    again, created = service.create_run(sync_app, platform_id, "12", "813")
    assert (again, created) == (first, False)
    other, created = service.create_run(sync_app, platform_id, "13", "812")
    assert created and other != first
    # The process running `first` died: its heartbeat stops.
    with session_scope(sync_app) as db:
        db.execute(
            update(SyncRun)
            .where(SyncRun.id == first)
            .values(status="running", heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
        )
    fresh, created = service.create_run(sync_app, platform_id, "12", "812")
    assert created and fresh != first
    with session_scope(sync_app) as db:
        dead = db.get(SyncRun, first)
        assert dead is not None
        assert (dead.status, dead.error_code) == ("failed", "interrupted")
        live = db.get(SyncRun, other)
        assert live is not None and live.status == "queued"


def test_execute_ignores_a_run_that_is_not_queued(sync_app: Flask, platform_id: int) -> None:
    assert run(sync_app, platform_id, FakeCanvas()).ok
    with session_scope(sync_app) as db:
        done = db.scalars(select(SyncRun.id)).one()
    canvas = FakeCanvas()
    assert service.execute(sync_app, done, lambda: canvas).error_code == "not_queued"  # type: ignore[arg-type,return-value]
    assert canvas.calls == []


def big_class(n: int = 31) -> FakeCanvas:
    roster = [enrollment(str(900 + i), f"Student Number{i:02d}") for i in range(n)]
    results = [
        result(f"r{i}-{o}", str(900 + i), o, score=float(i % 5))
        for i in range(n)
        for o in ("97", "98", "99")
    ]
    return FakeCanvas(rosters=[roster], results=results, page_size=10)


def test_a_big_class_is_read_as_three_concurrent_slices() -> None:
    canvas = big_class()
    snap = fetch_course(canvas, "12", no_progress)
    slices = [ids for ids in canvas.result_user_ids if ids is not None]
    assert len(slices) == 3 and None not in canvas.result_user_ids
    everyone = {str(900 + i) for i in range(31)}
    assert set().union(*slices) == everyone
    assert sum(len(s) for s in slices) == len(everyone)  # disjoint
    assert len(snap.results) == 31 * 3
    assert snap.results["r7-98"].score == 2.0


def test_a_slice_refused_with_400_falls_back_to_one_chain() -> None:
    canvas = big_class()
    canvas.not_a_student = "905"  # dropped after the roster was read
    snap = fetch_course(canvas, "12", no_progress)
    assert canvas.result_user_ids[-1] is None  # the whole course, one chain
    assert len(snap.results) == 31 * 3


def test_small_classes_use_one_chain() -> None:
    canvas = FakeCanvas()
    fetch_course(canvas, "12", no_progress)
    assert canvas.result_user_ids == [None]
