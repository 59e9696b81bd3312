"""``outcome_results`` and ``outcome_rollups`` (docs/canvas.md §1, §2.5)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, request

from canvas_sandbox import outcomes as om
from canvas_sandbox import pagination, rollups, visibility
from canvas_sandbox import results as result_model
from canvas_sandbox import serializers as ser
from canvas_sandbox.api.common import (
    arg_list,
    as_json,
    base_url,
    count_rows,
    course_or_404,
    require_course_member,
    resolve_user,
    state,
    truthy,
    user_id,
)
from canvas_sandbox.errors import ApiError, bad_request
from canvas_sandbox.state import Course, LearningOutcomeResult

bp = Blueprint("sandbox_results", __name__, url_prefix="/api/v1")

RESULT_INCLUDES = {
    "alignments",
    "outcomes",
    "outcomes.alignments",
    "outcome_groups",
    "outcome_links",
    "outcome_paths",
    "users",
    "assignments",
}
ROLLUP_INCLUDES = {
    "courses",
    "outcomes",
    "outcomes.alignments",
    "outcome_groups",
    "outcome_links",
    "outcome_paths",
    "users",
}
ROLLUP_EXCLUDES = {
    "missing_user_rollups",
    "missing_outcome_results",
    "concluded_enrollments",
    "inactive_enrollments",
}


@dataclass
class Scope:
    course: Course
    grader: bool
    user_ids: list[int]  # students in scope, roster order
    outcome_ids: list[int]
    section_id: int | None


def _scope(course: Course) -> Scope:
    """Filters shared by results and rollups, with Canvas's checks and messages."""
    st = state()
    require_course_member(course)
    grader = st.can_manage_grades(course.id, user_id())
    raw_users = arg_list("user_ids")
    raw_outcomes = arg_list("outcome_ids")
    group_ref = request.args.get("outcome_group_id")
    section_ref = request.args.get("section_id")
    if raw_outcomes is not None and group_ref:
        raise bad_request("can't filter by both outcome_ids and outcome_group_id")
    if raw_users is not None and section_ref:
        raise bad_request("cannot specify both user_ids and section_id")
    students = st.students_of(course.id)
    student_ids = [u.id for u in students]
    if raw_users is not None:
        wanted: list[int] = []
        for raw in raw_users:
            uid = resolve_user(raw)
            if uid is None or uid not in student_ids:
                raise bad_request("can only include id's of users in the outcome context")
            wanted.append(uid)
        if not grader and any(uid != user_id() for uid in wanted):
            raise ApiError(403, ser.error_json("users not specified and no access to all grades"))
        user_ids = [u for u in student_ids if u in set(wanted)]
    else:
        if not grader:
            raise ApiError(403, ser.error_json("users not specified and no access to all grades"))
        user_ids = student_ids
    section_id = None
    if section_ref:
        try:
            section = st.sections.get(int(section_ref))
        except ValueError:
            section = None
        if section is None or section.course_id != course.id:
            raise bad_request("invalid section id")
        section_id = section.id
        in_section = {
            e.user_id
            for e in st.enrollments_in(course.id)
            if e.section_id == section.id and e.type == "StudentEnrollment"
        }
        user_ids = [u for u in user_ids if u in in_section]
    linked = om.course_outcome_ids(st, course.id)
    if raw_outcomes is not None:
        outcome_ids: list[int] = []
        for raw in raw_outcomes:
            if not raw.isdigit() or int(raw) not in linked:
                raise bad_request("can only include id's of outcomes in the outcome context")
            outcome_ids.append(int(raw))
    elif group_ref:
        group = st.outcome_groups.get(int(group_ref)) if group_ref.isdigit() else None
        if group is None or group.context_type != "Course" or group.context_id != course.id:
            raise bad_request("invalid outcome_group_id")
        in_group = {
            link.outcome_id for link in om.course_links(st, course.id) if link.group_id == group.id
        }
        outcome_ids = [o for o in linked if o in in_group]
    else:
        outcome_ids = linked
    return Scope(course, grader, user_ids, outcome_ids, section_id)


def _includes(allowed: set[str]) -> list[str]:
    values = arg_list("include") or []
    for value in values:
        if value not in allowed:
            raise bad_request(f"invalid include: {value}")
    return list(dict.fromkeys(values))


