"""Outcomes, outcome groups and links, mastery scales and calculation methods
(docs/canvas.md §2, §6).

Model functions only: they validate like Canvas's models and mutate the state; the REST layer
and the seed both go through them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from canvas_sandbox.errors import ValidationFailed
from canvas_sandbox.state import (
    Account,
    Alignment,
    CalculationMethod,
    Course,
    Outcome,
    OutcomeGroup,
    OutcomeLink,
    OutcomeRating,
    ProficiencyRating,
    SandboxState,
)

# Canvas's built-in default mastery scale (current code, docs/canvas.md §6.6).
DEFAULT_SCALE: tuple[tuple[str, float, bool, str], ...] = (
    ("Exceeds Mastery", 4.0, False, "0374B5"),
    ("Mastery", 3.0, True, "0B874B"),
    ("Near Mastery", 2.0, False, "FAB901"),
    ("Below Mastery", 1.0, False, "D97900"),
    ("No Evidence", 0.0, False, "E0061F"),
)

# Canvas's default outcome criterion when none is given (docs/canvas.md §6.2).
DEFAULT_OUTCOME_RATINGS = (
    ("Exceeds Expectations", 5.0),
    ("Meets Expectations", 3.0),
    ("Does Not Meet Expectations", 0.0),
)

# Allowed calculation methods and their calculation_int range (None: must be null),
# docs/canvas.md §2.2.
CALCULATION_RANGES: dict[str, tuple[int, int] | None] = {
    "decaying_average": (1, 99),
    "weighted_average": (1, 99),
    "standard_decaying_average": (50, 99),
    "n_mastery": (1, 10),
    "highest": None,
    "latest": None,
    "average": None,
}
CALCULATION_DEFAULT_INT = {
    "decaying_average": 65,
    "weighted_average": 65,
    "standard_decaying_average": 65,
    "n_mastery": 5,
}


def default_scale() -> list[ProficiencyRating]:
    return [ProficiencyRating(d, p, m, c) for d, p, m, c in DEFAULT_SCALE]


# --- calculation methods ------------------------------------------------------------------


def normalize_calculation(
    method: str | None, int_value: int | None, *, new_decaying: bool
) -> CalculationMethod:
    """Validate like ``OutcomeCalculationMethod``; store the name Canvas would store
    (docs/canvas.md §2.2)."""
    if method is None:
        method = "standard_decaying_average" if new_decaying else "decaying_average"
    if method not in CALCULATION_RANGES:
        raise ValidationFailed(
            "calculation_method",
            f"calculation_method must be one of {', '.join(CALCULATION_RANGES)}",
        )
    # The stored name depends on the new-decaying flag (docs/canvas.md §2.2).
    legacy_alias = "weighted_average" if new_decaying else "standard_decaying_average"
    if method == legacy_alias:
        method = "decaying_average"
    rng = CALCULATION_RANGES[method]
    if rng is None:
        if int_value is not None:
            raise ValidationFailed(
                "calculation_int", "A calculation value is not used with this calculation method"
            )
        return CalculationMethod(method, None)
    if int_value is None:
        int_value = CALCULATION_DEFAULT_INT[method]
    low, high = rng
    if not low <= int_value <= high:
        raise ValidationFailed(
            "calculation_int",
            f"'{int_value}' is not a valid value for this calculation method. "
            f"The value must be between '{low}' and '{high}'",
        )
    return CalculationMethod(method, int_value)


# --- mastery scales -----------------------------------------------------------------------


def validate_scale(ratings: Sequence[ProficiencyRating]) -> list[ProficiencyRating]:
    """Sort by points descending and check like ``OutcomeProficiency`` (422 messages,
    docs/canvas.md §6.6)."""
    if not ratings:
        raise ValidationFailed("outcome_proficiency_ratings", "Missing required ratings", "blank")
    if sum(1 for r in ratings if r.mastery) != 1:
        raise ValidationFailed("outcome_proficiency_ratings", "Exactly one rating can have mastery")
    for left, right in itertools.pairwise(ratings):
        if left.points <= right.points:
            raise ValidationFailed(
                "outcome_proficiency_ratings",
                "Points should be strictly decreasing: "
                f"{_num(left.points)} <= {_num(right.points)}",
            )
    return list(ratings)


def store_scale(
    state: SandboxState,
    context_type: str,
    context_id: int,
    ratings: Sequence[ProficiencyRating],
) -> list[ProficiencyRating]:
    """Validate and store a course's or account's own mastery scale (``OutcomeProficiency``);
    the caller then runs ``rubric_rewrites.scale_changed``."""
    checked = validate_scale(ratings)
    with state.lock:
        if context_type == "Course":
            state.courses[context_id].proficiency = checked
        else:
            state.accounts[context_id].proficiency = checked
    return checked


def set_outcome_ratings(
    state: SandboxState,
    outcome: Outcome,
    ratings: Sequence[tuple[str, float]] | None,
    mastery_points: float | None,
) -> None:
    """An outcome's own criterion (flag off): ratings by points descending, mastery points the
    top rating's unless given. The caller then runs ``rubric_rewrites.outcome_changed``."""
    with state.lock:
        if ratings:
            outcome.ratings = sorted(
                (OutcomeRating(d, float(p)) for d, p in ratings), key=lambda r: -r.points
            )
            outcome.mastery_points = outcome.ratings[0].points
        if mastery_points is not None:
            outcome.mastery_points = float(mastery_points)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def account_chain(state: SandboxState, account_id: int) -> list[Account]:
    chain: list[Account] = []
    current: int | None = account_id
    while current is not None and current in state.accounts and len(chain) < 20:
        account = state.accounts[current]
        chain.append(account)
        current = account.parent_account_id
    return chain


