"""Users, courses, sections, enrollments (the roster reads a sync needs)."""

from __future__ import annotations

from flask import Blueprint, Response

from canvas_sandbox import outcomes as om
from canvas_sandbox import serializers as ser
from canvas_sandbox.api.common import (
    arg_list,
    as_json,
    base_url,
    course_or_404,
    paginate,
    paginate_bookmark,
    require_course_member,
    resolve_user,
    state,
    user_id,
)
from canvas_sandbox.errors import bad_request, not_found, unauthorized
from canvas_sandbox.state import Enrollment, Section, User

bp = Blueprint("sandbox_roster", __name__, url_prefix="/api/v1")

# The enrollment type filters: CoursesController#users takes enrollment_type[] as "student",
# "teacher", "ta", "observer"; EnrollmentsApiController#index takes type[] as the class names
# ("ObserverEnrollment", ...). Both read the same enrollments.
_TYPES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "observerenrollment": "ObserverEnrollment",
    "studentenrollment": "StudentEnrollment",
    "teacherenrollment": "TeacherEnrollment",
    "taenrollment": "TaEnrollment",
}


@bp.get("/users/self")
def users_self() -> Response:
    return as_json(ser.self_user_json(state().users[user_id()]))


@bp.get("/users/<user_ref>")
def user_show(user_ref: str) -> Response:
    st = state()
    target = resolve_user(user_ref)
    if target is None:
        raise not_found()
    # Other users' profiles need account-level rights.
    if target != user_id() and not any(st.is_admin(user_id(), a) for a in st.accounts):
        raise unauthorized()
    return as_json(ser.self_user_json(st.users[target]))


@bp.get("/courses/<course_ref>")
def course_show(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    root = om.root_account(state(), course.account_id).id
    data = ser.course_json(course, root)
    includes = arg_list("include") or []
    if "term" in includes:
        data = ser.course_with_term(data)
    if "account" in includes:  # lib/api/v1/course.rb course_json: account_json(course.account)
        data["account"] = ser.account_json(state().accounts[course.account_id], root)
    return as_json(data)


@bp.get("/courses/<course_ref>/sections")
def sections(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    with_students = "students" in (arg_list("include") or [])
    rows = sorted((s for s in st.sections.values() if s.course_id == course.id), key=lambda s: s.id)

    def show(section: Section) -> dict[str, object]:
        if not with_students:
            return ser.section_json(section)
        ids = sorted(
            {
                e.user_id
                for e in st.enrollments_in(course.id)
                if e.section_id == section.id
                and e.type == "StudentEnrollment"
                and e.workflow_state == "active"
            }
        )
        users = sorted((st.users[i] for i in ids), key=lambda u: (u.sortable_name, u.id))
        return ser.section_json(section, users)

    return paginate(rows, show)


def _types(param: str) -> set[str] | None:
    raw = arg_list(param)
    if raw is None:
        return None
    out = set()
    for value in raw:
        mapped = _TYPES.get(value.lower())
        if mapped is None:
            raise bad_request(f"invalid {param}: {value}")
        out.add(mapped)
    return out


@bp.get("/courses/<course_ref>/search_users")
def search_users(course_ref: str) -> Response:
    """Canvas still routes ``search_users`` to ``courses#users`` (config/routes.rb, kept for
    compatibility; canvasapi's ``Course.get_users`` calls it)."""
    return course_users(course_ref)


@bp.get("/courses/<course_ref>/users")
def course_users(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    types = _types("enrollment_type")
    includes = set(arg_list("include") or [])
    enrollments = [
        e
        for e in st.enrollments_in(course.id)
        if e.workflow_state == "active" and (types is None or e.type in types)
    ]
    by_user: dict[int, list[Enrollment]] = {}
    for e in sorted(enrollments, key=lambda e: e.id):
        by_user.setdefault(e.user_id, []).append(e)
    users = sorted((st.users[i] for i in by_user), key=lambda u: (u.sortable_name, u.id))
    root = om.root_account(st, course.account_id).id

    def show(user: User) -> dict[str, object]:
        data = ser.user_json(user)
        if "enrollments" in includes:
            data["enrollments"] = [
                ser.enrollment_json(e, base_url(), root) for e in by_user[user.id]
            ]
        if "email" in includes:
            data["email"] = user.email
        return data

    return paginate_bookmark(users, show, lambda u: (u.sortable_name, u.id))


@bp.get("/courses/<course_ref>/enrollments")
def course_enrollments(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    types = _types("type")
    states = set(arg_list("state") or ["active", "invited"])
    rows = [
        e
        for e in sorted(st.enrollments_in(course.id), key=lambda e: e.id)
        if (types is None or e.type in types) and e.workflow_state in states
    ]
    if not st.can_manage_grades(course.id, user_id()):
        # Students see only their own enrollments.
        rows = [e for e in rows if e.user_id == user_id()]
    root = om.root_account(st, course.account_id).id
    return paginate_bookmark(
        rows,
        lambda e: ser.enrollment_json(e, base_url(), root, st.users[e.user_id]),
        lambda e: (e.id,),
    )
