"""What the pages show, as plain data for the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canvas_sandbox.state import Course, SandboxState, User
from canvas_sandbox.ui import nav

ROLE_ORDER = ("Admin", "Teacher", "TA", "Student", "User")


def switcher_groups(state: SandboxState) -> list[tuple[str, list[User]]]:
    """Every user, grouped Admin / Teacher / TA / Student, for the switcher."""
    groups: dict[str, list[User]] = {}
    with state.lock:
        for user in state.users.values():
            groups.setdefault(nav.role_label(state, user), []).append(user)
    return [
        (label, sorted(groups[label], key=lambda u: (u.sortable_name, u.id)))
        for label in ROLE_ORDER
        if label in groups
    ]


@dataclass
class RosterRow:
    user: User
    roles: list[str]
    sections: list[str]


def roster(state: SandboxState, course: Course) -> list[RosterRow]:
    rows: dict[int, RosterRow] = {}
    for enrollment in state.enrollments_in(course.id):
        if enrollment.workflow_state != "active":
            continue
        user = state.users[enrollment.user_id]
        row = rows.setdefault(user.id, RosterRow(user, [], []))
        label = {
            "TeacherEnrollment": "Teacher",
            "TaEnrollment": "TA",
            "StudentEnrollment": "Student",
        }[enrollment.type]
        if label not in row.roles:
            row.roles.append(label)
        section = state.sections.get(enrollment.section_id)
        if section and section.name not in row.sections:
            row.sections.append(section.name)
    order = {"Teacher": 0, "TA": 1, "Student": 2}
    return sorted(
        rows.values(), key=lambda r: (min(order[x] for x in r.roles), r.user.sortable_name)
    )


@dataclass
class OutcomeGroupView:
    title: str
    depth: int
    outcomes: list[Any] = field(default_factory=list)


def outcome_tree(state: SandboxState, course: Course) -> list[OutcomeGroupView]:
    return []


@dataclass
class Gradebook:
    outcomes: list[Any]
    rows: list[tuple[User, list[Any]]]


def mastery_gradebook(state: SandboxState, course: Course) -> Gradebook:
    return Gradebook([], [])