def root_account(state: SandboxState, account_id: int) -> Account:
    return account_chain(state, account_id)[-1]


def course_flags(state: SandboxState, course_id: int) -> Account:
    """The root account carrying the feature flags for a course."""
    return root_account(state, state.courses[course_id].account_id)


def resolved_scale(
    state: SandboxState, context_type: str, context_id: int
) -> list[ProficiencyRating] | None:
    """Own scale, else the nearest ancestor's; with FF on, a default is created
    (docs/canvas.md §6.6)."""
    with state.lock:
        if context_type == "Course":
            course: Course = state.courses[context_id]
            if course.proficiency is not None:
                return course.proficiency
            account_id = course.account_id
        else:
            account_id = context_id
        chain = account_chain(state, account_id)
        for account in chain:
            if account.proficiency is not None:
                return account.proficiency
        root = chain[-1]
        if root.account_level_mastery_scales:
            root.proficiency = default_scale()
            return root.proficiency
        return None


def resolved_calculation(
    state: SandboxState, context_type: str, context_id: int
) -> CalculationMethod:
    """Course -> account chain -> default ``highest`` (``find_or_create_default!``,
    docs/canvas.md §6.7)."""
    with state.lock:
        if context_type == "Course":
            course = state.courses[context_id]
            if course.calculation is not None:
                return course.calculation
            account_id = course.account_id
        else:
            account_id = context_id
        chain = account_chain(state, account_id)
        for account in chain:
            if account.calculation is not None:
                return account.calculation
        chain[-1].calculation = CalculationMethod("highest", None)
        return chain[-1].calculation


def scale_points(scale: Sequence[ProficiencyRating]) -> tuple[float, float]:
    """(points_possible, mastery_points) of a scale."""
    possible = max(r.points for r in scale)
    mastery = next(r.points for r in scale if r.mastery)
    return possible, mastery


# --- groups and links ---------------------------------------------------------------------


def root_group(
    state: SandboxState, context_type: str | None, context_id: int | None
) -> OutcomeGroup:
    with state.lock:
        for group in state.outcome_groups.values():
            if (
                group.context_type == context_type
                and group.context_id == context_id
                and group.parent_id is None
                and group.workflow_state == "active"
            ):
                return group
        title = "ROOT"
        if context_type == "Course" and context_id in state.courses:
            title = state.courses[context_id].name
        elif context_type == "Account" and context_id in state.accounts:
            title = state.accounts[context_id].name
        group = OutcomeGroup(state.next_id("outcome_group", 1), context_type, context_id, title)
        state.outcome_groups[group.id] = group
        return group


def create_group(
    state: SandboxState,
    parent: OutcomeGroup,
    title: str,
    description: str = "",
    vendor_guid: str | None = None,
) -> OutcomeGroup:
    if not title:
        raise ValidationFailed("title", "title is missing", "blank")
    with state.lock:
        group = OutcomeGroup(
            state.next_id("outcome_group", 1),
            parent.context_type,
            parent.context_id,
            title,
            parent_id=parent.id,
            description=description,
            vendor_guid=vendor_guid,
        )
        state.outcome_groups[group.id] = group
        return group


