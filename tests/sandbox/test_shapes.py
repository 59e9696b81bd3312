"""Serializer shapes against the reference's examples (shared/reference/canvas-api.md).

The key sets below are copied from the reference's JSON examples; the serializers are the
payload source of truth for the tool's mocked tests, so they must not drift from them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from canvas_sandbox import rollups, serializers
from canvas_sandbox.rubrics import grading_association
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import Progress, SandboxState

# outcome_results entry (docs/canvas.md §1.4)
RESULT_KEYS = {
    "id", "score", "possible", "mastery", "percent", "hide_points", "hidden",
    "submitted_or_assessed_at", "links",
}  # fmt: skip
RESULT_LINK_KEYS = {"user", "learning_outcome", "alignment", "assignment"}
# rollup score and rollup (docs/canvas.md §1.5)
ROLLUP_SCORE_KEYS = {"score", "title", "submitted_at", "count", "hide_points", "links"}
ROLLUP_LINK_KEYS = {"user", "section", "status"}
# an outcome, full style, flag off (docs/canvas.md §6.1)
OUTCOME_FULL_KEYS = {
    "id", "context_id", "context_type", "title", "display_name", "vendor_guid", "url",
    "can_edit", "has_updateable_rubrics", "description", "friendly_description", "assessed",
    "points_possible", "mastery_points", "ratings", "calculation_method", "calculation_int",
}  # fmt: skip
# outcome groups and links (docs/canvas.md §6.4)
GROUP_ABBREV_KEYS = {
    "id",
    "title",
    "vendor_guid",
    "url",
    "subgroups_url",
    "outcomes_url",
    "can_edit",
}
GROUP_FULL_EXTRA = {
    "import_url",
    "parent_outcome_group",
    "context_id",
    "context_type",
    "description",
}
LINK_KEYS = {
    "url",
    "context_id",
    "context_type",
    "outcome_group",
    "outcome",
    "assessed",
    "can_unlink",
}
# mastery scale ratings (docs/canvas.md §6.6)
PROFICIENCY_RATING_KEYS = {"description", "points", "mastery", "color"}
# Progress (docs/canvas.md §4.11)
PROGRESS_KEYS = {
    "id",
    "context_id",
    "context_type",
    "user_id",
    "tag",
    "completion",
    "workflow_state",
    "created_at",
    "updated_at",
    "message",
    "url",
}  # fmt: skip  (Api::V1::Progress#progress_json: "results" only once the job stored some)
# assignment rubric rows and settings (docs/canvas.md §1.7)
RUBRIC_ROW_KEYS = {
    "id", "points", "description", "long_description", "ignore_for_scoring", "criterion_use_range",
    "ratings",
}  # fmt: skip
RUBRIC_SETTINGS_KEYS = {
    "id", "title", "points_possible", "free_form_criterion_comments", "hide_score_total",
    "hide_points",
}  # fmt: skip
# rubric create response (docs/canvas.md §3.8)
CRITERION_KEYS = {
    "id", "description", "long_description", "points", "criterion_use_range",
    "learning_outcome_id", "mastery_points", "ignore_for_scoring", "ratings",
}  # fmt: skip
CRITERION_RATING_KEYS = {"id", "description", "long_description", "points", "criterion_id"}
ASSOCIATION_KEYS_MIN = {
    "id", "rubric_id", "association_id", "association_type", "use_for_grading", "purpose",
    "hide_score_total", "hide_points", "hide_outcome_results", "skip_updating_points_possible",
}  # fmt: skip
# brief: Canvas User / Enrollment
USER_KEYS = {"id", "name", "created_at", "sortable_name", "short_name", "sis_user_id", "login_id"}
ENROLLMENT_KEYS_MIN = {
    "id", "user_id", "course_id", "course_section_id", "type", "enrollment_state", "role"
}  # fmt: skip


def test_result_and_rollup_shapes(state: SandboxState, ids: DemoIds) -> None:
    result = next(iter(state.results.values()))
    data = serializers.outcome_result_json(result)
    assert set(data) == RESULT_KEYS and set(data["links"]) == RESULT_LINK_KEYS
    assert data["submitted_or_assessed_at"].endswith("Z")
    score = rollups.rollup_score(state, result.course_id, result.outcome_id, [result])
    rollup = serializers.user_rollup_json(result.user_id, ids.ela_sections[0], "active", [score])
    assert set(rollup["scores"][0]) == ROLLUP_SCORE_KEYS
    assert set(rollup["links"]) == ROLLUP_LINK_KEYS
    assert rollup["scores"][0]["links"] == {"outcome": str(result.outcome_id)}


def test_outcome_group_link_shapes(state: SandboxState, ids: DemoIds) -> None:
    state.accounts[ids.account].account_level_mastery_scales = False
    outcome = state.outcomes[ids.ela_outcomes["RL.7.1"]]
    assert set(serializers.outcome_json(state, outcome)) == OUTCOME_FULL_KEYS
    link = next(iter(state.outcome_links.values()))
    group = state.outcome_groups[link.group_id]
    assert set(serializers.outcome_group_json(group)) == GROUP_ABBREV_KEYS
    assert set(serializers.outcome_group_json(group, style="full")) == (
        GROUP_ABBREV_KEYS | GROUP_FULL_EXTRA
    )
    assert set(serializers.outcome_link_json(state, link)) == LINK_KEYS


def test_scale_progress_rubric_roster_shapes(state: SandboxState, ids: DemoIds) -> None:
    scale = state.accounts[ids.account].proficiency
    assert scale is not None
    body = serializers.proficiency_json(scale)
    assert set(body) == {"ratings"} and set(body["ratings"][0]) == PROFICIENCY_RATING_KEYS
    progress = Progress(1, "Course", ids.ela_course, ids.teacher, "submissions_update")
    assert set(serializers.progress_json(progress, "http://x")) == PROGRESS_KEYS
    progress.results = {"ok": True}
    assert set(serializers.progress_json(progress, "http://x")) == PROGRESS_KEYS | {"results"}
    assignment = state.assignments[ids.ela_assignments[0]]
    assoc = grading_association(state, assignment.id)
    assert assoc is not None
    data = serializers.assignment_json(state, assignment, "http://x", assoc)
    assert set(data["rubric"][0]) >= RUBRIC_ROW_KEYS | {"outcome_id", "vendor_guid"}
    assert set(data["rubric"][0]["ratings"][0]) == {
        "id",
        "points",
        "description",
        "long_description",
    }
    assert set(data["rubric_settings"]) == RUBRIC_SETTINGS_KEYS
    created = serializers.rubric_create_json(state.rubrics[assoc.rubric_id], assoc)
    assert set(created["rubric"]["criteria"][0]) == CRITERION_KEYS
    assert set(created["rubric"]["criteria"][0]["ratings"][0]) == CRITERION_RATING_KEYS
    assert set(created["rubric_association"]) >= ASSOCIATION_KEYS_MIN
    user = state.users[ids.students[0]]
    assert set(serializers.user_json(user)) == USER_KEYS
    enrollment = state.enrollments_in(ids.ela_course)[0]
    assert set(serializers.enrollment_json(enrollment, "http://x", 1)) >= ENROLLMENT_KEYS_MIN
    assert "user" in serializers.enrollment_json(enrollment, "http://x", 1, user)


def test_error_shapes() -> None:
    assert serializers.not_found_json() == {
        "errors": [{"message": "The specified resource does not exist."}]
    }
    expired = serializers.invalid_token_json("expired", datetime(2026, 1, 1, tzinfo=UTC))
    assert expired == {
        "errors": [{"message": "Expired access token."}],
        "expired_at": "2026-01-01T00:00:00Z",
    }
    assert serializers.rubric_error_json(["x"]) == {"error": True, "messages": ["x"]}
