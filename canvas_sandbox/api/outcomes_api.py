"""Outcome groups, links, outcomes and mastery scales (docs/canvas.md §6)."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, request

from canvas_sandbox import outcomes as om
from canvas_sandbox import rubric_rewrites
from canvas_sandbox import serializers as ser
from canvas_sandbox.api.common import (
    as_json,
    base_url,
    body_params,
    course_or_404,
    items_of,
    paginate,
    parse_id,
    require_course_member,
    state,
    truthy,
    user_id,
)
from canvas_sandbox.errors import ApiError, ValidationFailed, not_found, unauthorized
from canvas_sandbox.state import (
    Outcome,
    OutcomeGroup,
    OutcomeLink,
    ProficiencyRating,
)

bp = Blueprint("sandbox_outcomes", __name__, url_prefix="/api/v1")

CTX = "/<any(courses,accounts):kind>/<ref>"


def _context(kind: str, ref: str, *, write: bool = False) -> tuple[str, int, bool]:
    """(context_type, id, can_edit); raises 404/401 like Canvas."""
    st = state()
    if kind == "courses":
        course = course_or_404(ref)
        require_course_member(course)
        can_edit = st.can_manage_grades(course.id, user_id())
        if write and not can_edit:
            raise unauthorized()
        return "Course", course.id, can_edit
    account_id = parse_id(ref)
    if account_id not in st.accounts:
        raise not_found()
    can_edit = st.is_admin(user_id(), account_id)
    if write and not can_edit:
        raise unauthorized()
    return "Account", account_id, can_edit


def _group(ctype: str, cid: int, raw: str) -> OutcomeGroup:
    group = state().outcome_groups.get(parse_id(raw))
    if (
        group is None
        or group.context_type != ctype
        or group.context_id != cid
        or group.workflow_state != "active"
    ):
        raise not_found()
    return group


def _parent(group: OutcomeGroup) -> OutcomeGroup | None:
    return state().outcome_groups.get(group.parent_id) if group.parent_id else None


def _group_json(group: OutcomeGroup, can_edit: bool, style: str = "full") -> dict[str, Any]:
    return ser.outcome_group_json(group, style=style, can_edit=can_edit, parent=_parent(group))


def _links(ctype: str, cid: int, group_id: int | None = None) -> list[OutcomeLink]:
    return sorted(
        (
            link
            for link in state().outcome_links.values()
            if link.context_type == ctype
            and link.context_id == cid
            and link.workflow_state == "active"
            and (group_id is None or link.group_id == group_id)
        ),
        key=lambda link: link.id,
    )


def _link_json(link: OutcomeLink, can_edit: bool) -> dict[str, Any]:
    return ser.outcome_link_json(
        state(),
        link,
        outcome_style=request.args.get("outcome_style", "abbrev"),
        outcome_group_style=request.args.get("outcome_group_style", "abbrev"),
        can_edit=can_edit,
    )


@bp.get(f"{CTX}/root_outcome_group")
def root_group(kind: str, ref: str) -> Response:
    ctype, cid, _ = _context(kind, ref)
    group = om.root_group(state(), ctype, cid)
    location = f"{base_url()}/api/v1/{kind}/{cid}/outcome_groups/{group.id}"
    return Response(status=302, headers={"Location": location})


@bp.get(f"{CTX}/outcome_groups")
def groups(kind: str, ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref)
    om.root_group(state(), ctype, cid)
    rows = sorted(
        (
            g
            for g in state().outcome_groups.values()
            if g.context_type == ctype and g.context_id == cid and g.workflow_state == "active"
        ),
        key=lambda g: g.id,
    )
    return paginate(rows, lambda g: _group_json(g, can_edit))


@bp.get(f"{CTX}/outcome_group_links")
def group_links(kind: str, ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref)
    return paginate(_links(ctype, cid), lambda link: _link_json(link, can_edit))


@bp.get(f"{CTX}/outcome_groups/<group_ref>")
def group_show(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref)
    return as_json(_group_json(_group(ctype, cid, group_ref), can_edit))


@bp.put(f"{CTX}/outcome_groups/<group_ref>")
def group_update(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref, write=True)
    group = _group(ctype, cid, group_ref)
    if group.parent_id is None:
        raise ApiError(400, "error")
    params = body_params()
    if "title" in params:
        group.title = str(params["title"])
    if "description" in params:
        group.description = str(params["description"])
    if "vendor_guid" in params:
        group.vendor_guid = str(params["vendor_guid"])
    if "parent_outcome_group_id" in params:
        group.parent_id = _group(ctype, cid, str(params["parent_outcome_group_id"])).id
    return as_json(_group_json(group, can_edit))


@bp.get(f"{CTX}/outcome_groups/<group_ref>/outcomes")
def group_outcomes(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref)
    group = _group(ctype, cid, group_ref)
    st = state()
    rows = sorted(
        _links(ctype, cid, group.id),
        key=lambda link: (st.outcomes[link.outcome_id].title.lower(), link.id),
    )
    return paginate(rows, lambda link: _link_json(link, can_edit))


@bp.get(f"{CTX}/outcome_groups/<group_ref>/subgroups")
def subgroups(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref)
    group = _group(ctype, cid, group_ref)
    rows = sorted(
        (
            g
            for g in state().outcome_groups.values()
            if g.parent_id == group.id and g.workflow_state == "active"
        ),
        key=lambda g: (g.title.lower(), g.id),
    )
    return paginate(rows, lambda g: _group_json(g, can_edit, "abbrev"))


@bp.post(f"{CTX}/outcome_groups/<group_ref>/subgroups")
def create_subgroup(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref, write=True)
    parent = _group(ctype, cid, group_ref)
    params = body_params()
    title = str(params.get("title") or "")
    if not title:
        raise ApiError(400, ser.error_json("title is missing"))
    group = om.create_group(
        state(),
        parent,
        title,
        str(params.get("description") or ""),
        params.get("vendor_guid"),
    )
    return as_json(_group_json(group, can_edit))


def _ratings(raw: Any) -> list[tuple[str, float]] | None:
    if raw is None:
        return None
    out: list[tuple[str, float]] = []
    for item in items_of(raw, "ratings"):
        if not isinstance(item, dict):
            raise ValidationFailed("ratings", "ratings must be a list of {description, points}")
        out.append((str(item.get("description", "")), _float(item.get("points"), "ratings")))
    return out


def _float(value: Any, attribute: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(attribute, f"{attribute} must be a number") from None
    if not math.isfinite(number):
        raise ValidationFailed(attribute, f"{attribute} must be a number")
    return number


def _int_or_none(value: Any, attribute: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(attribute, f"{attribute} must be an integer") from None


def _available_outcome(ctype: str, cid: int, outcome_id: int) -> Outcome:
    """Outcomes a context may link: global, its own, or its account chain's."""
    st = state()
    outcome = st.outcomes.get(outcome_id)
    if outcome is None or outcome.workflow_state != "active":
        raise not_found()
    if outcome.context_type is None:
        return outcome
    if outcome.context_type == ctype and outcome.context_id == cid:
        return outcome
    account_id = st.courses[cid].account_id if ctype == "Course" else cid
    chain: set[int] = set()
    current: int | None = account_id
    while current is not None and current in st.accounts and current not in chain:
        chain.add(current)
        current = st.accounts[current].parent_account_id
    if outcome.context_type == "Account" and outcome.context_id in chain:
        return outcome
    raise not_found()


