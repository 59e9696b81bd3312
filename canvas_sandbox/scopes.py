"""Scoped API tokens (docs/canvas.md §4.9): each endpoint's Canvas scope string.

A token issued for a developer key with scopes may only call the routes whose
``url:<VERB>|<path>`` is among its scopes; other routes answer 401 "Insufficient scopes on
access token.". With a scoped token, ``include[]`` is ignored unless the key allows includes.
"""

from __future__ import annotations

# endpoint -> (verb, path); "{ctx}" is courses/:course_id or accounts/:account_id.
ROUTE_SCOPES: dict[str, tuple[str, str]] = {
    "sandbox_outcomes.root_group": ("GET", "/api/v1/{ctx}/root_outcome_group"),
    "sandbox_outcomes.groups": ("GET", "/api/v1/{ctx}/outcome_groups"),
    "sandbox_outcomes.group_links": ("GET", "/api/v1/{ctx}/outcome_group_links"),
    "sandbox_outcomes.group_show": ("GET", "/api/v1/{ctx}/outcome_groups/:id"),
    "sandbox_outcomes.group_update": ("PUT", "/api/v1/{ctx}/outcome_groups/:id"),
    "sandbox_outcomes.group_outcomes": ("GET", "/api/v1/{ctx}/outcome_groups/:id/outcomes"),
    "sandbox_outcomes.subgroups": ("GET", "/api/v1/{ctx}/outcome_groups/:id/subgroups"),
    "sandbox_outcomes.create_subgroup": ("POST", "/api/v1/{ctx}/outcome_groups/:id/subgroups"),
    "sandbox_outcomes.create_outcome": ("POST", "/api/v1/{ctx}/outcome_groups/:id/outcomes"),
    "sandbox_outcomes.link_outcome": (
        "PUT",
        "/api/v1/{ctx}/outcome_groups/:id/outcomes/:outcome_id",
    ),
    "sandbox_outcomes.outcome_show": ("GET", "/api/v1/outcomes/:id"),
    "sandbox_outcomes.outcome_update": ("PUT", "/api/v1/outcomes/:id"),
    "sandbox_outcomes.proficiency_show": ("GET", "/api/v1/{ctx}/outcome_proficiency"),
    "sandbox_outcomes.proficiency_save": ("POST", "/api/v1/{ctx}/outcome_proficiency"),
    "sandbox_results.outcome_results": ("GET", "/api/v1/courses/:course_id/outcome_results"),
    "sandbox_results.outcome_rollups": ("GET", "/api/v1/courses/:course_id/outcome_rollups"),
    "sandbox_rubrics.create_assignment": ("POST", "/api/v1/courses/:course_id/assignments"),
    "sandbox_rubrics.list_assignments": ("GET", "/api/v1/courses/:course_id/assignments"),
    "sandbox_rubrics.show_assignment": ("GET", "/api/v1/courses/:course_id/assignments/:id"),
    "sandbox_rubrics.update_assignment": ("PUT", "/api/v1/courses/:course_id/assignments/:id"),
    "sandbox_rubrics.delete_assignment": ("DELETE", "/api/v1/courses/:course_id/assignments/:id"),
    "sandbox_rubrics.create_rubric": ("POST", "/api/v1/courses/:course_id/rubrics"),
    "sandbox_rubrics.show_rubric": ("GET", "/api/v1/courses/:course_id/rubrics/:id"),
    "sandbox_rubrics.update_rubric": ("PUT", "/api/v1/courses/:course_id/rubrics/:id"),
    "sandbox_rubrics.create_association": (
        "POST",
        "/api/v1/courses/:course_id/rubric_associations",
    ),
    "sandbox_rubrics.update_submission": (
        "PUT",
        "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
    ),
    "sandbox_rubrics.show_submission": (
        "GET",
        "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
    ),
    "sandbox_rubrics.update_grades": (
        "POST",
        "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades",
    ),
    "sandbox_rubrics.update_grades_multi": (
        "POST",
        "/api/v1/courses/:course_id/submissions/update_grades",
    ),
    "sandbox_rubrics.show_progress": ("GET", "/api/v1/progress/:id"),
    "sandbox_roster.users_self": ("GET", "/api/v1/users/:id"),
    "sandbox_roster.user_show": ("GET", "/api/v1/users/:id"),
    "sandbox_roster.course_show": ("GET", "/api/v1/courses/:id"),
    "sandbox_roster.sections": ("GET", "/api/v1/courses/:course_id/sections"),
    "sandbox_grading_periods.index": ("GET", "/api/v1/courses/:course_id/grading_periods"),
    "sandbox_roster.course_users": ("GET", "/api/v1/courses/:course_id/users"),
    "sandbox_roster.course_enrollments": ("GET", "/api/v1/courses/:course_id/enrollments"),
    "sandbox_roster.search_users": ("GET", "/api/v1/courses/:course_id/search_users"),
    "sandbox_accounts.account_courses": ("GET", "/api/v1/accounts/:account_id/courses"),
    "sandbox_features.account_enabled": ("GET", "/api/v1/accounts/:account_id/features/enabled"),
    "sandbox_features.course_enabled": ("GET", "/api/v1/courses/:course_id/features/enabled"),
    "sandbox_features.account_flag": (
        "GET",
        "/api/v1/accounts/:account_id/features/flags/:feature",
    ),
    "sandbox_features.course_flag": ("GET", "/api/v1/courses/:course_id/features/flags/:feature"),
}


def scope_for(endpoint: str | None, view_args: dict[str, object] | None) -> str | None:
    """The Canvas scope string a request needs, or None for routes outside the map."""
    if endpoint is None or endpoint not in ROUTE_SCOPES:
        return None
    verb, path = ROUTE_SCOPES[endpoint]
    if "{ctx}" in path:
        kind = (view_args or {}).get("kind", "courses")
        ctx = "accounts/:account_id" if kind == "accounts" else "courses/:course_id"
        path = path.replace("{ctx}", ctx)
    return f"url:{verb}|{path}"


def all_scopes() -> list[str]:
    """Every scope the sandbox knows (what a developer key may offer)."""
    out: set[str] = set()
    for endpoint, (_verb, path) in ROUTE_SCOPES.items():
        if "{ctx}" in path:
            out.add(scope_for(endpoint, {"kind": "courses"}) or "")
            out.add(scope_for(endpoint, {"kind": "accounts"}) or "")
        else:
            out.add(scope_for(endpoint, {}) or "")
    return sorted(out)
