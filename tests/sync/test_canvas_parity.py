"""Parity with Canvas's Learning Mastery Gradebook: the tool's Canvas-method score equals the
sandbox's rollups (which follow canvas-lms ``RollupScore``) for random results, methods, scales,
quiz-rescaled percents and time ties, and for every pair of the demo district and of generated
courses synced over HTTP (the count of mismatches is printed: 0)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from canvas_sandbox import rollups as sandbox_rollups
from canvas_sandbox.generator import second_district, synthetic_course
from canvas_sandbox.outcomes import course_flags, set_outcome_ratings
from canvas_sandbox.seed import demo_district
from canvas_sandbox.serializers import outcome_result_json
from canvas_sandbox.state import LearningOutcomeResult, SandboxState
from lti_app.canvas.client.types import parse_outcome_result
from lti_app.db import session_scope
from lti_app.mastery.canvas_rollup import CanvasScoring, canvas_rollup, scored_result
from lti_app.models.canvas import CanvasCourse, SyncRun
from tests.conftest import make_app
from tests.sync.sandbox_server import RunningSandbox, running_sandbox

T0 = datetime(2026, 2, 2, 8, 0, 0, tzinfo=UTC)
METHODS = (
    ("highest", st.none()),
    ("latest", st.none()),
    ("average", st.none()),
    ("decaying_average", st.integers(1, 99)),
    ("weighted_average", st.integers(1, 99)),
    ("standard_decaying_average", st.integers(50, 99)),
    ("n_mastery", st.integers(1, 5)),
)


@st.composite
def scoring(draw: st.DrawFn) -> tuple[sandbox_rollups.ScoringParams, bool]:
    method, ints = draw(st.sampled_from(METHODS))
    possible = draw(st.sampled_from([4.0, 5.0, 3.0, 10.0, 1.0]))
    mastery = draw(st.sampled_from([possible, possible * 0.75, possible / 2]))
    params = sandbox_rollups.ScoringParams(method, draw(ints), possible, mastery)
    return params, draw(st.booleans())


@st.composite
def results(draw: st.DrawFn) -> list[LearningOutcomeResult]:
    rows = []
    for i in range(draw(st.integers(1, 8))):
        possible = draw(st.sampled_from([1.0, 2.0, 4.0, 10.0]))
        score = float(draw(st.integers(0, int(possible))))
        # A quiz alignment's mastery_score rescales the percent Canvas stores (not score/possible).
        percent = draw(
            st.one_of(
                st.just(score / possible),
                st.floats(0, 1, allow_nan=False).map(lambda p: round(p, 4)),
                st.none(),
            )
        )
        # Few distinct seconds, so ties are common; sub-second parts never reach the API.
        second = draw(st.integers(0, 3))
        at = T0 + timedelta(seconds=second, microseconds=draw(st.integers(0, 999_999)))
        submitted = draw(st.booleans())
        rows.append(
            LearningOutcomeResult(
                id=1000 + i,
                course_id=1,
                user_id=7,
                outcome_id=9,
                alignment_id=1,
                association_id=1,
                assignment_id=50 + i,
                title=f"Student, Task {i}",
                score=score,
                possible=possible,
                percent=percent,
                mastery=None,
                submitted_at=at if submitted else None,
                assessed_at=at if not submitted else T0 + timedelta(days=30),
            )
        )
    return rows


def tool_score(rows: list[LearningOutcomeResult], scoring: CanvasScoring) -> float | None:
    """The tool's side: the results as Canvas serializes them, parsed by the client."""
    parsed = [parse_outcome_result(outcome_result_json(r)) for r in rows]
    return canvas_rollup(
        [
            scored_result(
                score=p.score,
                possible=p.possible,
                percent=p.percent,
                at=p.submitted_or_assessed_at,
                alignment=p.alignment,
                assignment_id=str(p.assignment_id) if p.assignment_id is not None else None,
            )
            for p in sorted(parsed, key=lambda p: int(p.id))  # the stored (id) order
        ],
        scoring,
    )


_STATE: list[SandboxState] = []


def demo_state() -> SandboxState:
    if not _STATE:
        state = SandboxState()
        demo_district(state)
        _STATE.append(state)
    return _STATE[0]