@bp.post(f"{CTX}/outcome_groups/<group_ref>/outcomes")
def create_outcome(kind: str, ref: str, group_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref, write=True)
    group = _group(ctype, cid, group_ref)
    params = body_params()
    st = state()
    if params.get("outcome_id") not in (None, ""):
        outcome = _available_outcome(ctype, cid, int(_float(params["outcome_id"], "outcome_id")))
    else:
        if not params.get("title"):
            raise ApiError(400, ser.error_json("title is missing"))
        flags = om.course_flags(st, cid) if ctype == "Course" else om.root_account(st, cid)
        mastery = params.get("mastery_points")
        outcome = om.create_outcome(
            st,
            ctype,
            cid,
            str(params["title"]),
            display_name=params.get("display_name"),
            description=str(params.get("description") or ""),
            vendor_guid=params.get("vendor_guid"),
            ratings=_ratings(params.get("ratings")),
            mastery_points=_float(mastery, "mastery_points") if mastery not in (None, "") else None,
            calculation_method=params.get("calculation_method") or None,
            calculation_int=_int_or_none(params.get("calculation_int"), "calculation_int"),
            new_decaying=flags.new_decaying_average,
        )
    link = om.link_outcome(st, group, outcome)
    return as_json(_link_json(link, can_edit))


@bp.put(f"{CTX}/outcome_groups/<group_ref>/outcomes/<outcome_ref>")
def link_outcome(kind: str, ref: str, group_ref: str, outcome_ref: str) -> Response:
    ctype, cid, can_edit = _context(kind, ref, write=True)
    group = _group(ctype, cid, group_ref)
    outcome = _available_outcome(ctype, cid, parse_id(outcome_ref))
    params = body_params()
    st = state()
    if params.get("move_from"):
        source = _group(ctype, cid, str(params["move_from"]))
        for link in _links(ctype, cid, source.id):
            if link.outcome_id == outcome.id:
                link.workflow_state = "deleted"
    link = om.link_outcome(st, group, outcome)
    return as_json(_link_json(link, can_edit))


