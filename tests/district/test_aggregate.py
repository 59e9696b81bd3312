"""The district aggregates, built by the after-sync hook of the real course sync: one level per
student and account target across courses, refreshed by each re-sync, and per tenant."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.district import dashboard as dash
from lti_app.models.district import DistrictLevel
from lti_app.models.tenancy import Platform
from tests.district.conftest import (
    account_outcome,
    canvas_course,
    cell_count,
    course_outcome,
    enrollment,
    levels,
    scored,
    sync,
)

D1 = account_outcome("501", "D.1")
D2 = account_outcome("502", "D.2")
LEVELS = 9  # the built-in Marzano 0-4 half-point scale


def two_courses(app: Flask, platform_id: int) -> None:
    """Ada (812) is in both courses, which both assess D.1; Alan only in 12, Grace only in 13."""
    sync(
        app,
        platform_id,
        "12",
        canvas_course(
            [D1, D2, course_outcome("97", "Own target", "12")],
            [enrollment("812", "Ada Lovelace"), enrollment("813", "Alan Turing")],
            [
                scored("1", "812", "501", 2.0, weeks=0),
                scored("2", "813", "501", 4.0),
                scored("3", "812", "97", 4.0),
            ],
            account_id="2",
            name="Algebra",
        ),
    )
    sync(
        app,
        platform_id,
        "13",
        canvas_course(
            [D1],
            [enrollment("812", "Ada Lovelace", "47"), enrollment("814", "Grace Hopper", "47")],
            [scored("11", "812", "501", 4.0, weeks=1)],
            account_id="3",
            name="Geometry",
        ),
    )


def test_a_student_in_two_courses_counts_once_per_target_with_evidence_from_both(
    sync_app: Flask, platform_id: int
) -> None:
    two_courses(sync_app, platform_id)
    with session_scope(sync_app) as db:
        found = levels(db, platform_id)
        # Ada's D.1 from both courses in Canvas order: decaying average 65 of 2 then 4.
        assert found[("812", "501")] == (3.3, True)
        assert found[("813", "501")] == (4.0, True)
        assert found[("814", "501")] == (None, False)  # in a course that links it, no evidence
        assert ("812", "97") not in found  # a course's own outcome is no district target
        assert ("814", "502") not in found  # course 13 does not link D.2
        whole = {
            r.canvas_outcome_id: r for r in dash.target_rows(db, platform_id, dash.Scope(), LEVELS)
        }
        assert whole["501"].students == 3  # Ada once, not twice
        assert whole["501"].mastered == 2
        assert whole["502"].students == 2
        # Both schools at once (a term filter): the distinct count still sees Ada once.
        termed = dash.target_rows(db, platform_id, dash.Scope(term_id="1"), LEVELS)
        assert {r.canvas_outcome_id: r.students for r in termed} == {"501": 3, "502": 2}
        assert [r.counts for r in termed] == [r.counts for r in whole.values()]
        school = dash.target_rows(db, platform_id, dash.Scope(account_id="3"), LEVELS)
        assert [(r.canvas_outcome_id, r.students, r.mastered) for r in school] == [("501", 2, 1)]
        schools = {g.key: g for g in dash.group_rows(db, platform_id, dash.Scope(), "account")}
        assert (schools["2"].students, schools["2"].pairs, schools["2"].mastered) == (2, 4, 2)
        assert (schools["3"].students, schools["3"].pairs, schools["3"].mastered) == (2, 2, 1)


def test_a_re_sync_refreshes_the_course_students_and_forgets_who_left(
    sync_app: Flask, platform_id: int
) -> None:
    two_courses(sync_app, platform_id)
    assert cell_count(sync_app, platform_id) == 2 * 2 + 2  # course 12: 2 x 2, course 13: 2 x 1
    # Alan leaves course 12; Ada earns a 1 there (after her 4 in course 13).
    sync(
        sync_app,
        platform_id,
        "12",
        canvas_course(
            [D1, D2],
            [enrollment("812", "Ada Lovelace")],
            [scored("1", "812", "501", 2.0), scored("4", "812", "501", 1.0, weeks=2)],
            account_id="2",
        ),
    )
    with session_scope(sync_app) as db:
        found = levels(db, platform_id)
        assert ("813", "501") not in found and ("813", "502") not in found
        # 2, 4 (course 13), 1: 0.65 x 1 + 0.35 x avg(2, 4) = 1.7
        assert found[("812", "501")] == (1.7, False)
        whole = {
            r.canvas_outcome_id: r for r in dash.target_rows(db, platform_id, dash.Scope(), LEVELS)
        }
        assert whole["501"].students == 2
    assert cell_count(sync_app, platform_id) == 2 + 2


def test_another_platforms_data_is_never_counted(sync_app: Flask, platform_id: int) -> None:
    two_courses(sync_app, platform_id)
    with session_scope(sync_app) as db:
        other = Platform(
            issuer="https://other.example",
            client_id="other",
            auth_login_url="https://other.example/a",
            auth_token_url="https://other.example/t",
            jwks_url="https://other.example/j",
            canvas_url="https://other.example",
        )
        db.add(other)
        db.flush()
        other_id = other.id
    # The same Canvas ids (another Canvas numbers from 1 too), the same student id.
    sync(
        sync_app,
        other_id,
        "12",
        canvas_course(
            [D1],
            [enrollment("812", "Someone Else"), enrollment("900", "Zed Zed")],
            [scored("1", "812", "501", 0.0), scored("2", "900", "501", 0.0)],
        ),
    )
    with session_scope(sync_app) as db:
        mine = {
            r.canvas_outcome_id: r for r in dash.target_rows(db, platform_id, dash.Scope(), LEVELS)
        }
        assert mine["501"].students == 3 and mine["501"].mastered == 2
        scoped = dash.target_rows(db, platform_id, dash.Scope(account_id="2"), LEVELS)
        assert {r.canvas_outcome_id: r.students for r in scoped} == {"501": 2, "502": 2}
        theirs = dash.target_rows(db, other_id, dash.Scope(), LEVELS)
        assert [(r.students, r.mastered) for r in theirs] == [(2, 0)]
        ada = db.scalars(
            select(DistrictLevel.level).where(
                DistrictLevel.platform_id == platform_id,
                DistrictLevel.canvas_user_id == "812",
                DistrictLevel.canvas_outcome_id == "501",
            )
        ).one()
        assert ada == 3.3  # the other Canvas's 0 for "812" is not this Ada's evidence


def test_one_school_two_courses_and_two_sections_still_count_a_student_once(
    sync_app: Flask, platform_id: int
) -> None:
    """Ada is in two courses of school 2 (and in two sections of the first); every view of
    the school, its term and its courses counts her once per target."""
    sync(
        sync_app,
        platform_id,
        "12",
        canvas_course(
            [D1, D2],
            [
                enrollment("812", "Ada Lovelace", "45"),
                enrollment("812", "Ada Lovelace", "46"),
                enrollment("813", "Alan Turing", "46"),
            ],
            [scored("1", "812", "501", 4.0), scored("2", "813", "501", 1.0)],
        ),
    )
    sync(
        sync_app,
        platform_id,
        "13",
        canvas_course([D1], [enrollment("812", "Ada Lovelace", "47")], []),
    )
    with session_scope(sync_app) as db:
        for scope in (dash.Scope(account_id="2"), dash.Scope(account_id="2", term_id="1")):
            rows = {
                r.canvas_outcome_id: r for r in dash.target_rows(db, platform_id, scope, LEVELS)
            }
            assert (rows["501"].students, rows["501"].mastered) == (2, 1), scope
            assert rows["502"].students == 2, scope
        for scope in (dash.Scope(), dash.Scope(term_id="1")):
            (school,) = dash.group_rows(db, platform_id, scope, "account")
            assert (school.students, school.pairs, school.mastered) == (2, 4, 1), scope
        courses = {g.key: g for g in dash.group_rows(db, platform_id, dash.Scope(), "course")}
        assert sorted((g.students, g.pairs, g.mastered) for g in courses.values()) == [
            (1, 1, 1),  # course 13: Ada on D.1
            (2, 4, 1),  # course 12: Ada and Alan on D.1 and D.2, Ada once despite two sections
        ]
        course_pk = next(int(k) for k, g in courses.items() if g.pairs == 4)
        sections = {
            g.key: (g.students, g.pairs)
            for g in dash.group_rows(db, platform_id, dash.Scope(course_pk=course_pk), "section")
        }
        assert sections == {"45": (1, 2), "46": (2, 4)}
        in_course = dash.target_rows(db, platform_id, dash.Scope(course_pk=course_pk), LEVELS)
        assert [r.students for r in in_course] == [2, 2]


def test_the_tools_own_evidence_reaches_the_aggregates_without_a_sync(
    sync_app: Flask, platform_id: int
) -> None:
    """A teacher's override is stamped with its course's next evidence version; the periodic
    refresh takes in exactly the students stamped since its last pass (issue 19)."""
    from datetime import UTC, datetime

    from lti_app.district.aggregate import refresh_changed_evidence
    from lti_app.models.pathways import MasteryOverride

    two_courses(sync_app, platform_id)
    assert refresh_changed_evidence(sync_app) == 0  # nothing of the tool's own yet
    with session_scope(sync_app) as db:
        db.add(
            MasteryOverride(
                platform_id=platform_id,
                canvas_course_id="12",
                canvas_user_id="813",
                canvas_outcome_id="502",
                level=1.0,
                reason="Reassessed in conference",
                teacher_canvas_user_id="1",
                created_at=datetime(2026, 11, 2, tzinfo=UTC),
            )
        )
    with session_scope(sync_app) as db:
        assert levels(db, platform_id).get(("813", "502")) == (None, False)  # not counted yet
    assert refresh_changed_evidence(sync_app) == 1  # Alan alone
    with session_scope(sync_app) as db:
        assert levels(db, platform_id)[("813", "502")] == (1.0, False)
        assert levels(db, platform_id)[("813", "501")] == (4.0, True)  # his other target kept
    assert refresh_changed_evidence(sync_app) == 0  # counted: nothing more to do


def test_the_evidence_refresh_is_on_celery_beat(sqlite_url: str, tmp_path: Path) -> None:
    from lti_app.district.setup import TASK_EVIDENCE
    from lti_app.tasks.celery_app import make_celery
    from tests.conftest import close_app, make_app

    app = make_app(sqlite_url, tmp_path, celery_broker_url="memory://")
    try:
        schedule = make_celery(app).conf.beat_schedule[TASK_EVIDENCE]
        assert schedule == {"task": TASK_EVIDENCE, "schedule": 60.0, "options": {"expires": 60.0}}
    finally:
        close_app(app)
