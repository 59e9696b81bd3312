"""Canvas JSON shapes, from sandbox state entities (the single source of truth for payloads).

Pure functions: the sandbox's REST API answers with them, and the tool's ``responses``-based
tests build their mocked Canvas payloads with them. Shapes follow
``shared/reference/canvas-api.md``; section numbers are noted per function. Ids are JSON numbers
at the top level and strings inside ``links``, as Canvas does. Resource ``url`` fields are
relative API paths (Canvas's ``api_v1_*_path`` helpers); ``html_url``/progress ``url`` are
absolute and use the sandbox's ``base_url``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from canvas_sandbox import outcomes as outcome_model
from canvas_sandbox.state import (
    Account,
    Assignment,
    Course,
    Enrollment,
    LearningOutcomeResult,
    Outcome,
    OutcomeGroup,
    OutcomeLink,
    ProficiencyRating,
    Progress,
    Rubric,
    RubricAssessment,
    RubricAssociation,
    RubricCriterion,
    SandboxState,
    Section,
    Submission,
    User,
)

JSON = dict[str, Any]

# Methods whose calculation_int is reported (docs/canvas.md §6.1).
_METHODS_WITH_INT = {
    "decaying_average",
    "standard_decaying_average",
    "weighted_average",
    "n_mastery",
}

_ROLE_NAMES = {
    "StudentEnrollment": "StudentEnrollment",
    "TeacherEnrollment": "TeacherEnrollment",
    "TaEnrollment": "TaEnrollment",
    "ObserverEnrollment": "ObserverEnrollment",
}


def iso(value: datetime | None) -> str | None:
    """Canvas timestamps: ISO 8601 in UTC with a ``Z``, whole seconds."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- errors (docs/canvas.md §4.3, §4.10) -----------------------------------------------------


def error_json(message: str) -> JSON:
    """``{"errors":[{"message": ...}]}``: not found, parameter and permission errors."""
    return {"errors": [{"message": message}]}


def not_found_json() -> JSON:
    return error_json("The specified resource does not exist.")


def unauthorized_json() -> JSON:
    return {
        "errors": [{"message": "user not authorized to perform that action"}],
        "status": "unauthorized",
    }


def invalid_token_json(kind: str, expired_at: datetime | None = None) -> JSON:
    """Token failures (docs/canvas.md §4.8): kind is ``invalid``, ``expired`` or ``revoked``."""
    message = {
        "invalid": "Invalid access token.",
        "expired": "Expired access token.",
        "revoked": "Revoked access token.",
    }[kind]
    body: JSON = error_json(message)
    if kind == "expired":
        body["expired_at"] = iso(expired_at)
    return body


def validation_error_json(attribute: str, message: str, type_: str = "invalid") -> JSON:
    return {"errors": {attribute: [{"attribute": attribute, "type": type_, "message": message}]}}


# --- outcomes (docs/canvas.md §6) ------------------------------------------------------------


def _context_path(context_type: str | None, context_id: int | None) -> str:
    if context_type == "Course":
        return f"/api/v1/courses/{context_id}"
    if context_type == "Account":
        return f"/api/v1/accounts/{context_id}"
    return "/api/v1/global"


def proficiency_rating_json(rating: ProficiencyRating) -> JSON:
    return {
        "description": rating.description,
        "points": float(rating.points),
        "mastery": rating.mastery,
        "color": rating.color,
    }


def proficiency_json(ratings: Sequence[ProficiencyRating]) -> JSON:
    """``OutcomeProficiency#as_json``: only ``ratings``, points descending (docs/canvas.md §6.6)."""
    ordered = sorted(ratings, key=lambda r: -r.points)
    return {"ratings": [proficiency_rating_json(r) for r in ordered]}


