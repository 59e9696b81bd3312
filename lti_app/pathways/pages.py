"""What every teacher page about pathways shares (the pathways pages and Sent to Canvas): who
may open it, how a refused action reads, and the page frame with the review-queue counts."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template
from flask_babel import gettext, lazy_gettext

from lti_app.context import DomainError, NotSynced
from lti_app.db import get_session
from lti_app.lti.launch_session import CSRF_FIELD, FORM_FIELD
from lti_app.mastery.pathways import State
from lti_app.models.launch import LaunchSession
from lti_app.pathways import service as svc
from lti_app.web.access import refuse

#: Each state of a demonstration in the teacher's words (lti_app.mastery.pathways.STATE_LABELS),
#: in the reader's language.
STATE_WORDS: dict[State, Any] = {
    State.CHOSEN: lazy_gettext("Chosen"),
    State.PROPOSED: lazy_gettext("Proposal waiting for approval"),
    State.PROPOSAL_RETURNED: lazy_gettext("Proposal returned with feedback"),
    State.APPROVED: lazy_gettext("Approved: ready to submit"),
    State.SUBMITTED: lazy_gettext("Submitted: waiting for a score"),
    State.RETURNED: lazy_gettext("Returned with feedback"),
    State.SCORED: lazy_gettext("Scored"),
    State.REASSESSMENT_REQUESTED: lazy_gettext("Reassessment requested"),
    State.REASSESSED: lazy_gettext("Reassessed (a new attempt followed)"),
    State.WITHDRAWN: lazy_gettext("Withdrawn"),
}


def teacher_actor(row: LaunchSession) -> svc.CourseContext:
    actor = svc.CourseContext.from_session(row)
    if not actor.is_teacher:
        raise svc.Forbidden(gettext("These pages are for the course's teachers."))
    return actor


def teacher_refusal(exc: DomainError) -> Response:
    """The blueprints' handler for a refused action (one place, not one per view)."""
    advice = {
        404: gettext("Go back to the pathways page and choose again."),
        409: gettext("Sync the course from Canvas first.") if isinstance(exc, NotSynced) else "",
    }.get(exc.status, "")
    return refuse(exc.status, exc.message, advice, tone="info" if exc.status == 409 else "error")


def render_teacher_page(
    template: str, row: LaunchSession, actor: svc.CourseContext, status: int = 200, **ctx: Any
) -> Response:
    db = get_session()
    html = render_template(
        template,
        s=row,
        counts=svc.queue_counts(db, actor.platform_id, actor.canvas_course_id),
        csrf_field=CSRF_FIELD,
        token_field=FORM_FIELD,
        state_labels={s.value: str(label) for s, label in STATE_WORDS.items()},
        **ctx,
    )
    return Response(html, status=status, mimetype="text/html")
