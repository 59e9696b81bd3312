"""The grid's kept cells under a random stream of writes equal a computation without any cache.

The grid keeps each pair's cell with the tool's own evidence records it was computed from, and
the course's records themselves, re-reading only the pairs stamped since (issue 20, part 2).
Here demonstrations are scored and rescored, observations recorded and removed, overrides set
and cleared, each committed through its own session exactly as another gunicorn process would
(nothing in this process is told), by INSERT, UPDATE and DELETE statements rather than the unit
of work (stamped too, ``lti_app.models.evidence_version``); after every write the grid is read
for several policies and compared, cell by cell, with the grid computed from empty caches and
with the export's levels. The times fall in the same few seconds as the Canvas results, so the order
of ties between Canvas's and the tool's evidence is exercised too.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, insert, select, update

from lti_app.db import session_scope
from lti_app.grading import course_mastery, own_records
from lti_app.grading import grid as grid_model
from lti_app.mastery.calculation import Basis, Method, OverrideRule, Policy
from lti_app.models.canvas import CanvasCourse, CourseRollup
from lti_app.models.observation import Observation
from lti_app.models.pathways import Demonstration, MasteryOverride
from lti_app.policies.store import builtin_default
from tests.grading.seed import COURSE, platform_id, seed_course
from tests.grading.test_grid_consistency import T0, add_results
from tests.lti_platform import FakePlatform

USERS = ("812", "813", "814", "899")  # 899 is not on the roster: never a cell
TARGETS = ("97", "98", "99")
POLICIES = [
    Policy(basis=Basis.CANVAS),
    Policy(basis=Basis.DISTRICT_LEVEL),
    Policy(
        method=Method.N_MASTERY,
        parameter=2,
        minimum_evidence=3,
        override_rule=OverrideRule.STANDS_UNTIL_CLEARED,
        basis=Basis.DISTRICT_LEVEL,
    ),
    Policy(method=Method.LATEST, basis=Basis.CANVAS),
]


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


def some_time(rng: random.Random) -> Any:
    """Within the seconds of the Canvas results (ties), or later."""
    seconds = rng.choice((rng.randrange(8), rng.randrange(3600)))
    return T0 + timedelta(seconds=seconds, microseconds=rng.randrange(1_000_000))


def write(app: Flask, pid: int, rng: random.Random) -> str:
    """One random write, committed on its own; returns what it did (for the failure message)."""
    pair = {"canvas_user_id": rng.choice(USERS), "canvas_outcome_id": rng.choice(TARGETS)}
    course = {"platform_id": pid, "canvas_course_id": COURSE}
    level = rng.randrange(0, 9) / 2
    with session_scope(app) as db:
        op = rng.choice(("override", "override", "clear", "demo", "rescore", "observe", "forget"))
        if op == "override":
            db.execute(
                insert(MasteryOverride),
                [
                    {
                        **course,
                        **pair,
                        "level": level,
                        "reason": "Conference",
                        "teacher_canvas_user_id": "1",
                        "created_at": some_time(rng),
                    }
                ],
            )
        elif op == "clear":
            ids = db.scalars(select(MasteryOverride.id).where(MasteryOverride.cleared_at.is_(None)))
            chosen = sorted(ids)
            if chosen:
                db.execute(
                    update(MasteryOverride)
                    .where(MasteryOverride.id == rng.choice(chosen))
                    .values(cleared_at=T0 + timedelta(days=40), cleared_by="1")
                )
        elif op == "demo":
            at = some_time(rng)
            db.execute(
                insert(Demonstration),
                [
                    {
                        **course,
                        **pair,
                        "kind": "project",
                        "title": "Poster",
                        "state": "scored",
                        "open_slot": None,
                        "attempt": 1,
                        "links": [],
                        "reflection_links": [],
                        "score": level,
                        "scored_by": "1",
                        "created_at": at,
                        "updated_at": at,
                        "scored_at": at,
                    }
                ],
            )
        elif op == "rescore":  # the same row, a new score and time
            chosen = sorted(db.scalars(select(Demonstration.id)))
            if chosen:
                db.execute(
                    update(Demonstration)
                    .where(Demonstration.id == rng.choice(chosen))
                    .values(score=level, scored_at=some_time(rng))
                )
        elif op == "observe":
            at = some_time(rng)
            db.execute(
                insert(Observation),
                [
                    {
                        **course,
                        **pair,
                        "level": level,
                        "note": "Seen in class",
                        "observed_on": at.date(),
                        "recorded_at": at,
                        "recorded_by": "1",
                        "via": "page",
                    }
                ],
            )
        else:
            chosen = sorted(db.scalars(select(Observation.id)))
            if chosen:
                db.execute(delete(Observation).where(Observation.id == rng.choice(chosen)))
        return f"{op} {pair} {level}"


def add_canvas_rollup(app: Flask) -> None:
    """Canvas's own score for one pair, unlike the tool's: the cell says Canvas differs, and
    keeps saying so when the tool's own evidence is merged into it."""
    with session_scope(app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        db.add(
            CourseRollup(
                course_pk=course.id,
                rollup_key="812:97",
                canvas_user_id="812",
                canvas_outcome_id="97",
                score=1.25,
            )
        )


def export_cells(data: course_mastery.CourseData, policy: Policy) -> dict[Any, Any]:
    base = builtin_default()
    report = course_mastery.course_report(data, base.scale, policy, base.mapping, T0)
    return {
        (student["canvas_user_id"], target["canvas_outcome_id"]): (
            target["level"],
            target["mastered"],
            target["evidence_count"],
            target["growth"]["change"],
        )
        for student in report["students"]
        for target in student["targets"]
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_cells_equal_a_fresh_computation_after_every_write(
    app: Flask, platform: FakePlatform, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    grid_model.clear_grid_cache()
    seed_course(app, platform)
    add_results(app, platform)
    add_canvas_rollup(app)
    pid = platform_id(app, platform)
    base = builtin_default()
    rng = random.Random(seed)
    history: list[str] = []
    with app.app_context():
        for step in range(30):
            history.append(write(app, pid, rng))
            with session_scope(app) as db:
                data = course_mastery.load(db, pid, COURSE)
                for policy in POLICIES:
                    kept = grid_model.grid(db, pid, COURSE, base.scale, policy, base.mapping, T0)
                    with monkeypatch.context() as m:
                        m.setattr(grid_model, "_GRID_CACHE", OrderedDict())
                        m.setattr(own_records, "_KEPT", OrderedDict())  # a full read
                        fresh = grid_model.grid(
                            db, pid, COURSE, base.scale, policy, base.mapping, T0
                        )
                    assert kept.cells == fresh.cells, (step, policy, history)
                    exported = export_cells(data, policy)
                    shown = {
                        pair: (c.level, c.mastered, c.evidence_count, c.change)
                        for pair, c in kept.cells.items()
                        if c.evidence_count
                    }
                    assert shown == {k: v for k, v in exported.items() if v[2]}, (step, policy)
    assert kept.cells[("812", "97")].canvas_differs  # the rollup's pair, with or without own
    assert {h.split()[0] for h in history} >= {"override", "clear", "demo", "observe"}
