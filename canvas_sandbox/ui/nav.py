"""Who may see what: course membership, navigation tabs and their tool placements."""

from __future__ import annotations

from dataclasses import dataclass

from canvas_sandbox import outcomes as om
from canvas_sandbox.platform.store import Deployment, DeveloperKey, tools_for_account
from canvas_sandbox.state import Course, Outcome, SandboxState, User


@dataclass(frozen=True)
class Tab:
    id: str
    label: str
    href: str


def is_admin_of(state: SandboxState, user: User | None, account_id: int) -> bool:
    if user is None:
        return False
    current: int | None = account_id
    seen: set[int] = set()
    while current is not None and current in state.accounts and current not in seen:
        if current in user.account_admin_of:
            return True
        seen.add(current)
        current = state.accounts[current].parent_account_id
    return False


def can_view_course(state: SandboxState, user: User | None, course: Course) -> bool:
    if user is None:
        return False
    return bool(state.course_roles(course.id, user.id)) or is_admin_of(
        state, user, course.account_id
    )


def is_course_teacher(state: SandboxState, user: User | None, course: Course) -> bool:
    """Teachers, TAs and admins: who sees the gradebook and admin-visibility tabs."""
    if user is None:
        return False
    roles = state.course_roles(course.id, user.id)
    return bool(roles & {"TeacherEnrollment", "TaEnrollment"}) or is_admin_of(
        state, user, course.account_id
    )


def outcome_edit_refusal(
    state: SandboxState, user: User | None, course: Course, outcome: Outcome
) -> str | None:
    """Why this user may not edit the outcome's ratings from this course, or None: the rules
    of ``PUT /api/v1/outcomes/:id`` (course outcomes: teachers, TAs, admins; account outcomes:
    that account's admins; flag on: nobody, the mastery scale rates)."""
    if user is None or not state.can_manage_grades(course.id, user.id):
        return "Only the course's teachers edit its outcomes."
    if outcome.context_type == "Course" and outcome.context_id == course.id:
        flags = om.course_flags(state, course.id)
    elif outcome.context_type == "Account" and outcome.context_id is not None:
        if not state.is_admin(user.id, outcome.context_id):
            return "This outcome belongs to the account: only its admins edit it."
        flags = om.root_account(state, outcome.context_id)
    else:
        return "This outcome is not this course's to edit."
    if flags.account_level_mastery_scales:
        return "Individual outcome ratings cannot be modified: the mastery scale rates outcomes."
    return None


def course_tools(
    state: SandboxState, user: User | None, course: Course
) -> list[tuple[DeveloperKey, Deployment]]:
    """Tools with a course_navigation placement this user may see (visibility rules,
    docs/canvas.md §7.6)."""
    found = []
    for key, deployment in tools_for_account(state, course.account_id):
        placement = key.placement("course_navigation")
        if placement is None or placement.default == "disabled":
            continue
        if placement.visibility == "admins" and not is_course_teacher(state, user, course):
            continue
        if placement.visibility == "members" and not can_view_course(state, user, course):
            continue
        found.append((key, deployment))
    return found


def account_tools(
    state: SandboxState, user: User | None, account_id: int
) -> list[tuple[DeveloperKey, Deployment]]:
    if not is_admin_of(state, user, account_id):
        return []
    return [
        (key, deployment)
        for key, deployment in tools_for_account(state, account_id)
        if key.placement("account_navigation") is not None
    ]


def course_tabs(state: SandboxState, user: User | None, course: Course) -> list[Tab]:
    base = f"/courses/{course.id}"
    tabs = [Tab("home", "Home", base), Tab("outcomes", "Outcomes", base + "/outcomes")]
    if is_course_teacher(state, user, course):
        tabs.append(Tab("lmgb", "Learning Mastery Gradebook", base + "/gradebook/learning_mastery"))
    elif user is not None and state.is_student(course.id, user.id):
        tabs.append(Tab("lmgb", "Learning Mastery", base + "/gradebook/learning_mastery"))
    for key, _deployment in course_tools(state, user, course):
        placement = key.placement("course_navigation")
        assert placement is not None
        tabs.append(Tab(f"tool_{key.id}", placement.text, f"{base}/external_tools/{key.id}"))
    return tabs


def account_tabs(state: SandboxState, user: User | None, account_id: int) -> list[Tab]:
    base = f"/accounts/{account_id}"
    tabs = [
        Tab("courses", "Courses", base),
        Tab("developer_keys", "Developer Keys", base + "/developer_keys"),
    ]
    for key, _deployment in account_tools(state, user, account_id):
        placement = key.placement("account_navigation")
        assert placement is not None
        tabs.append(Tab(f"tool_{key.id}", placement.text, f"{base}/external_tools/{key.id}"))
    return tabs


def user_courses(state: SandboxState, user: User) -> list[Course]:
    ids = {
        e.course_id
        for e in state.enrollments.values()
        if e.user_id == user.id and e.workflow_state == "active"
    }
    if user.account_admin_of:
        ids |= {c.id for c in state.courses.values() if is_admin_of(state, user, c.account_id)}
    return sorted((state.courses[i] for i in ids if i in state.courses), key=lambda c: c.name)


def label_for(user: User, enrollment_types: set[str]) -> str:
    if user.account_admin_of:
        return "Admin"
    for enrollment_type, label in (
        ("TeacherEnrollment", "Teacher"),
        ("TaEnrollment", "TA"),
        ("StudentEnrollment", "Student"),
        ("ObserverEnrollment", "Observer"),
    ):
        if enrollment_type in enrollment_types:
            return label
    return "User"


def role_label(state: SandboxState, user: User) -> str:
    """One short label for the switcher: Admin, Teacher, TA or Student."""
    types = {
        e.type
        for e in state.enrollments.values()
        if e.user_id == user.id and e.workflow_state == "active"
    }
    return label_for(user, set(types))
