"""Own-evidence versions (issue 20, part 2): every write stamps the pairs it changed with the
course's next version, in commit order, and the grid's kept records re-read exactly those."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from lti_app.db import session_scope
from lti_app.grading import course_mastery, own_records
from lti_app.models.evidence_version import (
    OwnEvidencePairVersion,
    changes_since,
    course_version,
)
from lti_app.models.observation import Observation
from lti_app.models.pathways import MasteryOverride
from tests.grading.seed import COURSE, T0, platform_id, seed_course
from tests.lti_platform import FakePlatform


@pytest.fixture
def db_url(backend_url: str) -> str:
    return backend_url


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    own_records.forget_all()
    seed_course(app, platform)
    return platform_id(app, platform)


def override(pid: int, uid: str, oid: str, level: float = 2.0) -> MasteryOverride:
    return MasteryOverride(
        platform_id=pid,
        canvas_course_id=COURSE,
        canvas_user_id=uid,
        canvas_outcome_id=oid,
        level=level,
        reason="Conference",
        teacher_canvas_user_id="1",
        created_at=T0 + timedelta(weeks=5),
    )


def observation(pid: int, uid: str, oid: str) -> Observation:
    return Observation(
        platform_id=pid,
        canvas_course_id=COURSE,
        canvas_user_id=uid,
        canvas_outcome_id=oid,
        level=3.0,
        note="Lab",
        observed_on=T0.date(),
        recorded_at=T0 + timedelta(weeks=4),
        recorded_by="1",
        via="form",
    )


def stamps(app: Flask, pid: int) -> tuple[int, dict[tuple[str, str], int]]:
    with session_scope(app) as db:
        rows = db.execute(
            select(
                OwnEvidencePairVersion.canvas_user_id,
                OwnEvidencePairVersion.canvas_outcome_id,
                OwnEvidencePairVersion.version,
            ).where(OwnEvidencePairVersion.in_course(pid, COURSE))
        )
        return course_version(db, pid, COURSE), {(u, o): v for u, o, v in rows}


def test_each_transaction_bumps_the_course_once_and_stamps_what_it_changed(
    app: Flask, pid: int
) -> None:
    base, before = stamps(app, pid)  # the seed's own evidence, if any, is stamped already
    with session_scope(app) as db:  # two flushes, one transaction: one version
        db.add(override(pid, "812", "97"))
        db.flush()
        db.add(observation(pid, "813", "98"))
    version, after = stamps(app, pid)
    assert version == base + 1
    assert after == {**before, ("812", "97"): base + 1, ("813", "98"): base + 1}

    with session_scope(app) as db:  # an edit and a deletion, through the unit of work
        found = db.scalars(select(MasteryOverride).where(MasteryOverride.canvas_user_id == "812"))
        for row in found:
            row.cleared_at = T0 + timedelta(weeks=6)
        db.delete(db.scalars(select(Observation)).one())
    version, final = stamps(app, pid)
    assert version == base + 2
    assert final == {**after, ("812", "97"): base + 2, ("813", "98"): base + 2}

    with session_scope(app) as db:  # reading, or an unchanged row, changes nothing
        for row in db.scalars(select(MasteryOverride)):
            row.reason = row.reason
    assert stamps(app, pid) == (base + 2, final)
    with session_scope(app) as db:
        assert changes_since(db, pid, COURSE, base + 1) == (
            base + 2,
            {("812", "97"), ("813", "98")},
        )
        assert changes_since(db, pid, COURSE, base + 2) == (base + 2, set())
        assert changes_since(db, pid, "no-such-course", 0) == (0, set())


def test_a_statement_without_its_key_columns_is_refused(app: Flask, pid: int) -> None:
    """An INSERT whose pairs cannot be told would leave kept records stale: refused."""
    with session_scope(app) as db, pytest.raises(TypeError, match="key columns"):
        db.execute(insert(MasteryOverride).values(level=1.0, reason="No pair"))


def test_kept_records_reread_only_the_changed_pairs(
    app: Flask, pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Any] = []
    real = course_mastery.tool_records

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(kwargs.get("pairs"))
        return real(*args, **kwargs)

    monkeypatch.setattr(own_records, "tool_records", counting)
    with session_scope(app) as db:
        first = own_records.course_records(db, pid, COURSE)
        assert own_records.course_records(db, pid, COURSE) is first  # nothing changed
    assert reads == [None]  # one full read

    with session_scope(app) as db:
        db.add(override(pid, "814", "99", 3.5))
    with session_scope(app) as db:
        fresh = own_records.course_records(db, pid, COURSE)
        assert fresh == course_mastery.tool_records(db, pid, COURSE)
    assert reads[1] == {("814", "99")}
    assert fresh[("814", "99")][-1][2] == 3.5
    assert {p: r for p, r in fresh.items() if p != ("814", "99")} == {
        p: r for p, r in first.items() if p != ("814", "99")
    }


def test_versions_follow_commit_order(app: Flask, pid: int) -> None:
    """Two writers of one course: the one that commits first gets the lower version, so a
    reader that sees a version has seen every pair stamped at or below it. On PostgreSQL the
    second writer does not wait for the first's whole transaction (the version row is taken
    at commit), so it commits first; SQLite's one write lock makes it wait."""
    with session_scope(app) as db:
        base = course_version(db, pid, COURSE)
        postgres = db.get_bind().dialect.name == "postgresql"
    second_done = threading.Event()

    def second() -> None:
        with session_scope(app) as db:
            db.add(override(pid, "813", "98"))
        second_done.set()

    worker = threading.Thread(target=second)
    with session_scope(app) as db:
        db.add(override(pid, "812", "97"))
        db.flush()
        worker.start()
        assert second_done.wait(0.5) is postgres  # SQLite: behind the first writer's lock
    assert second_done.wait(10)
    worker.join(10)
    _version, stamped = stamps(app, pid)
    first, later = (("813", "98"), ("812", "97")) if postgres else (("812", "97"), ("813", "98"))
    assert (stamped[first], stamped[later]) == (base + 1, base + 2)