@bp.get("/outcomes/<outcome_ref>")
def outcome_show(outcome_ref: str) -> Response:
    st = state()
    outcome = st.outcomes.get(parse_id(outcome_ref))
    if outcome is None or outcome.workflow_state != "active":
        raise not_found()
    # No context is passed here, so with account_level_mastery_scales on the scoring block is
    # omitted (docs/canvas.md §6.1).
    return as_json(
        ser.outcome_json(st, outcome, add_defaults=truthy(request.args.get("add_defaults", "")))
    )


@bp.put("/outcomes/<outcome_ref>")
def outcome_update(outcome_ref: str) -> Response:
    st = state()
    outcome = st.outcomes.get(parse_id(outcome_ref))
    if outcome is None or outcome.workflow_state != "active":
        raise not_found()
    if outcome.context_type == "Course" and outcome.context_id is not None:
        if not st.can_manage_grades(outcome.context_id, user_id()):
            raise unauthorized()
        flags = om.course_flags(st, outcome.context_id)
    elif outcome.context_type == "Account" and outcome.context_id is not None:
        if not st.is_admin(user_id(), outcome.context_id):
            raise unauthorized()
        flags = om.root_account(st, outcome.context_id)
    else:
        raise unauthorized()
    params = body_params()
    if flags.account_level_mastery_scales:
        for field, what in (
            ("mastery_points", "mastery points"),
            ("ratings", "ratings"),
            ("calculation_method", "calculation values"),
            ("calculation_int", "calculation values"),
        ):
            if field in params:
                raise ApiError(403, {"error": f"Individual outcome {what} cannot be modified."})
    for field in ("title", "display_name", "description", "vendor_guid"):
        if field in params:
            setattr(outcome, field, params[field])
    if not flags.account_level_mastery_scales:
        ratings = _ratings(params.get("ratings"))
        mastery = params.get("mastery_points")
        mastery_points = None if mastery in (None, "") else _float(mastery, "mastery_points")
        om.set_outcome_ratings(st, outcome, ratings, mastery_points)
        if "calculation_method" in params or "calculation_int" in params:
            method = params.get("calculation_method") or outcome.calculation_method
            if "calculation_int" in params:
                int_value = _int_or_none(params["calculation_int"], "calculation_int")
            elif method == outcome.calculation_method:
                int_value = outcome.calculation_int
            else:
                int_value = None  # a new method without an int: its default (docs/canvas.md §2.2)
            calc = om.normalize_calculation(
                method, int_value, new_decaying=flags.new_decaying_average
            )
            outcome.calculation_method, outcome.calculation_int = calc.method, calc.int_value
    if {"title", "description", "ratings", "mastery_points"} & set(params):
        rubric_rewrites.outcome_changed(st, outcome)
    return as_json(ser.outcome_json(st, outcome))


# --- mastery scales (docs/canvas.md §6.6) ---------------------------------------------------


@bp.get(f"{CTX}/outcome_proficiency")
def proficiency_show(kind: str, ref: str) -> Response:
    ctype, cid, _ = _context(kind, ref)
    scale = om.resolved_scale(state(), ctype, cid)
    if scale is None:
        return as_json({"message": "No proficiency ratings found"}, 404)
    return as_json(ser.proficiency_json(scale))


@bp.post(f"{CTX}/outcome_proficiency")
def proficiency_save(kind: str, ref: str) -> Response:
    st = state()
    ctype, cid, _ = _context(kind, ref)
    account_id = st.courses[cid].account_id if ctype == "Course" else cid
    if not st.is_admin(user_id(), account_id):  # manage_proficiency_scales: admins
        raise unauthorized()
    params = body_params()
    ratings: list[ProficiencyRating] = []
    try:
        for item in items_of(params.get("ratings"), "ratings"):
            if not isinstance(item, dict):
                raise ValidationFailed("outcome_proficiency_ratings", "invalid rating")
            ratings.append(
                ProficiencyRating(
                    description=str(item.get("description", "")),
                    points=_float(item.get("points"), "outcome_proficiency_ratings"),
                    mastery=truthy(item.get("mastery", False)),
                    color=str(item.get("color", "")).lstrip("#"),
                )
            )
        ratings = om.store_scale(st, ctype, cid, ratings)
    except ValidationFailed as err:
        return as_json(ser.validation_error_json(err.attribute, err.message, err.type), 422)
    rubric_rewrites.scale_changed(st, ctype, cid)
    return as_json(ser.proficiency_json(ratings))
