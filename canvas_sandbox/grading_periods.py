"""Grading periods (docs/canvas.md §12): a course's periods, as ``GradingPeriod`` rows of its
grading period group (course-level here; account-level groups are not imitated).

Canvas lists a course's active periods ordered by ``start_date``; ``is_closed`` is true once
``close_date`` has passed and ``is_last`` marks the period with the latest end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from canvas_sandbox.state import SandboxState

TABLE = "grading_periods"


@dataclass
class GradingPeriod:
    id: int
    course_id: int
    group_id: int
    title: str
    start_date: datetime
    end_date: datetime
    close_date: datetime
    weight: float | None = None
    workflow_state: str = "active"


def add_grading_period(
    state: SandboxState,
    course_id: int,
    title: str,
    start_date: datetime,
    end_date: datetime,
    close_date: datetime | None = None,
    weight: float | None = None,
) -> GradingPeriod:
    """A course grading period (Canvas gives a course one group, created with its first)."""
    with state.lock:
        table = state.table(TABLE)
        group = next(
            (p.group_id for p in table.values() if p.course_id == course_id),
            state.next_id("grading_period_group", 1),
        )
        period = GradingPeriod(
            state.next_id("grading_period", 1),
            course_id,
            group,
            title,
            start_date,
            end_date,
            close_date or end_date,  # Canvas defaults the close date to the end date
            weight,
        )
        table[period.id] = period
        return period


def periods_of(state: SandboxState, course_id: int) -> list[GradingPeriod]:
    """Active periods of the course in start-date order (``GradingPeriod.for(course)``)."""
    with state.lock:
        rows = [
            p
            for p in state.table(TABLE).values()
            if p.course_id == course_id and p.workflow_state == "active"
        ]
    return sorted(rows, key=lambda p: (p.start_date, p.id))