def _visible_results(
    scope: Scope, include_hidden: bool, *, cached: bool = False
) -> list[LearningOutcomeResult]:
    st = state()
    query = result_model.course_results_cached if cached else result_model.course_results
    rows = query(
        st,
        scope.course.id,
        user_ids=scope.user_ids,
        outcome_ids=scope.outcome_ids,
        include_hidden=include_hidden,
    )
    if not scope.grader:
        rows = [r for r in rows if visibility.visible_to_student(st, r)]
    return rows


def _linked(
    course: Course,
    includes: Iterable[str],
    outcome_ids: list[int],
    user_ids: list[int],
    assignment_ids: list[int],
) -> dict[str, Any]:
    st = state()
    linked: dict[str, Any] = {}
    links = [link for link in om.course_links(st, course.id) if link.outcome_id in outcome_ids]
    for key in includes:
        if key == "outcomes":
            items = []
            for oid in outcome_ids:
                data = ser.outcome_json(st, st.outcomes[oid], context=("Course", course.id))
                data["alignments"] = [
                    a.asset_string for a in om.outcome_alignments(st, course.id, oid)
                ]
                items.append(data)
            linked["outcomes"] = items
        elif key == "outcomes.alignments":
            seen = sorted(
                {
                    a.assignment_id
                    for oid in outcome_ids
                    for a in om.outcome_alignments(st, course.id, oid)
                }
            )
            linked[key] = [ser.alignment_json(st, aid, base_url()) for aid in seen]
        elif key in ("alignments", "assignments"):
            linked[key] = [ser.alignment_json(st, aid, base_url()) for aid in assignment_ids]
        elif key == "outcome_groups":
            group_ids = sorted({link.group_id for link in links})
            linked[key] = [
                ser.outcome_group_json(
                    st.outcome_groups[g],
                    style="full",
                    parent=st.outcome_groups.get(st.outcome_groups[g].parent_id or -1),
                )
                for g in group_ids
            ]
        elif key == "outcome_links":
            linked[key] = [ser.outcome_link_json(st, link) for link in links]
        elif key == "outcome_paths":
            linked[key] = [ser.outcome_path_json(st, oid, course.id) for oid in outcome_ids]
        elif key == "users":
            linked[key] = [ser.linked_user_json(st.users[u]) for u in user_ids]
        elif key == "courses":
            linked[key] = [{"id": str(course.id), "name": course.name}]
    return linked


