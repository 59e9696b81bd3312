"""The observation service on its own: levels by value or short label, rounds shared with
demonstrations, and the reading of dates (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from lti_app.db import session_scope
from lti_app.evidence.observations import Refused, Row, Scope, parse_day, parse_level, record
from lti_app.mastery.calculation import SourceKind
from lti_app.models.writeback import WritebackItem
from lti_app.policies.store import effective_policy
from lti_app.writeback import outbox
from tests.grading.seed import platform_id
from tests.lti_platform import FakePlatform


def test_levels_and_days_are_read_as_a_teacher_types_them(
    seeded: Flask, platform: FakePlatform
) -> None:
    with seeded.app_context(), session_scope(seeded) as db:
        scale = effective_policy(db, platform_id(seeded, platform), "101").scale
    assert [parse_level(raw, scale) for raw in ("3", "3.0", " p ", "P+", "NY", "2.7", "", "x")] == [
        3.0,
        3.0,
        3.0,
        3.5,
        0.0,
        None,
        None,
        None,
    ]
    today = date(2026, 12, 4)
    assert parse_day("", today) == (today, None)
    assert parse_day("2026-12-05", today) == (date(2026, 12, 5), None)  # ahead of UTC somewhere
    assert parse_day("2026-12-06", today)[1] == "the date observed 2026-12-06 is in the future"
    assert parse_day("12/04/2026", today)[1] == (
        "the date observed “12/04/2026” is not a date like 2026-11-20"
    )
    assert parse_day("1999-12-31", today)[1] == "the date observed 1999-12-31 is before 2000-01-01"
    assert parse_day("2026-W49-5", today)[0] is None  # ISO week dates are not what people type


def test_an_observation_takes_the_next_result_slot_after_demonstrations(
    seeded: Flask, platform: FakePlatform
) -> None:
    pid = platform_id(seeded, platform)
    scope = Scope(pid, "101", "900")
    with seeded.app_context(), session_scope(seeded) as db:
        eff = effective_policy(db, pid, "101")
        owed = outbox.OwedResult(pid, "101", "812", "97", 2.0, "demo:x", "A test", "900")
        assert outbox.enqueue_result(db, eff, owed) is not None
        [first, second] = record(
            db,
            scope,
            [Row("a", "812", "97", "3"), Row("b", "812", "97", "4", "", "2026-11-01")],
            "form",
        )
        items = {i.idempotency_key: i for i in db.query(WritebackItem)}
        assert items[f"obs:{first.id}"].round == 2
        assert items[f"obs:{second.id}"].round == 3
        assert items[f"obs:{second.id}"].comment == (
            "Observed by the teacher on 2026-11-01: Advanced (Mastery Pathways)"
        )
        # idempotent by key
        assert outbox.enqueue_result(db, eff, owed) is items["demo:x"]
    with seeded.app_context(), session_scope(seeded) as db:
        from lti_app.grading.course_mastery import tool_evidence

        kinds = [e.kind for e in tool_evidence(db, pid, "101")[("812", "97")]]
        assert kinds == [SourceKind.OBSERVATION, SourceKind.OBSERVATION]


def test_every_bad_row_is_named_and_nothing_is_stored(
    seeded: Flask, platform: FakePlatform
) -> None:
    pid = platform_id(seeded, platform)
    rows = [
        Row("line 2", "812", "97", "3"),
        Row("line 3", "812", "97", "3", "bad\x00note"),
        Row("line 4", "", "", ""),
    ]
    with seeded.app_context(), session_scope(seeded) as db:
        with pytest.raises(Refused) as refused:
            record(db, Scope(pid, "101", "900"), rows, "cli", [("line 5", "2 cells")])
        assert refused.value.problems == [
            ("line 3", "the note contains control characters"),
            (
                "line 4",
                "no student (empty) in this course; no learning target (empty) in this "
                "course; the level “(empty)” is not on the scale “Marzano 0-4 (half points)”",
            ),
            ("line 5", "2 cells"),
        ]
        assert refused.value.message == "Nothing was recorded: 3 of 4 rows need fixing."
        db.rollback()
        assert db.query(WritebackItem).count() == 0
