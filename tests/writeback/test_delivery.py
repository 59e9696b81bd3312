"""Write-back end to end against the Canvas sandbox: carriers, rounds, verification, and the
invariants (nothing destroyed, nothing duplicated, nothing re-sent)."""

from __future__ import annotations

import pytest

from lti_app.db import session_scope
from tests.writeback.harness import world
from tests.writeback.test_invariants import make_due_now


def test_scored_demonstrations_become_canvas_results_on_round_carriers(backend_url: str) -> None:
    with world(backend_url) as w:
        a, b = w.students[0], w.students[1]
        rl, ri = w.outcomes[0], w.outcomes[1]
        before = w.canvas_results()
        w.score(a, rl, "3")
        w.score(a, ri, "2.5")
        w.score(b, rl, "4")
        report = w.deliver()
        assert report.delivered == 3, report
        [carrier] = w.carriers()
        assert carrier.round == 1 and carrier.canvas_assignment_id is not None
        aid = int(carrier.canvas_assignment_id)
        after = w.canvas_results()
        new = {k: v[0] for k, v in after.items() if k not in before}
        assert new == {
            (int(a), int(rl), aid): 3.0,
            (int(a), int(ri), aid): 2.5,
            (int(b), int(rl), aid): 4.0,
        }
        assert {k: v for k, v in after.items() if k in before} == before  # nothing changed
        assert all(i.status == "delivered" for i in w.items())

        # A second demonstration of the same target lands on round 2: the first stays.
        w.score(a, rl, "4")
        assert w.deliver().delivered == 1
        assert [c.round for c in w.carriers()] == [1, 2]
        second = int(w.carriers()[1].canvas_assignment_id or 0)
        final = w.canvas_results()
        assert final[(int(a), int(rl), aid)][0] == 3.0
        assert final[(int(a), int(rl), second)][0] == 4.0
        assert w.trap_fired() == 0

        # Nothing due: nothing sent.
        stats = w.sb.stats()["total"]
        assert w.deliver().requests == 0
        assert w.sb.stats()["total"] == stats


def test_the_next_sync_recognises_carrier_results_and_counts_each_demonstration_once() -> None:
    from lti_app.grading.course_mastery import evidence_of, load
    from lti_app.policies.store import effective_policy
    from tests.writeback.harness import sync

    with world() as w:
        a, rl = w.students[2], w.outcomes[0]
        w.score(a, rl, "3.5")
        assert w.deliver().delivered == 1
        sync(w.app, w.platform_id, w.course, w.teacher)
        [carrier] = w.carriers()
        with w.app.app_context(), session_scope(w.app) as db:
            data = load(db, w.platform_id, w.course)
            mine = [
                r for r in data.results if r.canvas_assignment_id == carrier.canvas_assignment_id
            ]
            assert [(r.canvas_user_id, r.score, r.from_carrier) for r in mine] == [(a, 3.5, True)]
            canvas = evidence_of(
                data.results, effective_policy(db, w.platform_id, w.course).mapping
            )
            assert not any(e.id == f"canvas:{mine[0].canvas_result_id}" for e in canvas[(a, rl)])
            tool = data.tool.get((a, rl), [])
            assert all(e.id is not None for e in tool)
            demos = [e for e in tool if e.id is not None and e.id.startswith("demo:")]
            assert [e.score for e in demos] == [3.5]


def test_the_carrier_rubric_carries_the_district_levels_and_reads_back_as_the_same_level() -> None:
    from lti_app.policies.store import effective_policy

    with world() as w:
        student = w.students[3]
        with w.app.app_context(), session_scope(w.app) as db:
            eff = effective_policy(db, w.platform_id, w.course)
        for outcome, level in zip(w.outcomes, eff.scale.values, strict=False):
            w.score(student, outcome, str(level))
        assert w.deliver().delivered == min(len(w.outcomes), len(eff.scale.values))
        [carrier] = w.carriers()
        state = w.sb.state
        assignment = state.assignments[int(carrier.canvas_assignment_id or 0)]
        assert assignment.published and assignment.omit_from_final_grade
        assert assignment.submission_types == ["none"]
        rubric = state.rubrics[int(carrier.rubric_id or 0)]
        assert {c.learning_outcome_id for c in rubric.criteria} == {int(o) for o in w.outcomes}
        labels = {lv.value: lv.label for lv in eff.scale.levels}
        for criterion in rubric.criteria:
            ratings = {r.points: r.description for r in criterion.ratings}
            for value, label in labels.items():
                assert ratings[eff.mapping.to_canvas_points(value)] == label
        # Canvas's own view of each written result maps back to the level that was scored.
        results = [
            r
            for r in state.results.values()
            if r.assignment_id == assignment.id and r.user_id == int(student)
        ]
        by_outcome = {r.outcome_id: r for r in results}
        for outcome, level in zip(w.outcomes, eff.scale.values, strict=False):
            r = by_outcome[int(outcome)]
            assert eff.mapping.to_level(r.score, r.possible) == level


def test_scoring_commits_its_outbox_row_in_the_same_transaction() -> None:

    from lti_app.mastery.pathways import Role
    from lti_app.pathways import service as svc
    from lti_app.policies.store import effective_policy
    from lti_app.writeback import outbox

    with world() as w:
        student, outcome = w.students[4], w.outcomes[1]
        s, t = w.actor(student), w.actor(w.teacher, Role.TEACHER)
        with w.app.app_context(), session_scope(w.app) as db:
            demo = svc.choose(db, s, outcome, "test")
            svc.submit(db, s, demo.id, "Work", "")
            demo_id = demo.id

        def score_then_fail() -> None:
            with w.app.app_context(), session_scope(w.app) as db:
                svc.score(db, t, demo_id, "3")
                raise RuntimeError("the request failed after scoring")

        with pytest.raises(RuntimeError):
            score_then_fail()
        assert w.items() == []  # rolled back with the score
        with w.app.app_context(), session_scope(w.app) as db:
            scored = svc.score(db, t, demo_id, "3")
            eff = effective_policy(db, w.platform_id, w.course)
            again = outbox.enqueue_demonstration(db, scored, eff)
            assert again is not None and again.idempotency_key == f"demo:{demo_id}"
        [item] = w.items()
        assert (item.status, item.round, item.points, item.demonstration_id) == (
            "pending",
            1,
            3.0,
            demo_id,
        )


def test_a_student_who_left_the_course_fails_alone_and_the_others_are_delivered() -> None:
    with world() as w:
        stays, leaves = w.students[5], w.students[6]
        w.score(stays, w.outcomes[0], "3")
        w.score(leaves, w.outcomes[0], "2")
        state = w.sb.state
        with state.lock:
            for e in state.enrollments.values():
                if e.course_id == int(w.course) and e.user_id == int(leaves):
                    e.workflow_state = "deleted"
        # A fresh carrier is written without a read first; Canvas refuses the bulk job naming
        # the student who left, and the next pass finds them out by reading.
        for _ in range(3):
            w.deliver()
            make_due_now(w)
        status = {i.canvas_user_id: (i.status, i.last_error) for i in w.items()}
        assert status[stays] == ("delivered", None)
        assert status[leaves][0] == "failed"
        assert "no longer in the course or not assigned" in (status[leaves][1] or "")
        [carrier] = w.carriers()
        held = w.canvas_results()
        assert (
            held[(int(stays), int(w.outcomes[0]), int(carrier.canvas_assignment_id or 0))][0] == 3
        )
