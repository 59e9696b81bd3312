"""The calculation in a student's words, and what the next score would need to be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lti_app.mastery.calculation import (
    Evidence,
    Method,
    OverrideRule,
    Policy,
    SourceKind,
    current_level,
)
from lti_app.mastery.scales import load_preset
from lti_app.mastery.student_words import how_it_counted, next_step

MARZANO = load_preset("marzano_0_4_half")
T0 = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=60)


def evidence(*scores: float) -> list[Evidence]:
    return [Evidence(s, T0 + timedelta(days=i)) for i, s in enumerate(scores)]


def explain(policy: Policy, *scores: float) -> tuple[str, str]:
    items = evidence(*scores)
    result = current_level(items, policy, 0, 4, 3)
    step = next_step(items, policy, MARZANO, result, NOW)
    return how_it_counted(policy, scores, result.value, 3), step.words() if step else ""


def test_the_demo_case_3_after_1_and_2_names_the_mean_of_the_earlier_scores() -> None:
    """A demonstration scored 3 leaves the level at 2.48: the student is told why."""
    counted, step = explain(Policy(), 1, 2, 3)
    assert counted == (
        "Your latest score (3) counts 65%; the average of your 2 earlier scores (1.5) count "
        "the other 35%. Together they make 2.48."
    )
    # 0.65 x s + 0.35 x 2 (the mean of 1, 2, 3) >= 2.5 needs s >= 2.77: the next level up is 3
    assert step == (
        "To reach 2.5 (Developing, partial on target content), your next score would need to "
        "be 3 (Proficient) or higher."
    )


def test_one_earlier_score_and_one_score_only() -> None:
    counted, _ = explain(Policy(), 2, 3)
    assert counted.startswith("Your latest score (3) counts 65%; your earlier score (2) counts")
    counted, step = explain(Policy(), 2)
    assert counted == "You have one score so far, so your level is that score: 2."
    assert step.startswith("To reach 2.5")


@pytest.mark.parametrize(
    ("policy", "scores", "start"),
    [
        (Policy(Method.HIGHEST), (1, 3, 2), "Your best score counts: 3 is the highest of your 3"),
        (Policy(Method.LATEST), (1, 3, 2), "Your latest score is your level: 2."),
        (Policy(Method.AVERAGE), (1, 2, 3), "All your 3 scores count the same: their average is 2"),
        (Policy(Method.STANDARD_DECAYING_AVERAGE, 60), (2, 3), "Each new score counts 60%"),
        (Policy(Method.N_MASTERY, 2), (3, 1), "You get a level once 2 of your scores are 3"),
        (Policy(Method.N_MASTERY, 2), (3, 4), "Your level is the average of your 2 scores at 3"),
        (Policy(Method.MODE), (2, 2, 3), "The score you got most often counts: 2."),
        (Policy(Method.RECENT_MEAN, 2), (1, 2, 3), "Your 2 most recent scores count the same"),
        (Policy(Method.POWER_LAW), (1, 2, 3), "Your level follows the trend of your 3 scores"),
    ],
)
def test_every_method_has_student_words(
    policy: Policy, scores: tuple[float, ...], start: str
) -> None:
    counted, _ = explain(policy, *scores)
    assert counted.startswith(start), counted


def test_the_needed_score_really_reaches_the_goal_and_one_below_does_not() -> None:
    """The search uses the calculation itself: check its answer against it."""
    for method in Method:
        policy = Policy(method)
        items = evidence(1, 2, 2.5)
        result = current_level(items, policy, 0, 4, 3)
        step = next_step(items, policy, MARZANO, result, NOW)
        if step is None or step.needed is None:
            continue
        reached = current_level(
            [*items, Evidence(step.needed.value, NOW, SourceKind.DEMONSTRATION)], policy, 0, 4, 3
        ).value
        assert reached is not None and reached >= step.goal.value, method
        below = [lv for lv in MARZANO.levels if lv.value < step.needed.value]
        if below:
            short = current_level(
                [*items, Evidence(below[-1].value, NOW, SourceKind.DEMONSTRATION)],
                policy,
                0,
                4,
                3,
            ).value
            assert short is None or short < step.goal.value, method


def test_when_one_score_cannot_reach_the_next_level_it_says_so() -> None:
    _, step = explain(Policy(Method.AVERAGE), *([0.0] * 9))
    assert step.startswith("One more score will not reach 0.5 (Not yet, partial with help) yet")
    assert "even a top score would make your level 0.4" in step


def test_nothing_to_say_at_the_top_or_under_a_teachers_level_that_stands() -> None:
    assert explain(Policy(Method.LATEST), 4)[1] == ""
    policy = Policy(override_rule=OverrideRule.STANDS_UNTIL_CLEARED)
    items = [*evidence(1, 2), Evidence(2.5, NOW, SourceKind.OVERRIDE, reason="Talked it over")]
    result = current_level(items, policy, 0, 4, 3)
    assert next_step(items, policy, MARZANO, result, NOW) is None
