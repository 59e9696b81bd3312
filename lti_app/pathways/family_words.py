"""The student pages' sentences said to an observer (a parent or guardian): about the student,
never to them ("You chose this pathway" becomes "A pathway is chosen"). Translated when said
(in the request's language)."""

from __future__ import annotations

from flask_babel import gettext as _

from lti_app.mastery.growth import GrowthStatus
from lti_app.mastery.pathways import State


def state_text(state: State) -> str:
    texts: dict[State, str] = {
        State.CHOSEN: _("A pathway is chosen. The work is not handed in yet."),
        State.PROPOSED: _("The student's own idea is waiting for the teacher's answer."),
        State.PROPOSAL_RETURNED: _("The teacher sent the idea back with a note to change it."),
        State.APPROVED: _("The teacher approved the idea. The work is not handed in yet."),
        State.SUBMITTED: _("The work is handed in. The teacher will score it."),
        State.RETURNED: _("The teacher sent the work back with a note to improve it."),
        State.SCORED: _("The teacher scored this work."),
        State.REASSESSMENT_REQUESTED: _("The student asked to try again. The teacher will answer."),
        State.REASSESSED: _("The student tried again after this one."),
        State.WITHDRAWN: _("The student stopped this pathway."),
    }
    return texts[state]


def growth_text(status: GrowthStatus) -> str:
    """With ``{date}`` where the projection goes (ON_TRACK)."""
    texts: dict[GrowthStatus, str] = {
        GrowthStatus.NO_EVIDENCE: _("There is no work scored on this target yet."),
        GrowthStatus.NOT_ENOUGH_EVIDENCE: _(
            "A little more scored work is needed before there is a level."
        ),
        GrowthStatus.MASTERED: _("Proficiency is reached on this target."),
        GrowthStatus.ON_TRACK: _(
            "Growing: at this pace, proficiency could be reached around %(date)s.", date="{date}"
        ),
        GrowthStatus.NOT_ON_TRACK_YET: _(
            "The scores are not going up yet. A new pathway is a chance to show more."
        ),
    }
    return texts[status]