def outcome_json(
    state: SandboxState,
    outcome: Outcome,
    *,
    style: str = "full",
    context: tuple[str, int] | None = None,
    can_edit: bool = False,
    add_defaults: bool = False,
) -> JSON:
    """``Api::V1::Outcome#outcome_json`` (docs/canvas.md §6.1), scoring fields per the FF rules.

    ``context`` (e.g. ``("Course", 12)``) is what outcome links and ``linked.outcomes`` pass:
    with ``account_level_mastery_scales`` on, the scoring block then comes from that context's
    resolved scale and calculation method; with the flag on and no context it is omitted.
    """
    data: JSON = {
        "id": outcome.id,
        "url": f"/api/v1/outcomes/{outcome.id}",
        "context_id": outcome.context_id,
        "context_type": outcome.context_type,
        "title": outcome.title,
        "display_name": outcome.display_name,
        "vendor_guid": outcome.vendor_guid,
        "can_edit": can_edit,
        "has_updateable_rubrics": False,
    }
    if style != "full":
        return data
    data["description"] = outcome.description
    data["friendly_description"] = None
    data["assessed"] = any(
        r.outcome_id == outcome.id and r.workflow_state == "active" for r in state.results.values()
    )
    flags = _flags_for(state, outcome, context)
    if flags is not None and flags.account_level_mastery_scales:
        if context is None:
            return data
        calc = outcome_model.resolved_calculation(state, context[0], context[1])
        scale = outcome_model.resolved_scale(state, context[0], context[1]) or []
        possible, mastery = outcome_model.scale_points(scale) if scale else (0.0, 0.0)
        data["points_possible"] = float(possible)
        data["mastery_points"] = float(mastery)
        data["ratings"] = [
            {
                "points": float(r.points),
                "mastery": r.mastery,
                "description": r.description,
                "color": r.color,
            }
            for r in sorted(scale, key=lambda r: -r.points)
        ]
        data["calculation_method"] = calc.method
        data["calculation_int"] = calc.int_value
        return data
    data["points_possible"] = float(outcome.points_possible)
    data["mastery_points"] = float(outcome.mastery_points)
    ratings: list[JSON] = []
    for r in outcome.ratings:
        rating: JSON = {"description": r.description, "points": float(r.points)}
        if add_defaults:
            rating["mastery"] = r.points == outcome.mastery_points
            rating["color"] = None
        ratings.append(rating)
    data["ratings"] = ratings
    method = outcome.calculation_method or "highest"
    data["calculation_method"] = method
    if method in _METHODS_WITH_INT:
        data["calculation_int"] = outcome.calculation_int
    return data


def _flags_for(state: SandboxState, outcome: Outcome, context: tuple[str, int] | None) -> Any:
    if context is not None:
        ctype, cid = context
        if ctype == "Course":
            return outcome_model.course_flags(state, cid)
        return outcome_model.root_account(state, cid)
    if outcome.context_type == "Course" and outcome.context_id in state.courses:
        return outcome_model.course_flags(state, outcome.context_id)
    if outcome.context_type == "Account" and outcome.context_id in state.accounts:
        return outcome_model.root_account(state, outcome.context_id)
    return next(iter(state.accounts.values()), None)


def outcome_group_json(
    group: OutcomeGroup,
    *,
    style: str = "abbrev",
    can_edit: bool = False,
    parent: OutcomeGroup | None = None,
) -> JSON:
    """OutcomeGroup (docs/canvas.md §6.4); full style adds parent, context and description."""
    base = f"{_context_path(group.context_type, group.context_id)}/outcome_groups/{group.id}"
    data: JSON = {
        "id": group.id,
        "title": group.title,
        "vendor_guid": group.vendor_guid,
        "url": base,
        "subgroups_url": f"{base}/subgroups",
        "outcomes_url": f"{base}/outcomes",
        "can_edit": can_edit,
    }
    if style == "full":
        data["import_url"] = f"{base}/import"
        data["parent_outcome_group"] = (
            outcome_group_json(parent, can_edit=can_edit) if parent is not None else None
        )
        data["context_id"] = group.context_id
        data["context_type"] = group.context_type
        data["description"] = group.description
    return data


