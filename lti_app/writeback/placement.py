"""Which carrier a student's new results go to, so that Canvas orders them as the tool does.

Pure: no database, no Canvas. ``lti_app.writeback`` explains the design (the frontier carrier);
docs/canvas.md §3.5 why a re-saved assessment re-dates every row of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class StudentResults:
    """What Canvas (and the outbox) holds for one student.

    ``rows``: carrier round -> {outcome id: when Canvas dated that row (None: written but not
    visible yet, so it is the newest)}; ``elsewhere``: outcome id -> the newest date of the
    student's results for it that are not on a carrier (a teacher's own assignments, quizzes).
    """

    rows: dict[int, dict[str, datetime | None]] = field(default_factory=dict)
    elsewhere: dict[str, datetime] = field(default_factory=dict)

    def frontier(self) -> int:
        """The newest carrier the student has an assessment on (0: none)."""
        return max((r for r, outcomes in self.rows.items() if outcomes), default=0)

    def resavable(self, round_: int) -> bool:
        """Whether saving the student's assessment on ``round_`` again keeps Canvas's order:
        it re-dates every row of it, so each must still be that target's newest result.
        Canvas dates to the second and leaves ties unordered: a result in the same second
        counts as newer."""
        for outcome, at in self.rows.get(round_, {}).items():
            if at is None:
                continue  # written moments ago: nothing can be newer
            newer = self.elsewhere.get(outcome)
            if newer is not None and newer >= at:
                return False
            for other, outcomes in self.rows.items():
                when = outcomes.get(outcome)
                if other != round_ and when is not None and when >= at:
                    return False
        return True


def place(student: StudentResults, outcomes: Iterable[str]) -> list[int]:
    """The carrier round of each new result (outcome ids in the tool's evidence order).

    The first goes to the frontier carrier when it does not hold that target yet and may be
    re-saved, else to the next one; each later one to the same carrier or a later one, never
    one already holding its target. So a save only re-dates results that are already the
    student's newest, and two results of one target go to two carriers, in order.
    """
    front = student.frontier()
    current = front if front and student.resavable(front) else front + 1
    taken: dict[int, set[str]] = {r: set(o) for r, o in student.rows.items()}
    rounds: list[int] = []
    for outcome in outcomes:
        round_ = current
        while outcome in taken.get(round_, ()):
            round_ += 1
        taken.setdefault(round_, set()).add(outcome)
        rounds.append(round_)
        current = round_
    return rounds


def carriers_needed(placements: Mapping[str, list[int]]) -> int:
    """The highest round any student needs (how many carriers the course uses)."""
    return max((max(r) for r in placements.values() if r), default=0)