def create_outcome(
    state: SandboxState,
    context_type: str | None,
    context_id: int | None,
    title: str,
    *,
    display_name: str | None = None,
    description: str = "",
    vendor_guid: str | None = None,
    ratings: Sequence[tuple[str, float]] | None = None,
    mastery_points: float | None = None,
    calculation_method: str | None = None,
    calculation_int: int | None = None,
    new_decaying: bool = True,
) -> Outcome:
    if not title:
        raise ValidationFailed("title", "title is missing", "blank")
    calc = normalize_calculation(calculation_method, calculation_int, new_decaying=new_decaying)
    if ratings:
        outcome_ratings = sorted(
            (OutcomeRating(d, float(p)) for d, p in ratings), key=lambda r: -r.points
        )
        mastery = float(mastery_points) if mastery_points is not None else outcome_ratings[0].points
    else:
        outcome_ratings = [OutcomeRating(d, p) for d, p in DEFAULT_OUTCOME_RATINGS]
        mastery = float(mastery_points) if mastery_points is not None else 3.0
    with state.lock:
        outcome = Outcome(
            state.next_id("outcome", 1),
            context_type,
            context_id,
            title,
            display_name=display_name,
            description=description,
            vendor_guid=vendor_guid,
            mastery_points=mastery,
            ratings=outcome_ratings,
            calculation_method=calc.method,
            calculation_int=calc.int_value,
        )
        state.outcomes[outcome.id] = outcome
        return outcome


def link_outcome(state: SandboxState, group: OutcomeGroup, outcome: Outcome) -> OutcomeLink:
    """Link an outcome into a group; linking twice returns the existing link."""
    assert group.context_type is not None and group.context_id is not None
    with state.lock:
        for link in state.outcome_links.values():
            if (
                link.group_id == group.id
                and link.outcome_id == outcome.id
                and link.workflow_state == "active"
            ):
                return link
        link = OutcomeLink(
            state.next_id("content_tag", 1),
            group.context_type,
            group.context_id,
            group.id,
            outcome.id,
        )
        state.outcome_links[link.id] = link
        return link


def course_links(state: SandboxState, course_id: int) -> list[OutcomeLink]:
    return sorted(
        (
            link
            for link in state.outcome_links.values()
            if link.context_type == "Course"
            and link.context_id == course_id
            and link.workflow_state == "active"
        ),
        key=lambda link: link.id,
    )


def course_outcome_ids(state: SandboxState, course_id: int) -> list[int]:
    """Outcomes linked into the course, in first-link order, without duplicates."""
    seen: dict[int, None] = {}
    for link in course_links(state, course_id):
        seen.setdefault(link.outcome_id, None)
    return list(seen)


def group_path(state: SandboxState, group_id: int) -> list[OutcomeGroup]:
    """The group and its ancestors, root first."""
    path: list[OutcomeGroup] = []
    current: int | None = group_id
    while current is not None and len(path) < 50:
        group = state.outcome_groups[current]
        path.append(group)
        current = group.parent_id
    return list(reversed(path))


def align(state: SandboxState, course_id: int, assignment_id: int, outcome_id: int) -> Alignment:
    """Align an outcome to an assignment; links it into the course root if it was not
    (docs/canvas.md §6.5)."""
    with state.lock:
        known = state.alignment_keys.get((course_id, assignment_id, outcome_id))
        if known is not None and state.alignments[known].workflow_state == "active":
            return state.alignments[known]
        if outcome_id not in course_outcome_ids(state, course_id):
            link_outcome(state, root_group(state, "Course", course_id), state.outcomes[outcome_id])
        alignment = Alignment(state.next_id("content_tag", 1), course_id, outcome_id, assignment_id)
        state.alignments[alignment.id] = alignment
        state.alignment_keys[(course_id, assignment_id, outcome_id)] = alignment.id
        return alignment


def outcome_alignments(state: SandboxState, course_id: int, outcome_id: int) -> list[Alignment]:
    return [
        a
        for a in state.alignments.values()
        if a.course_id == course_id and a.outcome_id == outcome_id and a.workflow_state == "active"
    ]
