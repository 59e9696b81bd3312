"""The words the student pages use: per-target descriptors before the general level text."""

from __future__ import annotations

from lti_app.mastery.pathways import State
from lti_app.mastery.scales import Level, Scale, TargetDescriptor
from lti_app.pathways.student_views import STATE_NAMES, STATE_TEXT, next_text

LEVELS = (
    Level(1.0, "Beginning", "B", "#d97900", "With help, partial success."),
    Level(2.0, "Developing", "D", "#fab901", "Simpler content on your own."),
    Level(3.0, "Proficient", "P", "#0b874b", "The target content on your own."),
)


def test_a_target_descriptor_wins_by_canvas_id_or_title_else_the_level_text() -> None:
    scale = Scale(
        "Three levels",
        LEVELS,
        3.0,
        (
            TargetDescriptor("97", 3.0, "Name the theme and show it in three places."),
            TargetDescriptor("W.7.1", 2.0, "State a claim and give one reason."),
        ),
    )
    assert next_text(scale, ("97", "RL.7.2"), LEVELS[2]) == (
        "Name the theme and show it in three places."
    )
    assert next_text(scale, ("98", "W.7.1"), LEVELS[1]) == "State a claim and give one reason."
    assert next_text(scale, ("98", "W.7.1"), LEVELS[2]) == "The target content on your own."
    assert next_text(scale, ("97",), None) == ""


def test_every_state_has_words_for_the_student() -> None:
    assert set(STATE_TEXT) == set(State) == set(STATE_NAMES)
    assert all(text.strip() for text in [*STATE_TEXT.values(), *STATE_NAMES.values()])