@bp.get("/courses/<course_ref>/outcome_results")
def outcome_results(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    scope = _scope(course)
    includes = _includes(RESULT_INCLUDES)
    include_hidden = truthy(request.args.get("include_hidden", "false"))
    st = state()
    # OutcomeResultsController#index: Api.paginate on the ordered relation, by page number
    # with a count (Link: current, next, prev, first, last), not bookmarks.
    rows = _visible_results(scope, include_hidden, cached=True)
    page = pagination.numbered(rows, request.args, base_url(), request.path)
    if not result_model.page_is_current(st, page.items, include_hidden):
        result_model.forget_cache(st)  # something changed behind the cache's back
        rows = _visible_results(scope, include_hidden, cached=True)
        page = pagination.numbered(rows, request.args, base_url(), request.path)
    count_rows(len(page.items))
    body: dict[str, Any] = {"outcome_results": [ser.outcome_result_json(r) for r in page.items]}
    if includes:
        assignment_ids = list(dict.fromkeys(r.assignment_id for r in page.items))
        body["linked"] = _linked(
            course, includes, scope.outcome_ids, scope.user_ids, assignment_ids
        )
    resp = as_json(body)
    resp.headers["Link"] = page.link_header()
    return resp


@bp.get("/courses/<course_ref>/outcome_rollups")
def outcome_rollups(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    st = state()
    scope = _scope(course)
    aggregate = request.args.get("aggregate")
    if aggregate is not None and aggregate != "course":
        raise bad_request("invalid aggregate parameter value")
    stat = request.args.get("aggregate_stat", "mean")
    if stat not in ("mean", "median"):
        raise bad_request("invalid aggregate_stat parameter value")
    includes = _includes(ROLLUP_INCLUDES)
    if aggregate and "users" in includes:
        raise bad_request("invalid include: users")
    if not aggregate and "courses" in includes:
        raise bad_request("invalid include: courses")
    excludes = arg_list("exclude") or []
    for value in excludes:
        if value not in ROLLUP_EXCLUDES:
            raise bad_request(f"invalid exclude: {value}")
    sort_by = request.args.get("sort_by")
    sort_order = request.args.get("sort_order", "asc")
    sort_outcome = request.args.get("sort_outcome_id")
    if sort_by not in (None, "student", "outcome"):
        raise bad_request("invalid sort_by parameter value")
    if sort_order not in ("asc", "desc"):
        raise bad_request("invalid sort_order parameter value")
    if sort_by == "outcome" and not sort_outcome:
        raise bad_request("missing required sort_outcome_id parameter value")
    if sort_by == "outcome" and not str(sort_outcome).isdigit():
        raise bad_request("invalid sort_outcome_id parameter value")

    # Hidden results never count in rollups (docs/canvas.md §1.5, §3.2).
    results = _visible_results(scope, include_hidden=False)
    per_user = rollups.user_scores(st, course.id, results, scope.outcome_ids)
    outcome_ids = scope.outcome_ids
    if "missing_outcome_results" in excludes:
        with_results = {r.outcome_id for r in results}
        outcome_ids = [o for o in outcome_ids if o in with_results]

    if aggregate:
        body: dict[str, Any] = {
            "rollups": [ser.course_rollup_json(course.id, _aggregate(per_user, outcome_ids, stat))]
        }
        count_rows(len(outcome_ids))
        if includes:
            body["linked"] = _linked(course, includes, outcome_ids, [], [])
        return as_json(body)

    users = list(scope.user_ids)
    if "missing_user_rollups" in excludes:
        users = [u for u in users if per_user.get(u)]
    users = _sort_users(users, per_user, sort_by, sort_order, sort_outcome)
    page = pagination.numbered(users, request.args, base_url(), request.path)
    rows: list[dict[str, Any]] = []
    for uid in page.items:
        for enrollment in sorted(st.enrollments_in(course.id), key=lambda e: e.id):
            if enrollment.user_id != uid or enrollment.type != "StudentEnrollment":
                continue
            if scope.section_id is not None and enrollment.section_id != scope.section_id:
                continue
            rows.append(
                ser.user_rollup_json(
                    uid, enrollment.section_id, enrollment.workflow_state, per_user.get(uid, [])
                )
            )
    count_rows(len(rows))
    body = {"rollups": rows}
    if includes:
        body["linked"] = _linked(course, includes, outcome_ids, list(page.items), [])
    body["meta"] = {"pagination": page.meta}
    resp = as_json(body)
    resp.headers["Link"] = page.link_header()
    return resp


def _sort_users(
    users: list[int],
    per_user: dict[int, list[rollups.RollupScore]],
    sort_by: str | None,
    sort_order: str,
    sort_outcome: str | None,
) -> list[int]:
    st = state()
    desc = sort_order == "desc"
    by_name = sorted(users, key=lambda u: (st.users[u].sortable_name, u), reverse=desc)
    if sort_by != "outcome" or sort_outcome is None:
        return by_name
    oid = int(sort_outcome)

    def score(u: int) -> float | None:
        return next((s.score for s in per_user.get(u, []) if s.outcome_id == oid), None)

    scored = [u for u in by_name if score(u) is not None]
    missing = [u for u in by_name if score(u) is None]
    scored.sort(key=lambda u: score(u) or 0.0, reverse=desc)
    return scored + missing  # users without a score go last either way


def _aggregate(
    per_user: dict[int, list[rollups.RollupScore]], outcome_ids: list[int], stat: str
) -> list[dict[str, Any]]:
    scores: list[dict[str, Any]] = []
    for oid in outcome_ids:
        mine = [s for rows in per_user.values() for s in rows if s.outcome_id == oid]
        if not mine:
            continue
        scores.append(
            {
                "score": rollups.aggregate(mine, stat),
                "title": None,
                "submitted_at": None,
                "count": sum(1 for s in mine if s.score is not None),
                "hide_points": all(s.hide_points for s in mine),
                "links": {"outcome": str(oid)},
            }
        )
    return scores