def outcome_link_json(
    state: SandboxState,
    link: OutcomeLink,
    *,
    outcome_style: str = "abbrev",
    outcome_group_style: str = "abbrev",
    can_edit: bool = False,
) -> JSON:
    """OutcomeLink (docs/canvas.md §6.4); the outcome is computed with the link's context."""
    group = state.outcome_groups[link.group_id]
    parent = state.outcome_groups.get(group.parent_id) if group.parent_id else None
    outcome = state.outcomes[link.outcome_id]
    assessed = any(
        r.outcome_id == outcome.id
        and r.course_id == link.context_id
        and r.workflow_state == "active"
        for r in state.results.values()
    )
    return {
        "url": f"{_context_path(link.context_type, link.context_id)}/outcome_groups/"
        f"{group.id}/outcomes/{outcome.id}",
        "context_id": link.context_id,
        "context_type": link.context_type,
        "outcome_group": outcome_group_json(
            group, style=outcome_group_style, can_edit=can_edit, parent=parent
        ),
        "outcome": outcome_json(
            state,
            outcome,
            style=outcome_style,
            context=(link.context_type, link.context_id),
            can_edit=can_edit and outcome.context_type == link.context_type,
        ),
        "assessed": assessed,
        "can_unlink": can_edit and not assessed,
    }


def outcome_path_json(state: SandboxState, outcome_id: int, course_id: int) -> JSON:
    """``linked.outcome_paths[]``: the group titles down to the outcome (root excluded)."""
    links = [
        link
        for link in outcome_model.course_links(state, course_id)
        if link.outcome_id == outcome_id
    ]
    parts: list[JSON] = []
    if links:
        path = outcome_model.group_path(state, links[0].group_id)
        parts = [{"name": g.title} for g in path[1:]]
    parts.append({"name": state.outcomes[outcome_id].title})
    return {"id": outcome_id, "parts": parts}


# --- outcome results and rollups (docs/canvas.md §1) -----------------------------------------


def outcome_result_json(result: LearningOutcomeResult) -> JSON:
    """One entry of ``outcome_results`` (docs/canvas.md §1.4): asset-string alignment links."""
    asset = f"assignment_{result.assignment_id}"
    return {
        # Outcomes Service results are unsaved records (json_to_outcome_result): no id.
        "id": None if result.from_outcomes_service else result.id,
        "score": result.score,
        "possible": result.possible,
        "mastery": result.mastery,
        "percent": result.percent,
        "hide_points": result.hide_points,
        "hidden": result.hidden,
        "submitted_or_assessed_at": iso(result.submitted_or_assessed_at),
        "links": {
            "user": str(result.user_id),
            "learning_outcome": str(result.outcome_id),
            "alignment": asset,
            "assignment": asset,
        },
    }


def linked_user_json(user: User) -> JSON:
    return {
        "id": str(user.id),
        "name": user.name,
        "display_name": user.short_name,
        "sortable_name": user.sortable_name,
        "avatar_url": f"/images/messages/avatar-50.png#{user.id}",
    }


def alignment_json(state: SandboxState, assignment_id: int, base_url: str) -> JSON:
    assignment = state.assignments[assignment_id]
    return {
        "id": f"assignment_{assignment.id}",
        "name": assignment.name,
        "html_url": f"{base_url}/courses/{assignment.course_id}/assignments/{assignment.id}",
    }


def rollup_score_json(score: Any) -> JSON:
    """``serialize_rollup_score`` (docs/canvas.md §1.5); ``score`` is a ``rollups.RollupScore``."""
    return {
        "score": score.score,
        "title": score.title,
        "submitted_at": iso(score.submitted_at),
        "count": score.count,
        "hide_points": score.hide_points,
        "links": {"outcome": str(score.outcome_id)},
    }


def user_rollup_json(user_id: int, section_id: int, status: str, scores: Sequence[Any]) -> JSON:
    """One entry of ``rollups`` (one per user and section, docs/canvas.md §1.2)."""
    return {
        "scores": [rollup_score_json(s) for s in scores],
        "links": {"user": str(user_id), "section": str(section_id), "status": status},
    }


def course_rollup_json(course_id: int, scores: Sequence[JSON]) -> JSON:
    """The ``aggregate=course`` rollup: pre-built score dicts, course link, no meta."""
    return {"scores": list(scores), "links": {"course": str(course_id)}}


# --- assignments, rubrics, submissions (docs/canvas.md §3) -----------------------------------


def _num(value: float) -> float:
    return float(value)


