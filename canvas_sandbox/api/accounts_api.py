"""An account's courses, with its sub-accounts' (``AccountsController#courses_api``,
docs/canvas.md §11.1): what an account-wide sync lists."""

from __future__ import annotations

from flask import Blueprint, Response, request

from canvas_sandbox import outcomes as om
from canvas_sandbox import serializers as ser
from canvas_sandbox.api.common import arg_list, paginate, parse_id, state, user_id
from canvas_sandbox.errors import not_found, unauthorized
from canvas_sandbox.state import Course, SandboxState

bp = Blueprint("sandbox_accounts", __name__, url_prefix="/api/v1")

# Canvas's course states; ``deleted`` only on request (``state[]=deleted`` or ``all``).
_STATES = ("created", "claimed", "available", "completed")


def _flag(name: str) -> bool | None:
    """Rails ``value_to_boolean``: absent is None; "1", "true", "yes", "on" are true."""
    raw = request.args.get(name)
    if raw is None:
        return None
    return raw.strip().lower() in ("1", "true", "t", "yes", "y", "on")


def _descends_from(st: SandboxState, account_id: int, ancestor: int) -> bool:
    current: int | None = account_id
    for _ in range(50):  # sub-account chains are short; a cycle must not hang the sandbox
        if current is None or current not in st.accounts:
            return False
        if current == ancestor:
            return True
        current = st.accounts[current].parent_account_id
    return False


@bp.get("/accounts/<account_ref>/courses")
def account_courses(account_ref: str) -> Response:
    st = state()
    account_id = parse_id(account_ref)
    if account_id not in st.accounts:
        raise not_found()
    if not st.is_admin(user_id(), account_id):  # read_course_list
        raise unauthorized()
    states = set(arg_list("state") or _STATES)
    if "all" in states:
        states = {*_STATES, "deleted"}
    published = _flag("published")
    if published is True:
        states -= {"created", "claimed", "completed", "deleted"}
    elif published is False:
        states -= {"available"}
    with_enrollments = _flag("with_enrollments")
    if request.args.get("hide_enrollmentless_courses") is not None:
        with_enrollments = True
    types = arg_list("enrollment_type")

    def enrolled(course: Course, kinds: set[str] | None) -> bool:
        # Enrollment.active: every enrollment that is not deleted.
        return any(
            e.workflow_state != "deleted" and (kinds is None or e.type in kinds)
            for e in st.enrollments_in(course.id)
        )

    rows = []
    for course in sorted(st.courses.values(), key=lambda c: c.id):
        if course.workflow_state not in states:
            continue
        if not _descends_from(st, course.account_id, account_id):
            continue
        if with_enrollments is not None and enrolled(course, None) != with_enrollments:
            continue
        if types is not None and not enrolled(
            course, {f"{t.capitalize()}Enrollment" for t in types}
        ):
            continue
        rows.append(course)
    # Api.paginate with total_entries: nil: numbered pages without a "last" link.
    return paginate(
        rows, lambda c: ser.course_json(c, om.root_account(st, c.account_id).id), count_total=False
    )