@settings(max_examples=400, deadline=None)
@given(scoring(), results())
def test_random_results_methods_scales_and_ties_match_the_sandbox(
    drawn: tuple[sandbox_rollups.ScoringParams, bool], rows: list[LearningOutcomeResult]
) -> None:
    params, new_decaying = drawn
    state = demo_state()
    course = next(iter(state.courses))
    flags = course_flags(state, course)
    flags.new_decaying_average = new_decaying
    theirs = sandbox_rollups.rollup_score(state, course, 9, rows, params).score
    mine = tool_score(
        rows,
        CanvasScoring(
            params.method, params.int_value, params.points_possible, params.mastery_points,
            new_decaying,
        ),
    )  # fmt: skip
    assert mine == theirs


# --- every pair of real synced courses --------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as sb:
        yield sb


@pytest.fixture
def app(backend_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(backend_url, tmp_path)
    yield app
    app.extensions["db_engine"].dispose()


def sync(app: Flask, sb: RunningSandbox, course: int, user: int) -> dict[str, Any]:
    result = app.test_cli_runner().invoke(
        args=["canvas", "sync", "--canvas-url", sb.url, "--course-id", str(course)],
        env={"CANVAS_TOKEN": sb.token(user)},
    )
    assert result.exit_code == 0, result.output
    with session_scope(app) as db:
        course_row = db.scalars(
            select(CanvasCourse).where(CanvasCourse.canvas_course_id == str(course))
        ).one()
        run = db.get(SyncRun, course_row.last_sync_run_id)
        assert run is not None and run.summary is not None
        summary: dict[str, Any] = run.summary
        return summary


def test_every_pair_of_the_demo_district_and_generated_courses_matches_canvas(
    app: Flask, sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = sandbox.ids
    made = synthetic_course(sandbox.state, 12, 6, 4, sections=2, seed=5, new_quiz=True)
    other = second_district(sandbox.state, seed=3, students=9)
    # With the flag off a teacher may give outcomes their own ratings (Outcomes > Edit ratings):
    # Canvas then scores those on their own 0-5 points, whatever the district scale says.
    five = [("Exceeds", 5.0), ("Meets", 3.0), ("Approaching", 1.0), ("Not yet", 0.0)]
    for oid in other.outcomes[:2]:
        set_outcome_ratings(sandbox.state, sandbox.state.outcomes[oid], five, 3.0)
    demo = zip(ids.courses, ids.teachers, strict=True)
    courses = [(f"demo {c}", c, t, None) for c, t in demo] + [
        ("generated", made.course, made.teacher, None),
        ("flag off, teacher", other.course, other.teacher, ("outcome_ratings", "rollups")),
        ("flag off, admin", other.course, other.admin, ("outcome_ratings", "root_account_flag")),
    ]
    compared = mismatches = 0
    for name, course, user, scale in courses:
        assert user is not None
        read = sync(app, sandbox, course, user)["read"]
        assert read["rollups_read"] is True, name
        if scale is not None:
            assert (read["scale_source"], read["scale_basis"]) == scale, name
        compared += sandbox_pairs(sandbox.state, course)
        mismatches += read["rollup_disagreements"]
        # The export's canvas_score is Canvas's figure for every pair, too.
        mismatches += export_mismatches(app, sandbox, course)
    with capsys.disabled():
        print(f"\nCanvas parity: {compared} student x outcome pairs, {mismatches} mismatches")
    assert compared > 100
    assert mismatches == 0


def export_mismatches(app: Flask, sb: RunningSandbox, course: int) -> int:
    """Pairs where `mastery export`'s canvas_score differs from the sandbox's rollup."""
    result = app.test_cli_runner().invoke(
        args=["mastery", "export", "--course-id", str(course), "--canvas-url", sb.url]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    theirs = {
        (str(uid), str(s.outcome_id)): s.score
        for uid, scores in sandbox_rollups.course_rollups(sb.state, course).items()
        for s in scores
    }
    mine = {
        (st["canvas_user_id"], t["canvas_outcome_id"]): t["canvas_score"]
        for st in report["students"]
        for t in st["targets"]
    }
    assert set(theirs) <= set(mine)
    return sum(1 for pair, score in mine.items() if theirs.get(pair) != score)


def sandbox_pairs(state: SandboxState, course: int) -> int:
    return sum(
        1
        for scores in sandbox_rollups.course_rollups(state, course).values()
        for s in scores
        if s.score is not None
    )