def rubric_criterion_json(criterion: RubricCriterion) -> JSON:
    """A criterion as stored in the rubric (rubric create/update responses, docs/canvas.md §3.8)."""
    data: JSON = {
        "id": criterion.id,
        "description": criterion.description,
        "long_description": criterion.long_description,
        "points": _num(criterion.points),
        "criterion_use_range": criterion.criterion_use_range,
        "ignore_for_scoring": criterion.ignore_for_scoring,
        "ratings": [
            {
                "id": r.id,
                "description": r.description,
                "long_description": r.long_description,
                "points": _num(r.points),
                "criterion_id": r.criterion_id,
            }
            for r in criterion.ratings
        ],
    }
    if criterion.learning_outcome_id is not None:
        data["learning_outcome_id"] = criterion.learning_outcome_id
        data["mastery_points"] = (
            _num(criterion.mastery_points) if criterion.mastery_points is not None else None
        )
    return data


def rubric_json(rubric: Rubric) -> JSON:
    """Rubric columns plus ``criteria`` (the ``rubric`` of the create response,
    docs/canvas.md §3.8)."""
    return {
        "id": rubric.id,
        "user_id": rubric.user_id,
        "rubric_id": None,
        "context_id": rubric.context_id,
        "context_type": rubric.context_type,
        "title": rubric.title,
        "points_possible": _num(rubric.points_possible),
        "reusable": False,
        "public": False,
        "read_only": False,
        "free_form_criterion_comments": rubric.free_form_criterion_comments,
        "hide_score_total": rubric.hide_score_total,
        "workflow_state": rubric.workflow_state,
        "context_code": f"{rubric.context_type.lower()}_{rubric.context_id}",
        "created_at": iso(rubric.created_at),
        "updated_at": iso(rubric.created_at),
        "data": [rubric_criterion_json(c) for c in rubric.criteria],
        "criteria": [rubric_criterion_json(c) for c in rubric.criteria],
    }


def rubric_association_json(assoc: RubricAssociation) -> JSON:
    return {
        "id": assoc.id,
        "rubric_id": assoc.rubric_id,
        "association_id": assoc.association_id,
        "association_type": assoc.association_type,
        "use_for_grading": assoc.use_for_grading,
        "purpose": assoc.purpose,
        "hide_score_total": assoc.hide_score_total,
        "hide_points": assoc.hide_points,
        "hide_outcome_results": assoc.hide_outcome_results,
        "title": assoc.title,
        "bookmarked": assoc.bookmarked,
        "context_id": assoc.context_id,
        "context_type": assoc.context_type,
        "context_code": f"{assoc.context_type.lower()}_{assoc.context_id}",
        "url": None,
        "summary_data": None,
        "workflow_state": assoc.workflow_state,
        "skip_updating_points_possible": False,
    }


def rubric_create_json(rubric: Rubric, assoc: RubricAssociation | None) -> JSON:
    """``POST/PUT /courses/:id/rubrics`` success body (docs/canvas.md §3.8)."""
    body: JSON = {"rubric": rubric_json(rubric)}
    if assoc is not None:
        body["rubric_association"] = rubric_association_json(assoc)
    return body


def rubric_error_json(messages: Sequence[str]) -> JSON:
    """Rubric validation failure, sent with HTTP 200 (docs/canvas.md §3.2, §3.8)."""
    return {"error": True, "messages": list(messages)}


def assignment_rubric_json(state: SandboxState, rubric: Rubric) -> list[JSON]:
    """``assignment.rubric`` (docs/canvas.md §1.7): criteria; outcome rows add
    ``outcome_id``/``vendor_guid``."""
    rows: list[JSON] = []
    for c in rubric.criteria:
        row: JSON = {
            "id": c.id,
            "points": _num(c.points),
            "description": c.description,
            "long_description": c.long_description,
            "ignore_for_scoring": c.ignore_for_scoring,
            "criterion_use_range": c.criterion_use_range,
            "ratings": [
                {
                    "id": r.id,
                    "points": _num(r.points),
                    "description": r.description,
                    "long_description": r.long_description,
                }
                for r in c.ratings
            ],
        }
        if c.learning_outcome_id is not None:
            row["outcome_id"] = c.learning_outcome_id
            outcome = state.outcomes.get(c.learning_outcome_id)
            row["vendor_guid"] = outcome.vendor_guid if outcome else None
            row["mastery_points"] = _num(c.mastery_points) if c.mastery_points is not None else None
        rows.append(row)
    return rows


