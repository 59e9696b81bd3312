"""``GET /api/v1/courses/:course_id/grading_periods`` (GradingPeriodsController#index,
docs/canvas.md §12): any reader of the course; the page is an object wrapping the list
(``{"grading_periods": [...], "meta": {...}}``), paged by number with a Link header."""

from __future__ import annotations

from flask import Blueprint, Response, request

from canvas_sandbox import pagination
from canvas_sandbox.api.common import (
    as_json,
    base_url,
    count_rows,
    course_or_404,
    require_course_member,
    state,
)
from canvas_sandbox.grading_periods import GradingPeriod, periods_of
from canvas_sandbox.serializers import iso

bp = Blueprint("sandbox_grading_periods", __name__, url_prefix="/api/v1")


def _json(period: GradingPeriod, last_id: int | None, now_closed: bool) -> dict[str, object]:
    # GradingPeriodSerializer: these attributes, with the reader's permissions (a teacher of
    # the course reads; only admins manage course periods in a group Canvas made for them).
    return {
        "id": period.id,
        "grading_period_group_id": period.group_id,
        "start_date": iso(period.start_date),
        "end_date": iso(period.end_date),
        "close_date": iso(period.close_date),
        "weight": period.weight,
        "title": period.title,
        "permissions": {"read": True, "create": False, "update": False, "delete": False},
        "is_last": period.id == last_id,
        "is_closed": now_closed,
    }


@bp.get("/courses/<course_ref>/grading_periods")
def index(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    rows = periods_of(st, course.id)
    last = max(rows, key=lambda p: (p.end_date, p.id)).id if rows else None
    now = st.now()
    page = pagination.numbered(rows, request.args, base_url(), request.path)
    count_rows(len(page.items))
    body = {
        "grading_periods": [_json(p, last, p.close_date < now) for p in page.items],
        "meta": {"pagination": page.meta, "primaryCollection": "grading_periods"},
    }
    resp = as_json(body)
    resp.headers["Link"] = page.link_header()
    return resp
