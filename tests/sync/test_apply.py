"""Diff/apply of a course snapshot: idempotent, incremental, carrier results flagged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from lti_app.db import session_scope
from lti_app.models.canvas import (
    CanvasCourse,
    CarrierAssignment,
    CourseAlignment,
    CourseOutcome,
    CourseOutcomeResult,
    CourseRollup,
    CourseSection,
    CourseStudent,
)
from lti_app.sync.apply import apply_snapshot
from lti_app.sync.snapshot import (
    SCALE_COURSE,
    SCALE_OUTCOMES,
    AlignmentRow,
    CourseSnapshot,
    OutcomeRow,
    RatingRow,
    ReadNotes,
    ResultRow,
    RollupRow,
    SectionRow,
    StudentRow,
    rollup_key,
)

T0 = datetime(2026, 3, 1, 15, 4, 5, tzinfo=UTC)
SCALE = (
    RatingRow(4.0, "Exceeds Mastery", False, "0374B5"),
    RatingRow(3.0, "Mastery", True, "0B874B"),
    RatingRow(0.0, "No Evidence", False, "E0061F"),
)


def snapshot() -> CourseSnapshot:
    outcomes = {
        "97": OutcomeRow("97", "RL.3.2", "5", ("Reading", "Literature"), "Main idea"),
        "98": OutcomeRow("98", "RL.3.3", "5", ("Reading", "Literature")),
    }
    students = {
        "812": StudentRow("812", "Ada Lovelace", "Lovelace, Ada", "ada", ("45",)),
        "813": StudentRow("813", "Alan Turing", "Turing, Alan", None, ("45", "46")),
    }
    results = {
        "4711": ResultRow(
            "4711", "812", "97", "assignment_53", "53", 3.0, 4.0, 0.75, True, False, T0
        ),
        "4712": ResultRow(
            "4712", "813", "97", "assignment_53", "53", 2.0, 4.0, 0.5, False, False, T0
        ),
        "4713": ResultRow(
            "4713", "812", "98", "assignment_60", "60", 4.0, 4.0, 1.0, True, False, T0
        ),
    }
    return CourseSnapshot(
        canvas_course_id="12",
        scale_source=SCALE_COURSE,
        mastery_scale=SCALE,
        outcomes=outcomes,
        sections={"45": SectionRow("45", "Period 1"), "46": SectionRow("46", "Period 2")},
        students=students,
        results=results,
        rollups={rollup_key("812", "97"): RollupRow("812", "97", 3.0, 1)},
        scale_basis="root_account_flag",
        read=ReadNotes(new_quizzes_results=0, hidden_results=0, rollups_read=True),
    )


def apply(app: Flask, platform_id: int, snap: CourseSnapshot) -> dict[str, Any]:
    with session_scope(app) as db:
        return apply_snapshot(db, platform_id, snap, synced_at=T0).as_json()


def dump(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    """Every synced row (natural key and values) for equality checks."""
    with session_scope(app) as db:
        return {
            "outcomes": sorted(
                (o.canvas_outcome_id, o.title, tuple(o.group_path), o.display_name)
                for o in db.scalars(select(CourseOutcome))
            ),
            "students": sorted(
                (s.canvas_user_id, s.name, tuple(s.section_ids))
                for s in db.scalars(select(CourseStudent))
            ),
            "sections": sorted(
                (s.canvas_section_id, s.name) for s in db.scalars(select(CourseSection))
            ),
            "results": sorted(
                (r.canvas_result_id, r.canvas_user_id, r.score, r.from_carrier)
                for r in db.scalars(select(CourseOutcomeResult))
            ),
            "rollups": sorted(
                (r.rollup_key, r.score, r.count) for r in db.scalars(select(CourseRollup))
            ),
        }


def test_first_apply_inserts_everything(sync_app: Flask, platform_id: int) -> None:
    summary = apply(sync_app, platform_id, snapshot())
    assert summary["counts"] == {
        "outcomes": 2,
        "sections": 2,
        "students": 2,
        "results": 3,
        "carrier_results": 0,
        "rollups": 1,
        "observers": 0,
    }
    assert summary["read"]["scale_basis"] == "root_account_flag"
    assert summary["read"]["rollups_read"] is True
    rows = dump(sync_app)
    assert rows["rollups"] == [("812:97", 3.0, 1)]
    assert rows["outcomes"][0] == ("97", "RL.3.2", ("Reading", "Literature"), "Main idea")
    assert rows["students"][1] == ("813", "Alan Turing", ("45", "46"))
    with session_scope(sync_app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        assert course.scale_source == SCALE_COURSE
        assert course.mastery_scale is not None
        assert [r["points"] for r in course.mastery_scale] == [4.0, 3.0, 0.0]
        assert course.last_synced_at == T0
        stored = db.scalars(
            select(CourseOutcomeResult).where(CourseOutcomeResult.canvas_result_id == "4711")
        ).one()
        assert stored.submitted_or_assessed_at == T0
        assert stored.mastery is True and stored.percent == 0.75


def test_second_apply_of_the_same_snapshot_changes_nothing(
    sync_app: Flask, platform_id: int
) -> None:
    apply(sync_app, platform_id, snapshot())
    before = dump(sync_app)
    with session_scope(sync_app) as db:
        ids_before = sorted(db.scalars(select(CourseOutcomeResult.id)))
    summary = apply(sync_app, platform_id, snapshot())
    assert summary["scale_changed"] is False
    assert all(c == {"added": 0, "updated": 0, "removed": 0} for c in summary["changes"].values())
    assert dump(sync_app) == before
    with session_scope(sync_app) as db:
        # The same rows, not deleted and re-inserted.
        assert sorted(db.scalars(select(CourseOutcomeResult.id))) == ids_before


def test_incremental_apply_updates_adds_and_removes(sync_app: Flask, platform_id: int) -> None:
    apply(sync_app, platform_id, snapshot())
    snap = snapshot()
    results = dict(snap.results)
    results["4712"] = dataclasses.replace(results["4712"], score=4.0, percent=1.0, mastery=True)
    results["4720"] = ResultRow("4720", "813", "98", "assignment_60", "60", 1.0, 4.0, 0.25)
    del results["4713"]  # its outcome link was removed in Canvas
    outcomes = {k: v for k, v in snap.outcomes.items() if k != "98"}
    outcomes["97"] = dataclasses.replace(outcomes["97"], title="RL.3.2 (revised)")
    results = {k: v for k, v in results.items() if v.canvas_outcome_id in outcomes}
    students = {k: v for k, v in snap.students.items() if k != "812"}  # dropped
    results = {k: v for k, v in results.items() if v.canvas_user_id in students}
    changed = dataclasses.replace(
        snap, outcomes=outcomes, students=students, results=results, mastery_scale=SCALE[:2]
    )
    summary = apply(sync_app, platform_id, changed)
    assert summary["scale_changed"] is True
    assert summary["changes"]["outcomes"] == {"added": 0, "updated": 1, "removed": 1}
    assert summary["changes"]["students"] == {"added": 0, "updated": 0, "removed": 1}
    assert summary["changes"]["results"] == {"added": 0, "updated": 1, "removed": 2}
    rows = dump(sync_app)
    assert rows["outcomes"] == [("97", "RL.3.2 (revised)", ("Reading", "Literature"), "Main idea")]
    assert rows["students"] == [("813", "Alan Turing", ("45", "46"))]
    assert rows["results"] == [("4712", "813", 4.0, False)]
    # And the same end state as applying the changed snapshot to an empty course.
    with session_scope(sync_app) as db:
        for model in (CourseOutcomeResult, CourseStudent, CourseSection, CourseOutcome):
            db.query(model).delete()
        db.query(CanvasCourse).delete()
    apply(sync_app, platform_id, changed)
    assert dump(sync_app) == rows


def _carrier(platform_id: int, course: str, assignment: str, round_: int) -> CarrierAssignment:
    return CarrierAssignment(
        platform_id=platform_id,
        canvas_course_id=course,
        canvas_assignment_id=assignment,
        kind="demonstration",
        round=round_,
        name=f"Mastery Pathways evidence, round {round_}",
        marker=f"m{course}{assignment}",
        criteria={},
    )


def test_carrier_results_are_flagged_and_a_later_carrier_is_honoured(
    sync_app: Flask, platform_id: int
) -> None:
    with session_scope(sync_app) as db:
        db.add(_carrier(platform_id, "12", "53", 1))
        # Same assignment id in ANOTHER course is not a carrier of this one.
        db.add(_carrier(platform_id, "99", "60", 1))
    summary = apply(sync_app, platform_id, snapshot())
    assert summary["counts"]["carrier_results"] == 2
    flags = {r[0]: r[3] for r in dump(sync_app)["results"]}
    assert flags == {"4711": True, "4712": True, "4713": False}

    with session_scope(sync_app) as db:
        db.add(_carrier(platform_id, "12", "60", 2))
    summary = apply(sync_app, platform_id, snapshot())
    assert summary["changes"]["results"]["updated"] == 1
    assert {r[0]: r[3] for r in dump(sync_app)["results"]}["4713"] is True


def test_outcome_ratings_scale_when_the_course_has_none(sync_app: Flask, platform_id: int) -> None:
    snap = dataclasses.replace(snapshot(), scale_source=SCALE_OUTCOMES, mastery_scale=None)
    outcomes = dict(snap.outcomes)
    outcomes["97"] = dataclasses.replace(
        outcomes["97"],
        points_possible=5.0,
        mastery_points=3.0,
        ratings=(RatingRow(5.0, "Exceeds"), RatingRow(3.0, "Meets")),
    )
    apply(sync_app, platform_id, dataclasses.replace(snap, outcomes=outcomes))
    with session_scope(sync_app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        assert (course.scale_source, course.mastery_scale) == (SCALE_OUTCOMES, None)
        outcome = db.scalars(
            select(CourseOutcome).where(CourseOutcome.canvas_outcome_id == "97")
        ).one()
        assert [r["points"] for r in outcome.ratings] == [5.0, 3.0]
        assert outcome.mastery_points == 3.0
        assert db.scalar(select(func.count()).select_from(CourseOutcomeResult)) == 3


def test_courses_and_tenants_stay_apart(sync_app: Flask, platform_id: int) -> None:
    apply(sync_app, platform_id, snapshot())
    other = dataclasses.replace(snapshot(), canvas_course_id="13", results={})
    apply(sync_app, platform_id, other)
    with session_scope(sync_app) as db:
        by_course = dict(
            db.execute(
                select(CanvasCourse.canvas_course_id, func.count(CourseOutcomeResult.id))
                .join(
                    CourseOutcomeResult,
                    CourseOutcomeResult.course_pk == CanvasCourse.id,
                    isouter=True,
                )
                .group_by(CanvasCourse.canvas_course_id)
            ).all()
        )
    assert by_course == {"12": 3, "13": 0}


def test_course_name_and_assignment_names_are_kept_and_follow_canvas(
    sync_app: Flask, platform_id: int
) -> None:
    named = dataclasses.replace(
        snapshot(),
        course_name="Reading 3 – Period 1",
        alignments={
            "assignment_53": AlignmentRow("assignment_53", "Unit 2 essay"),
            "assignment_60": AlignmentRow("assignment_60", "Unit 3 quiz"),
        },
    )
    apply(sync_app, platform_id, named)
    again = apply(sync_app, platform_id, named)
    assert again["changes"]["alignments"] == {"added": 0, "updated": 0, "removed": 0}
    renamed = dataclasses.replace(
        named,
        course_name="Reading 3 – Period 2",
        alignments={"assignment_53": AlignmentRow("assignment_53", "Unit 2 essay (final)")},
    )
    changes = apply(sync_app, platform_id, renamed)["changes"]["alignments"]
    assert changes == {"added": 0, "updated": 1, "removed": 1}
    with session_scope(sync_app) as db:
        course = db.scalars(select(CanvasCourse)).one()
        assert course.name == "Reading 3 – Period 2"
        assert course.label == "Reading 3 – Period 2 (course 12)"
        assert [(a.alignment, a.name) for a in db.scalars(select(CourseAlignment))] == [
            ("assignment_53", "Unit 2 essay (final)")
        ]
    # a snapshot that did not read the name (None) leaves it as it was
    apply(sync_app, platform_id, dataclasses.replace(renamed, course_name=None))
    with session_scope(sync_app) as db:
        assert db.scalars(select(CanvasCourse)).one().name == "Reading 3 – Period 2"
