"""The student pages' sentences said to an observer (a parent or guardian): about the student,
never to them ("You chose this pathway" becomes "A pathway is chosen"). Texts, said in the
reader's language where shown (lti_app/translatable.py)."""

from __future__ import annotations

from datetime import datetime

from lti_app.mastery.growth import GrowthStatus
from lti_app.mastery.pathways import State
from lti_app.translatable import Text, _l

STATE_TEXT: dict[State, Text] = {
    State.CHOSEN: _l("A pathway is chosen. The work is not handed in yet."),
    State.PROPOSED: _l("The student's own idea is waiting for the teacher's answer."),
    State.PROPOSAL_RETURNED: _l("The teacher sent the idea back with a note to change it."),
    State.APPROVED: _l("The teacher approved the idea. The work is not handed in yet."),
    State.SUBMITTED: _l("The work is handed in. The teacher will score it."),
    State.RETURNED: _l("The teacher sent the work back with a note to improve it."),
    State.SCORED: _l("The teacher scored this work."),
    State.REASSESSMENT_REQUESTED: _l("The student asked to try again. The teacher will answer."),
    State.REASSESSED: _l("The student tried again after this one."),
    State.WITHDRAWN: _l("The student stopped this pathway."),
}
# Where the student's words are said to the student (ON_TRACK is on_track_text, with its
# date; NO_EVIDENCE is said alike to both).
GROWTH_TEXT: dict[GrowthStatus, Text] = {
    GrowthStatus.NOT_ENOUGH_EVIDENCE: _l(
        "A little more scored work is needed before there is a level."
    ),
    GrowthStatus.MASTERED: _l("Proficiency is reached on this target."),
    GrowthStatus.NOT_ON_TRACK_YET: _l(
        "The scores are not going up yet. A new pathway is a chance to show more."
    ),
}


def on_track_text(projected: datetime) -> Text:
    return _l(
        "Growing: at this pace, proficiency could be reached around %(date)s.", date=projected
    )