def assignment_json(
    state: SandboxState,
    assignment: Assignment,
    base_url: str,
    association: RubricAssociation | None = None,
) -> JSON:
    """``Api::V1::Assignment`` subset, with the grading rubric embedded when there is one."""
    data: JSON = {
        "id": assignment.id,
        "name": assignment.name,
        "description": assignment.description,
        "created_at": iso(assignment.created_at),
        "updated_at": iso(assignment.created_at),
        "due_at": iso(assignment.due_at),
        "lock_at": None,
        "unlock_at": None,
        "course_id": assignment.course_id,
        "assignment_group_id": assignment.assignment_group_id,
        "position": assignment.position,
        "points_possible": _num(assignment.points_possible),
        "grading_type": assignment.grading_type,
        "submission_types": list(assignment.submission_types),
        "published": assignment.published,
        "workflow_state": assignment.workflow_state,
        "omit_from_final_grade": assignment.omit_from_final_grade,
        "muted": False,
        "post_manually": False,
        "html_url": f"{base_url}/courses/{assignment.course_id}/assignments/{assignment.id}",
    }
    if association is not None and association.rubric_id in state.rubrics:
        rubric = state.rubrics[association.rubric_id]
        data["use_rubric_for_grading"] = association.use_for_grading
        data["free_form_criterion_comments"] = rubric.free_form_criterion_comments
        data["rubric"] = assignment_rubric_json(state, rubric)
        data["rubric_settings"] = {
            "id": rubric.id,
            "title": rubric.title,
            "points_possible": _num(rubric.points_possible),
            "free_form_criterion_comments": rubric.free_form_criterion_comments,
            "hide_score_total": association.hide_score_total,
            "hide_points": association.hide_points,
        }
    return data


def rubric_assessment_data_json(assessment: RubricAssessment) -> JSON:
    """``submission.rubric_assessment``: ``{criterion_id: {points, rating_id, comments}}``."""
    return {
        crit: {"rating_id": row.rating_id, "comments": row.comments, "points": row.points}
        for crit, row in assessment.data.items()
    }


def submission_json(
    submission: Submission,
    base_url: str,
    course_id: int,
    assessment: RubricAssessment | None = None,
) -> JSON:
    """Submission (docs/canvas.md §3.11, §1.7); ``rubric_assessment`` when asked for and present."""
    data: JSON = {
        "id": submission.id,
        "assignment_id": submission.assignment_id,
        "user_id": submission.user_id,
        "attempt": submission.attempt,
        "submitted_at": iso(submission.submitted_at),
        "score": submission.score,
        "grade": submission.grade,
        "entered_score": submission.score,
        "entered_grade": submission.grade,
        "graded_at": iso(submission.graded_at),
        "grader_id": submission.grader_id,
        "workflow_state": submission.workflow_state,
        "posted_at": iso(submission.posted_at),
        "late": False,
        "missing": False,
        "excused": False,
        "submission_type": None,
        "grade_matches_current_submission": True,
        "preview_url": f"{base_url}/courses/{course_id}/assignments/"
        f"{submission.assignment_id}/submissions/{submission.user_id}?preview=1",
        "submission_comments": [],
    }
    if assessment is not None:
        data["rubric_assessment"] = rubric_assessment_data_json(assessment)
    return data


def progress_json(progress: Progress, base_url: str) -> JSON:
    """Progress (docs/canvas.md §4.11); ``url`` is absolute."""
    return {
        "id": progress.id,
        "context_id": progress.context_id,
        "context_type": progress.context_type,
        "user_id": progress.user_id,
        "tag": progress.tag,
        "completion": progress.completion,
        "workflow_state": progress.workflow_state,
        "created_at": iso(progress.created_at),
        "updated_at": iso(progress.updated_at),
        "message": progress.message,
        "url": f"{base_url}/api/v1/progress/{progress.id}",
        # Api::V1::Progress#progress_json adds "results" only once the job stored some.
        **({"results": progress.results} if progress.results is not None else {}),
    }


