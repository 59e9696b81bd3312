"""The grid's fast path computes exactly what the export computes, for every method.

The grid reads Canvas results as a few ordered columns and skips Evidence objects; the export
(course_report) goes through the mastery report. Both must agree on every level, mastery flag,
evidence count and change, including Canvas's ordering rules: whole seconds, ties in
result-id order (numeric: "9" before "10"), hidden or carrier results never counted, scored
demonstrations (tied with Canvas results in the same second) and an override.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import Table, select

from lti_app.db import session_scope
from lti_app.grading import course_mastery
from lti_app.grading import grid as grid_model
from lti_app.mastery.calculation import METHOD_PARAMETERS, Basis, Method, Policy
from lti_app.models.canvas import CanvasCourse, CourseOutcomeResult
from lti_app.models.pathways import Demonstration, MasteryOverride
from lti_app.policies.store import builtin_default
from tests.grading.seed import COURSE, platform_id, seed_course
from tests.lti_platform import FakePlatform

T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def add_results(app: Flask, platform: FakePlatform) -> None:
    rng = random.Random(7)
    users, outcomes = ("812", "813", "814"), ("97", "98", "99")
    pid = platform_id(app, platform)
    with app.app_context(), session_scope(app) as db:
        course = db.scalars(select(CanvasCourse).where(CanvasCourse.platform_id == pid)).one()
        for n in range(150):
            # few distinct seconds: many ties, broken by microseconds the order must ignore
            at = T0 + timedelta(seconds=rng.randrange(6), microseconds=rng.randrange(999_999))
            score = rng.randrange(0, 9) / 2
            db.add(
                CourseOutcomeResult(
                    course_pk=course.id,
                    canvas_result_id=str(rng.choice((9, 10, 11, 99, 100, 1000)) * 1000 + n),
                    canvas_user_id=rng.choice(users),
                    canvas_outcome_id=rng.choice(outcomes),
                    alignment=None,
                    canvas_assignment_id=None,
                    score=score,
                    possible=4.0,
                    percent=score / 4,
                    mastery=score >= 3,
                    hidden=n % 11 == 0,
                    submitted_or_assessed_at=at,
                    from_carrier=n % 13 == 0,
                )
            )
        demonstrations = Demonstration.__table__
        assert isinstance(demonstrations, Table)
        for uid, oid, seconds, score in (("812", "97", 2, 4.0), ("814", "99", 9, 0.5)):
            db.execute(
                demonstrations.insert(),
                [
                    {
                        "platform_id": pid,
                        "canvas_course_id": COURSE,
                        "canvas_user_id": uid,
                        "canvas_outcome_id": oid,
                        "kind": "project",
                        "title": "Poster",
                        "state": "scored",
                        "open_slot": None,
                        "attempt": 1,
                        "links": [],
                        "reflection_links": [],
                        "score": score,
                        "scored_by": "1",
                        "created_at": T0,
                        "updated_at": T0,
                        # a tie with Canvas results in the same whole second
                        "scored_at": T0 + timedelta(seconds=seconds, microseconds=1),
                    }
                ],
            )
        db.add(
            MasteryOverride(
                platform_id=pid,
                canvas_course_id=COURSE,
                canvas_user_id="813",
                canvas_outcome_id="98",
                level=2.5,
                reason="Conference",
                teacher_canvas_user_id="1",
                created_at=T0 + timedelta(seconds=3),
            )
        )


POLICIES = [
    Policy(method=m, parameter=None, minimum_evidence=k, basis=b)
    for m in Method
    for k in (1, 4)
    for b in Basis
] + [
    Policy(method=m, parameter=spec.high, minimum_evidence=1, basis=b)
    for m, spec in METHOD_PARAMETERS.items()
    if spec is not None
    for b in Basis
]


def test_grid_and_export_agree_for_every_method(app: Flask, platform: FakePlatform) -> None:
    seed_course(app, platform)
    add_results(app, platform)
    pid = platform_id(app, platform)
    base = builtin_default()
    now = T0 + timedelta(weeks=4)
    with app.app_context(), session_scope(app) as db:
        data = course_mastery.load(db, pid, COURSE)
        assert data.tool  # the override is part of both
        compared = 0
        for policy in POLICIES:
            grid = grid_model.grid(db, pid, COURSE, base.scale, policy, base.mapping, now)
            report = course_mastery.course_report(data, base.scale, policy, base.mapping, now)
            for student in report["students"]:
                for target in student["targets"]:
                    key = (student["canvas_user_id"], target["canvas_outcome_id"])
                    cell = grid.cells.get(key)
                    got = (
                        (None, False, 0, None)
                        if cell is None
                        else (cell.level, cell.mastered, cell.evidence_count, cell.change)
                    )
                    want = (
                        target["level"],
                        target["mastered"],
                        target["evidence_count"],
                        target["growth"]["change"],
                    )
                    assert got == want, (policy, key)
            compared += 1
    assert compared == len(POLICIES)
