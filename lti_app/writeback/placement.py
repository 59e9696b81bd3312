"""Which carrier a student's new results go to, so that Canvas orders them as the tool does.

Pure: no database, no Canvas. ``lti_app.writeback`` explains the design;
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

    Each goes to the lowest carrier that does not hold its target yet and may be re-saved
    (every row of the student on it is still that target's newest result, also against what
    this batch writes earlier), never below the previous one of the batch (writes go in round
    order); a carrier the student has no assessment on always qualifies. So a save only
    re-dates results that are already the student's newest, two results of one target go to
    two carriers in order, and carriers are reused as much as the order allows.
    """
    taken: dict[int, set[str]] = {r: set(o) for r, o in student.rows.items()}
    written_at: dict[str, int] = {}  # outcome -> the lowest round this batch writes it to
    rounds: list[int] = []
    current = 1
    for outcome in outcomes:
        round_ = current
        while not _fits(student, taken, written_at, round_, outcome):
            round_ += 1
        taken.setdefault(round_, set()).add(outcome)
        written_at.setdefault(outcome, round_)
        rounds.append(round_)
        current = round_
    return rounds


def _fits(
    student: StudentResults,
    taken: Mapping[int, set[str]],
    written_at: Mapping[str, int],
    round_: int,
    outcome: str,
) -> bool:
    if outcome in taken.get(round_, ()):
        return False
    held = student.rows.get(round_, {})
    if not held:
        return True
    if not student.resavable(round_):
        return False
    # A row re-dated by this save must not jump over the same target written earlier in the
    # batch (on a lower carrier, so sent before this one).
    return all(written_at.get(u, round_) >= round_ for u in held)