# --- roster ----------------------------------------------------------------------------------


def user_json(user: User) -> JSON:
    """Canvas User (abbreviated, as in course user lists)."""
    return {
        "id": user.id,
        "name": user.name,
        "created_at": iso(user.created_at),
        "sortable_name": user.sortable_name,
        "short_name": user.short_name,
        "sis_user_id": user.sis_user_id,
        "login_id": user.login_id,
    }


def self_user_json(user: User) -> JSON:
    """``GET /api/v1/users/self``: the user plus profile-ish fields."""
    data = user_json(user)
    data["avatar_url"] = f"/images/messages/avatar-50.png#{user.id}"
    data["locale"] = user.locale
    data["effective_locale"] = user.locale or "en"
    data["permissions"] = {"can_update_name": False, "can_update_avatar": False}
    return data


def enrollment_json(
    enrollment: Enrollment, base_url: str, root_account_id: int, user: User | None = None
) -> JSON:
    data: JSON = {
        "id": enrollment.id,
        "user_id": enrollment.user_id,
        "course_id": enrollment.course_id,
        "course_section_id": enrollment.section_id,
        # Api::V1::User API_ENROLLMENT_JSON_OPTS: on every enrollment, null but for observers
        "associated_user_id": enrollment.associated_user_id,
        "root_account_id": root_account_id,
        "type": enrollment.type,
        "enrollment_state": enrollment.workflow_state,
        "role": _ROLE_NAMES[enrollment.type],
        "limit_privileges_to_course_section": False,
        "html_url": f"{base_url}/courses/{enrollment.course_id}/users/{enrollment.user_id}",
    }
    if user is not None:
        data["user"] = user_json(user)
    return data


def section_json(section: Section, students: Sequence[User] | None = None) -> JSON:
    data: JSON = {
        "id": section.id,
        "name": section.name,
        "course_id": section.course_id,
        "sis_section_id": section.sis_section_id,
        "integration_id": None,
        "start_at": None,
        "end_at": None,
        "restrict_enrollments_to_section_dates": None,
        "nonxlist_course_id": None,
    }
    if students is not None:
        data["students"] = [user_json(u) for u in students] or None
    return data


def course_json(course: Course, root_account_id: int) -> JSON:
    return {
        "id": course.id,
        "name": course.name,
        "course_code": course.course_code,
        "account_id": course.account_id,
        "root_account_id": root_account_id,
        "uuid": course.lti_context_id,
        "workflow_state": course.workflow_state,
        "sis_course_id": course.sis_course_id,
        "created_at": iso(course.created_at),
        "start_at": None,
        "end_at": None,
        "enrollment_term_id": 1,
        "default_view": "modules",
        "is_public": False,
        "time_zone": "America/Los_Angeles",
        "hide_final_grades": False,
        "apply_assignment_group_weights": False,
        "restrict_enrollments_to_course_dates": False,
        "blueprint": False,
    }


# Canvas's default enrollment term (every root account has one; the sandbox has no other).
DEFAULT_TERM = {"id": 1, "name": "Default Term", "start_at": None, "end_at": None}


def course_with_term(data: JSON) -> JSON:
    """``include[]=term`` on the courses API (CoursesController: the Term model)."""
    return {**data, "term": dict(DEFAULT_TERM)}


def account_json(account: Account, root_account_id: int) -> JSON:
    """Api::V1::Account#account_json without includes: what ``include[]=account`` on the
    courses API nests as ``account`` (Api::V1::Course#course_json, for any reader of the
    course)."""
    return {
        "id": account.id,
        "name": account.name,
        "parent_account_id": account.parent_account_id,
        "root_account_id": None if account.id == root_account_id else root_account_id,
        "workflow_state": "active",
        "uuid": account.lti_guid or f"sandbox-account-{account.id}",
        "default_storage_quota_mb": 500,
        "default_user_storage_quota_mb": 50,
        "default_group_storage_quota_mb": 50,
        "default_time_zone": "America/Los_Angeles",
    }
