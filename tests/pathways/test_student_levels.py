"""The student pages compute each target's level with ``drill_model.drilldown``'s steps but
read every source once per student; this checks they agree with the teacher's drill-down for
every student and target: Canvas results (hidden and carrier ones left out), scored
demonstrations, a reassessment, an override in force and a cleared one (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from lti_app.db import session_scope
from lti_app.grading import drill as drill_model
from lti_app.grading.charts import chart_of
from lti_app.mastery.pathways import Role
from lti_app.models.pathways import Demonstration
from lti_app.pathways import service as svc
from lti_app.pathways.student_views import my_drills
from lti_app.policies.store import effective_policy
from tests.grading.seed import COURSE, STUDENTS, T0, TARGETS, platform_id, seed_course
from tests.lti_platform import FakePlatform


def _score(app: Flask, pid: int, uid: str, oid: str, level: str, at: datetime) -> int:
    with app.app_context(), session_scope(app) as db:
        student = svc.CourseContext(pid, COURSE, uid, Role.STUDENT)
        d = svc.choose(db, student, oid, "project")
        svc.submit(db, student, d.id, "work", "")
        svc.score(db, svc.CourseContext(pid, COURSE, "900", Role.TEACHER), d.id, level)
        d.scored_at = at  # a known time: before, between and after the Canvas results
        return d.id


def test_the_student_pages_levels_equal_the_teachers_drilldown(
    app: Flask, platform: FakePlatform
) -> None:
    seed_course(app, platform)
    pid = platform_id(app, platform)
    teacher = svc.CourseContext(pid, COURSE, "900", Role.TEACHER)
    first = _score(app, pid, "812", "97", "1.0", T0 + timedelta(days=3))
    _score(app, pid, "813", "99", "4.0", T0 - timedelta(days=2))
    _score(app, pid, "814", "98", "2.5", T0)  # the same second as Cal's Canvas result
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, COURSE, "812", Role.STUDENT)
        svc.request_reassessment(db, ava, first, "practised")
        nxt = svc.approve_reassessment(db, teacher, first)
        svc.submit(db, ava, nxt.id, "again", "")
        svc.score(db, teacher, nxt.id, "3.5")
        svc.set_override(db, teacher, "813", "97", "2.0", "Talked it through")
        cleared = svc.set_override(db, teacher, "814", "99", "4.0", "By mistake")
        db.flush()
        svc.clear_override(db, teacher, cleared.id)
        assert db.query(Demonstration).count() == 4

    now = datetime.now(UTC)
    checked = 0
    with app.app_context(), session_scope(app) as db:
        eff = effective_policy(db, pid, COURSE)
        for uid, _, _ in STUDENTS:
            actor = svc.CourseContext(pid, COURSE, uid, Role.STUDENT)
            outcomes = {o.canvas_outcome_id: o for o in svc.targets(db, actor)}
            mine = my_drills(db, actor, eff, outcomes, now)
            assert set(mine) == {oid for oid, _, _ in TARGETS}
            for oid, _, _ in TARGETS:
                want = drill_model.drilldown(
                    db, pid, COURSE, uid, oid, eff.scale, eff.policy, eff.mapping, now
                )
                got = mine[oid]
                assert got.result == want.result, (uid, oid)
                assert got.growth == want.growth, (uid, oid)
                assert got.level_index == want.level_index
                assert [(r.evidence, r.level_index, r.counts) for r in got.evidence] == [
                    (r.evidence, r.level_index, r.counts) for r in want.evidence
                ]
                assert got.target == want.target
                g_chart, w_chart = chart_of(got, eff.scale), chart_of(want, eff.scale)
                assert (g_chart and g_chart.polyline) == (w_chart and w_chart.polyline)
                checked += bool(want.evidence)
                if (uid, oid) == ("813", "97"):
                    assert got.result.overridden and got.result.value == 2.0
                if (uid, oid) == ("814", "99"):
                    assert got.evidence == []  # the cleared override is no evidence
    # Ava RL.7.2, Ben RL.7.2 and RL.7.3, Cal W.7.1 have evidence: the comparison covered them
    assert checked == 4
