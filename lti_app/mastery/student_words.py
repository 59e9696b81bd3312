"""The calculation said to a student: how the latest score counted, and what the next score
would need to be to reach the next level. The words are ``Text`` (lti_app/translatable.py):
English here, said in the reader's language where a page shows them.

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
from lti_app.translatable import Text, _l, _ln


def how_it_counted(
    policy: Policy, scores: Sequence[float], value: float | None, mastery_threshold: float
) -> str:
    """``scores``: the ones the level was computed from, oldest first (``Result`` window); a
    ``Text``, or "" without scores."""
    k = len(scores)
    if k == 0:
        return ""
    method = Method(policy.method)
    param = policy.effective_parameter
    if value is None:
        if method is Method.N_MASTERY:
            n = 5 if param is None else param
            kept = sum(1 for s in scores if s >= mastery_threshold)
            return _ln(
                "You get a level once %(needed)s of your scores are %(threshold)s or higher; "
                "so far %(num)s is.",
                "You get a level once %(needed)s of your scores are %(threshold)s or higher; "
                "so far %(num)s are.",
                kept,
                needed=n,
                threshold=float(mastery_threshold),
            )
        return _ln(
            "You need more scored work before you get a level (%(num)s score so far).",
            "You need more scored work before you get a level (%(num)s scores so far).",
            k,
        )
    if k == 1:
        return _l("You have one score so far, so your level is that score: %(value)s.", value=value)
    last = scores[-1]
    if method is Method.DECAYING_AVERAGE:
        p = 65 if param is None else param
        older = sum(scores[:-1]) / (k - 1)
        if k == 2:
            return _l(
                "Your latest score (%(last)s) counts %(latest_share)s%%; your earlier score "
                "(%(older)s) counts the other %(rest_share)s%%. Together they make %(value)s.",
                last=float(last),
                latest_share=p,
                older=float(older),
                rest_share=100 - p,
                value=value,
            )
        return _l(
            "Your latest score (%(last)s) counts %(latest_share)s%%; the average of your "
            "%(earlier)s earlier scores (%(older)s) count the other %(rest_share)s%%. Together "
            "they make %(value)s.",
            last=float(last),
            latest_share=p,
            earlier=k - 1,
            older=float(older),
            rest_share=100 - p,
            value=value,
        )
    if method is Method.STANDARD_DECAYING_AVERAGE:
        p = 65 if param is None else param
        return _l(
            "Each new score counts %(latest_share)s%% and everything before it the other "
            "%(rest_share)s%%. After your latest score (%(last)s), that makes %(value)s.",
            latest_share=p,
            rest_share=100 - p,
            last=float(last),
            value=value,
        )
    if method is Method.HIGHEST:
        return _l(
            "Your best score counts: %(value)s is the highest of your %(num)s scores.",
            value=value,
            num=k,
        )
    if method is Method.LATEST:
        return _l("Your latest score is your level: %(value)s.", value=value)
    if method is Method.AVERAGE:
        return _l(
            "All your %(num)s scores count the same: their average is %(value)s.",
            num=k,
            value=value,
        )
    if method is Method.N_MASTERY:
        kept = sum(1 for s in scores if s >= mastery_threshold)
        return _ln(
            "Your level is the average of your %(num)s score at %(threshold)s or higher: "
            "%(value)s.",
            "Your level is the average of your %(num)s scores at %(threshold)s or higher: "
            "%(value)s.",
            kept,
            threshold=float(mastery_threshold),
            value=value,
        )
    if method is Method.POWER_LAW:
        return _l(
            "Your level follows the trend of your %(num)s scores, where your newer scores show "
            "best where you are now: %(value)s.",
            num=k,
            value=value,
        )
    if method is Method.MODE:
        return _l("The score you got most often counts: %(value)s.", value=value)
    n = 3 if param is None else param
    return _l(
        "Your %(num)s most recent scores count the same, older ones not at all: their average "
        "is %(value)s.",
        num=min(n, k),
        value=value,
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

    def words(self) -> Text:
        values = {"goal": float(self.goal.value), "goal_label": self.goal.label}
        if self.needed is not None:
            needed = {"needed": float(self.needed.value), "needed_label": self.needed.label}
            if self.top:
                return _l(
                    "To reach %(goal)s (%(goal_label)s), your next score would need to be "
                    "%(needed)s (%(needed_label)s).",
                    **values,
                    **needed,
                )
            return _l(
                "To reach %(goal)s (%(goal_label)s), your next score would need to be "
                "%(needed)s (%(needed_label)s) or higher.",
                **values,
                **needed,
            )
        return _l(
            "One more score will not reach %(goal)s (%(goal_label)s) yet: even a top score "
            "would make your level %(best)s. Keep showing what you can do; every strong score "
            "moves it up.",
            **values,
            best=float(self.best_gives or 0.0),
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
