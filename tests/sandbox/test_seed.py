"""The demo district: deterministic, and shaped as the brief promises."""

from __future__ import annotations

from canvas_sandbox import rubrics
from canvas_sandbox.seed import DemoIds, demo_district
from canvas_sandbox.serializers import outcome_result_json
from canvas_sandbox.state import SandboxState


def test_seed_is_deterministic() -> None:
    a, b = SandboxState(), SandboxState()
    ids_a, ids_b = demo_district(a), demo_district(b)
    assert ids_a == ids_b
    assert [outcome_result_json(r) for r in a.results.values()] == [
        outcome_result_json(r) for r in b.results.values()
    ]
    assert [u.name for u in a.users.values()] == [u.name for u in b.users.values()]


def test_seed_shape(state: SandboxState, ids: DemoIds) -> None:
    account = state.accounts[ids.account]
    assert account.name == "Riverside Unified School District"
    assert account.account_level_mastery_scales
    assert account.proficiency is not None and len(account.proficiency) == 5
    assert [r.points for r in account.proficiency if r.mastery] == [3.0]
    assert account.calculation is not None
    assert (account.calculation.method, account.calculation.int_value) == ("decaying_average", 65)
    assert state.users[ids.teacher].short_name == "Ms. Rivera"
    assert len(ids.students) == 30
    assert state.courses[ids.ela_course].course_code == "ELA7-P2"
    assert len(ids.ela_sections) == 2
    sections = {
        e.section_id
        for e in state.enrollments_in(ids.ela_course)
        if e.user_id == ids.two_section_student
    }
    assert sections == set(ids.ela_sections)
    assert len(ids.ela_outcomes) == 12
    assert len(ids.ela_assignments) == 6
    ela = [r for r in state.results.values() if r.course_id == ids.ela_course]
    assert sum(r.hidden for r in ela) == 3
    assert not [r for r in ela if r.user_id == ids.no_results_student]
    # Growth shows: results span about eight weeks.
    times = sorted(r.assessed_at for r in ela)
    assert (times[-1] - times[0]).days >= 45
    # Every assignment has exactly one grading association with outcome criteria.
    for aid in ids.ela_assignments:
        assoc = rubrics.grading_association(state, aid)
        assert assoc is not None
        assert all(c.learning_outcome_id for c in state.rubrics[assoc.rubric_id].criteria)
    assert state.courses[ids.math_course].name.startswith("Math 7")
