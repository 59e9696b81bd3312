"""What the pages show, as plain data for the templates."""

from __future__ import annotations

from dataclasses import dataclass, field

from canvas_sandbox import outcomes as outcome_model
from canvas_sandbox import rollups
from canvas_sandbox.state import (
    Course,
    Outcome,
    OutcomeGroup,
    ProficiencyRating,
    SandboxState,
    User,
)
from canvas_sandbox.ui import nav

ROLE_ORDER = ("Admin", "Teacher", "TA", "Student", "Observer", "User")


def switcher_groups(state: SandboxState) -> list[tuple[str, list[User]]]:
    """Every user, grouped Admin / Teacher / TA / Student, for the switcher (one pass over
    the enrollments: synthetic benchmark districts have thousands of users)."""
    with state.lock:
        types: dict[int, set[str]] = {}
        for e in state.enrollments.values():
            if e.workflow_state == "active":
                types.setdefault(e.user_id, set()).add(e.type)
        groups: dict[str, list[User]] = {}
        for user in state.users.values():
            groups.setdefault(nav.label_for(user, types.get(user.id, set())), []).append(user)
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
            "ObserverEnrollment": "Observer",
        }[enrollment.type]
        if label not in row.roles:
            row.roles.append(label)
        section = state.sections.get(enrollment.section_id)
        if section and section.name not in row.sections:
            row.sections.append(section.name)
    order = {"Teacher": 0, "TA": 1, "Student": 2, "Observer": 3}
    return sorted(
        rows.values(), key=lambda r: (min(order[x] for x in r.roles), r.user.sortable_name)
    )


@dataclass
class OutcomeGroupView:
    title: str
    depth: int
    outcomes: list[Outcome] = field(default_factory=list)


def outcome_tree(state: SandboxState, course: Course) -> list[OutcomeGroupView]:
    """The course's outcome groups depth-first (root first), each with its linked outcomes."""
    root = outcome_model.root_group(state, "Course", course.id)
    with state.lock:
        links = outcome_model.course_links(state, course.id)
        children: dict[int | None, list[OutcomeGroup]] = {}
        for group in state.outcome_groups.values():
            mine = group.context_type == "Course" and group.context_id == course.id
            if mine and group.workflow_state == "active":
                children.setdefault(group.parent_id, []).append(group)
        linked: dict[int, list[Outcome]] = {}
        for link in links:
            if link.outcome_id in state.outcomes:
                linked.setdefault(link.group_id, []).append(state.outcomes[link.outcome_id])
    views: list[OutcomeGroupView] = []

    def walk(group: OutcomeGroup, depth: int) -> None:
        title = group.title if group.id != root.id else "Course outcomes"
        if group.id != root.id or linked.get(group.id):
            views.append(OutcomeGroupView(title, depth, linked.get(group.id, [])))
        for child in sorted(children.get(group.id, []), key=lambda g: g.id):
            walk(child, depth + (0 if group.id == root.id else 1))

    walk(root, 0)
    return views


@dataclass(frozen=True)
class Cell:
    score: float | None
    label: str = ""
    color: str = ""


@dataclass
class Gradebook:
    outcomes: list[Outcome]
    rows: list[tuple[User, list[Cell]]]


def _rating(scale: list[ProficiencyRating] | None, score: float) -> tuple[str, str]:
    for rating in sorted(scale or [], key=lambda r: -r.points):
        if score >= rating.points:
            return rating.description, rating.color
    return "", ""


def mastery_gradebook(state: SandboxState, course: Course, student: int | None = None) -> Gradebook:
    """The Learning Mastery Gradebook: each student's rollup per outcome, hidden results left
    out as Canvas leaves them out, rated on the course's (or district's) mastery scale.
    ``student``: the student's own view (their row, posted results only)."""
    outcome_ids = outcome_model.course_outcome_ids(state, course.id)
    scores = rollups.course_rollups(state, course.id, student=student)
    scale = outcome_model.resolved_scale(state, "Course", course.id)
    rows = []
    for student_user in state.students_of(course.id):
        if student not in (None, student_user.id):
            continue
        by_outcome = {s.outcome_id: s for s in scores.get(student_user.id, [])}
        cells = []
        for outcome_id in outcome_ids:
            rollup = by_outcome.get(outcome_id)
            if rollup is None or rollup.score is None:
                cells.append(Cell(None))
            else:
                label, color = _rating(scale, rollup.score)
                cells.append(Cell(rollup.score, label, color))
        rows.append((student_user, cells))
    return Gradebook([state.outcomes[i] for i in outcome_ids], rows)
