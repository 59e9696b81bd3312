"""Parsing real Canvas shapes: payloads come from the sandbox's serializers (the same source of
truth the sandbox answers with), seeded by its demo district; garbage raises BadPayload."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest

import canvas_sandbox.outcomes as sandbox_outcomes
import canvas_sandbox.rubrics as sandbox_rubrics
import canvas_sandbox.seed as seed
import canvas_sandbox.serializers as ser
import canvas_sandbox.state as sandbox_state
from lti_app.canvas.client.errors import BadPayload
from lti_app.canvas.client.types import (
    assignment_id_of,
    dedupe_rollups,
    is_outcomes_service_id,
    parse_assignment,
    parse_enrollment,
    parse_outcome_group,
    parse_outcome_link,
    parse_outcome_result,
    parse_outcome_results_page,
    parse_proficiency,
    parse_progress,
    parse_rollup,
    parse_rubric_created,
    parse_section,
    parse_submission,
    parse_user,
)
from tests.sandbox_results import canvas_result_id

BASE_URL = "http://localhost:8100"


@pytest.fixture(scope="module")
def district() -> tuple[Any, Any]:
    state = sandbox_state.SandboxState()
    ids = seed.demo_district(state)
    return state, ids


def test_outcome_links_full_style_carry_the_course_scale(district: tuple[Any, Any]) -> None:
    state, ids = district
    links = sandbox_outcomes.course_links(state, ids.ela_course)
    parsed = [
        parse_outcome_link(
            ser.outcome_link_json(state, link, outcome_style="full", outcome_group_style="full")
        )
        for link in links
    ]
    assert len(parsed) == len(links) == len(ids.ela_outcomes)
    assert {p.outcome.id for p in parsed} == {str(i) for i in ids.ela_outcomes.values()}
    first = parsed[0]
    # account_level_mastery_scales is on: scoring comes from the course's resolved scale
    assert first.outcome.points_possible == 4.0
    assert first.outcome.mastery_points == 3.0
    assert [r.points for r in first.outcome.ratings] == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert sum(1 for r in first.outcome.ratings if r.mastery) == 1
    assert first.outcome.calculation_method == "decaying_average"
    assert first.outcome.calculation_int == 65
    assert first.context_type == "Course" and first.context_id == str(ids.ela_course)
    assert all(p.group.parent_id is not None for p in parsed)  # none links into the root


def test_outcome_groups_form_a_tree(district: tuple[Any, Any]) -> None:
    state, ids = district
    groups = [
        parse_outcome_group(
            ser.outcome_group_json(g, style="full", parent=state.outcome_groups.get(g.parent_id))
        )
        for g in state.outcome_groups.values()
        if g.context_type == "Course" and g.context_id == ids.ela_course
    ]
    by_id = {g.id: g for g in groups}
    roots = [g for g in groups if g.parent_id is None]
    assert len(roots) == 1
    assert all(g.parent_id in by_id for g in groups if g.parent_id is not None)


def test_proficiency(district: tuple[Any, Any]) -> None:
    state, ids = district
    scale = sandbox_outcomes.resolved_scale(state, "Course", ids.ela_course)
    assert scale is not None
    proficiency = parse_proficiency(ser.proficiency_json(scale))
    assert proficiency.points_possible == 4.0
    assert proficiency.mastery_points == 3.0
    assert all(r.color for r in proficiency.ratings)


def test_outcome_results_with_asset_string_alignments(district: tuple[Any, Any]) -> None:
    state, _ = district
    results = [r for r in state.results.values() if r.workflow_state == "active"]
    assert results
    for raw in results:
        parsed = parse_outcome_result(ser.outcome_result_json(raw))
        assert parsed.id == canvas_result_id(raw)
        assert parsed.user_id == str(raw.user_id)
        assert parsed.outcome_id == str(raw.outcome_id)
        assert parsed.alignment == f"assignment_{raw.assignment_id}"
        assert parsed.assignment_id == raw.assignment_id
        assert parsed.hidden is raw.hidden
        assert parsed.score == raw.score
        if parsed.submitted_or_assessed_at is not None:
            assert parsed.submitted_or_assessed_at.tzinfo == UTC
    assert any(parse_outcome_result(ser.outcome_result_json(r)).hidden for r in results)


def test_outcome_results_page_with_linked(district: tuple[Any, Any]) -> None:
    state, ids = district
    raw = [r for r in state.results.values() if r.workflow_state == "active"][:5]
    body = {
        "outcome_results": [ser.outcome_result_json(r) for r in raw],
        "linked": {
            "users": [ser.linked_user_json(state.users[r.user_id]) for r in raw[:1]],
            "alignments": [ser.alignment_json(state, raw[0].assignment_id, BASE_URL)],
            "outcomes": [
                ser.outcome_json(
                    state, state.outcomes[raw[0].outcome_id], context=("Course", ids.ela_course)
                )
            ],
        },
    }
    page = parse_outcome_results_page(body)
    assert len(page.results) == 5
    assert page.linked.users[0].id == str(raw[0].user_id)
    assert page.linked.alignments[0].id == f"assignment_{raw[0].assignment_id}"
    assert page.linked.outcomes[0].mastery_points == 3.0
    assert parse_outcome_results_page({"outcome_results": []}).linked.outcomes == ()


def test_assignment_with_embedded_rubric(district: tuple[Any, Any]) -> None:
    state, ids = district
    assignment = state.assignments[ids.ela_assignments[0]]
    association = sandbox_rubrics.grading_association(state, assignment.id)
    parsed = parse_assignment(ser.assignment_json(state, assignment, BASE_URL, association))
    assert parsed.id == str(assignment.id) and parsed.name == assignment.name
    assert parsed.rubric
    outcome_rows = [c for c in parsed.rubric if c.learning_outcome_id is not None]
    assert outcome_rows
    assert {c.learning_outcome_id for c in outcome_rows} <= {
        str(i) for i in ids.ela_outcomes.values()
    }
    assert all(c.points == max(r.points for r in c.ratings) for c in parsed.rubric)
    assert parsed.rubric_settings is not None and parsed.rubric_settings["id"] is not None


def test_rubric_create_response_and_submission(district: tuple[Any, Any]) -> None:
    state, ids = district
    assignment_id = ids.ela_assignments[0]
    association = sandbox_rubrics.grading_association(state, assignment_id)
    assert association is not None
    rubric = state.rubrics[association.rubric_id]
    created = parse_rubric_created(ser.rubric_create_json(rubric, association))
    assert created.rubric_id == str(rubric.id)
    assert created.association_id == str(association.id)
    assert [c.id for c in created.criteria] == [c.id for c in rubric.criteria]
    assert all(c.learning_outcome_id for c in created.criteria if c.mastery_points is not None)

    student = ids.students[0]
    assessment = sandbox_rubrics.assessment_for(state, association.id, student)
    submission = sandbox_rubrics.submission_for(state, assignment_id, student)
    parsed = parse_submission(ser.submission_json(submission, BASE_URL, ids.ela_course, assessment))
    assert parsed.user_id == str(student)
    assert parsed.assignment_id == str(assignment_id)
    if assessment is not None:
        assert parsed.rubric_assessment is not None
        assert set(parsed.rubric_assessment) == set(assessment.data)


def test_roster_shapes(district: tuple[Any, Any]) -> None:
    state, ids = district
    section = state.sections[ids.ela_sections[0]]
    assert parse_section(ser.section_json(section)).course_id == str(ids.ela_course)
    enrollment = next(
        e
        for e in state.enrollments.values()
        if e.course_id == ids.ela_course and e.type == "StudentEnrollment"
    )
    parsed = parse_enrollment(
        ser.enrollment_json(enrollment, BASE_URL, ids.account, state.users[enrollment.user_id])
    )
    assert parsed.user is not None and parsed.user.id == parsed.user_id
    assert parsed.enrollment_state == "active"
    teacher = parse_user(ser.self_user_json(state.users[ids.teacher]))
    assert teacher.id == str(ids.teacher) and teacher.sortable_name


def test_progress_shape() -> None:
    progress = parse_progress(
        {
            "id": 1,
            "context_id": 12,
            "context_type": "Course",
            "user_id": 5,
            "tag": "submissions_update",
            "completion": 100,
            "workflow_state": "completed",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:05Z",
            "message": None,
            "results": None,
            "url": "https://canvas.example.edu/api/v1/progress/1",
        }
    )
    assert progress.done and progress.completion == 100.0


def test_rollups_dedupe_multi_section_students() -> None:
    rows = [
        parse_rollup(
            {"scores": [], "links": {"user": user, "section": section, "status": "active"}}
        )
        for user, section in (("812", "45"), ("812", "46"), ("813", "45"))
    ]
    assert [(r.user_id, r.section_id) for r in dedupe_rollups(rows)] == [
        ("812", "45"),
        ("813", "45"),
    ]


def test_assignment_ids_come_only_from_assignment_asset_strings() -> None:
    assert assignment_id_of("assignment_53") == 53
    assert assignment_id_of("quizzes:quiz_7") is None
    assert assignment_id_of("assessment_question_bank_9") is None
    assert assignment_id_of("53") is None  # the docs' bare id is not an asset string
    assert assignment_id_of(None) is None


GOOD_RESULT: dict[str, Any] = {
    "id": 4711,
    "score": 3.0,
    "links": {"user": "812", "learning_outcome": "97", "alignment": "assignment_53"},
}


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        [],
        {**GOOD_RESULT, "id": True},
        {**GOOD_RESULT, "links": None},
        {**GOOD_RESULT, "links": {"user": "812"}},
        {**GOOD_RESULT, "score": "three"},
        {**GOOD_RESULT, "mastery": "yes"},
        {**GOOD_RESULT, "submitted_or_assessed_at": "last tuesday"},
        {**GOOD_RESULT, "links": {**GOOD_RESULT["links"], "alignment": 53}},
    ],
)
def test_garbage_results_raise_bad_payload(garbage: Any) -> None:
    with pytest.raises(BadPayload):
        parse_outcome_result(garbage)


def test_a_new_quizzes_result_without_id_gets_a_stable_key() -> None:
    """canvas-lms merges Outcomes Service results unsaved ("id": null, reference 8.5): the
    student, outcome, alignment, assignment and time name one across syncs (a re-scored result
    keeps its key; a retake at another time is another result); other results keep their id."""
    first = parse_outcome_result({**GOOD_RESULT, "id": None})
    again = parse_outcome_result({**GOOD_RESULT, "id": None, "score": 1.0})
    other_outcome = parse_outcome_result(
        {**GOOD_RESULT, "id": None, "links": {**GOOD_RESULT["links"], "learning_outcome": "9"}}
    )
    later = parse_outcome_result(
        {**GOOD_RESULT, "id": None, "submitted_or_assessed_at": "2030-01-01T00:00:00Z"}
    )
    other_quiz = parse_outcome_result(
        {**GOOD_RESULT, "id": None, "links": {**GOOD_RESULT["links"], "assignment": "assignment_9"}}
    )
    assert first.id == again.id and is_outcomes_service_id(first.id)
    assert len({first.id, other_outcome.id, later.id, other_quiz.id}) == 4
    assert not is_outcomes_service_id(parse_outcome_result(GOOD_RESULT).id)
    assert len(first.id) <= 64  # fits canvas_result_id
    assert parse_outcome_result(GOOD_RESULT).id == str(GOOD_RESULT["id"])


def test_old_canvas_results_with_only_id_score_links_parse() -> None:
    parsed = parse_outcome_result(GOOD_RESULT)
    assert parsed.assignment_id == 53
    assert parsed.possible is None and parsed.mastery is None and parsed.hidden is False


@pytest.mark.parametrize(
    ("parser", "garbage"),
    [
        (parse_proficiency, {"ratings": []}),
        (parse_proficiency, {"ratings": [{"points": "x", "description": "a"}]}),
        (parse_outcome_results_page, {"rollups": []}),
        (parse_outcome_link, {"outcome": {"id": 1, "title": "t"}}),
        (parse_enrollment, {"id": 1, "user_id": 2, "type": "StudentEnrollment"}),
        (parse_rubric_created, {"error": True, "messages": ["bad"]}),
        (parse_user, {"id": 1}),
    ],
)
def test_garbage_everywhere_raises_bad_payload(parser: Any, garbage: Any) -> None:
    with pytest.raises(BadPayload):
        parser(garbage)
