"""The calculation said to a student: how the latest score counted, and what the next score
would need to be to reach the next level.

"What it takes" is not a second model of the methods: it asks :func:`current_level` itself
what the level would be with one more score at each level of the scale, so it holds for every
method, the minimum-evidence rule and the override rules alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lti_app.mastery.calculation import (
    Evidence,
    Method,
    Policy,
    Result,
    SourceKind,
    current_level,
    ordered,
)
from lti_app.mastery.scales import Level, Scale


def _n(x: float) -> str:
    return f"{round(x, 2):g}"


def _scores(k: int) -> str:
    return f"{k} score{'s' if k != 1 else ''}"


def how_it_counted(
    policy: Policy, scores: Sequence[float], value: float | None, mastery_threshold: float
) -> str:
    """``scores``: the ones the level was computed from, oldest first (``Result`` window)."""
    k = len(scores)
    if k == 0:
        return ""
    method = Method(policy.method)
    param = policy.effective_parameter
    if value is None:
        if method is Method.N_MASTERY:
            n = 5 if param is None else param
            kept = sum(1 for s in scores if s >= mastery_threshold)
            return (
                f"You get a level once {n} of your scores are {_n(mastery_threshold)} or higher; "
                f"so far {kept} {'is' if kept == 1 else 'are'}."
            )
        return f"You need more scored work before you get a level ({_scores(k)} so far)."
    if k == 1:
        return f"You have one score so far, so your level is that score: {_n(value)}."
    last = scores[-1]
    if method is Method.DECAYING_AVERAGE:
        p = 65 if param is None else param
        older = sum(scores[:-1]) / (k - 1)
        earlier = "earlier score" if k == 2 else f"{k - 1} earlier scores"
        mean = "" if k == 2 else "the average of "
        return (
            f"Your latest score ({_n(last)}) counts {p}%; {mean}your {earlier} "
            f"({_n(older)}) count{'s' if k == 2 else ''} the other {100 - p}%. "
            f"Together they make {_n(value)}."
        )
    if method is Method.STANDARD_DECAYING_AVERAGE:
        p = 65 if param is None else param
        return (
            f"Each new score counts {p}% and everything before it the other {100 - p}%. "
            f"After your latest score ({_n(last)}), that makes {_n(value)}."
        )
    if method is Method.HIGHEST:
        return f"Your best score counts: {_n(value)} is the highest of your {_scores(k)}."
    if method is Method.LATEST:
        return f"Your latest score is your level: {_n(value)}."
    if method is Method.AVERAGE:
        return f"All your {_scores(k)} count the same: their average is {_n(value)}."
    if method is Method.N_MASTERY:
        kept = sum(1 for s in scores if s >= mastery_threshold)
        return (
            f"Your level is the average of your {kept} scores at {_n(mastery_threshold)} or "
            f"higher: {_n(value)}."
        )
    if method is Method.POWER_LAW:
        return (
            f"Your level follows the trend of your {_scores(k)}, where your newer scores show "
            f"best where you are now: {_n(value)}."
        )
    if method is Method.MODE:
        return f"The score you got most often counts: {_n(value)}."
    n = 3 if param is None else param
    used = min(n, k)
    return (
        f"Your {used} most recent scores count the same, older ones not at all: their average "
        f"is {_n(value)}."
    )


@dataclass(frozen=True)
class NextStep:
    goal: Level
    needed: Level | None
    """The lowest score on the scale that would reach ``goal`` next time; None if none would."""
    best_gives: float | None
    """The level a top score would give (when one score cannot reach ``goal``)."""
    top: bool = False
    """``needed`` is the scale's top level (no "or higher")."""

    def words(self) -> str:
        if self.needed is not None:
            return (
                f"To reach {_n(self.goal.value)} ({self.goal.label}), your next score would need "
                f"to be {_n(self.needed.value)} ({self.needed.label})"
                f"{'' if self.top else ' or higher'}."
            )
        return (
            f"One more score will not reach {_n(self.goal.value)} ({self.goal.label}) yet: "
            f"even a top score would make your level {_n(self.best_gives or 0.0)}. Keep showing "
            "what you can do; every strong score moves it up."
        )


def next_step(
    evidence: Sequence[Evidence], policy: Policy, scale: Scale, result: Result, now: datetime
) -> NextStep | None:
    """What one more scored piece of work, at each level of the scale, would do; None at the
    top, or when a new score would change nothing (a teacher's level that stands)."""
    current = result.value
    goal = scale.next_level_above(current if current is not None else scale.min_value - 1)
    if goal is None:
        return None
    items = ordered(evidence)
    at = max([now, *(e.at for e in items)])
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    gives: float | None = None
    for level in scale.levels:
        after = [*items, Evidence(level.value, at, SourceKind.DEMONSTRATION)]
        gives = current_level(after, policy, lo, hi, threshold).value
        if gives is not None and gives >= goal.value:
            return NextStep(goal, level, None, top=level is scale.levels[-1])
    if gives is None or gives == current:
        return None
    return NextStep(goal, None, gives)
