"""The teacher's "Sent to Canvas" page: every scored result the tool owes Canvas, with its
status (pending, in Canvas, failed with the reason), a progress bar for the batch in flight,
and retry for failures.

Same place, same refusals and the same navigation as the other pathway pages; the numbers
refresh themselves from ``status.json`` while anything is pending (static/writeback.js).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext
from sqlalchemy import select

from lti_app.context import DomainError
from lti_app.db import get_session
from lti_app.models.launch import LaunchSession
from lti_app.models.writeback import DELIVERED, FAILED, PENDING, STATUSES, WritebackItem
from lti_app.pathways import service as svc
from lti_app.pathways.pages import render_teacher_page, teacher_actor, teacher_refusal
from lti_app.web.access import refuse, session_required
from lti_app.writeback import outbox
from lti_app.writeback.dispatch import kick_after_response

bp = Blueprint("writeback", __name__, url_prefix="/s/<handle>/pathways/canvas-results")
bp.register_error_handler(DomainError, teacher_refusal)

# The table shows the newest rows; a status filter narrows it (failures are never many).
ROW_LIMIT = 500
STATUS_WORDS = {
    PENDING: lazy_gettext("Pending"),
    DELIVERED: lazy_gettext("In Canvas"),
    FAILED: lazy_gettext("Failed"),
}


def progress_text(st: outbox.CourseStatus) -> str:
    return str(gettext("%(done)s of %(total)s sent", done=st.batch_done, total=st.batch_total))


def _status_json(st: outbox.CourseStatus) -> dict[str, Any]:
    return {
        "pending": st.pending,
        "delivered": st.delivered,
        "failed": st.failed,
        "total": st.total,
        "batch": {
            "total": st.batch_total,
            "done": st.batch_done,
            "percent": st.batch_percent,
            "text": progress_text(st),
        },
    }


def _page(row: LaunchSession, actor: svc.CourseContext, status: int = 200, **ctx: Any) -> Response:
    db = get_session()
    names = svc.roster_names(db, actor)
    titles = {t.canvas_outcome_id: t.name for t in svc.targets(db, actor)}
    shown = request.args.get("status", "")
    if shown not in STATUSES:
        shown = ""
    items = outbox.course_items(db, actor.platform_id, actor.canvas_course_id)
    if shown:
        items = [i for i in items if i.status == shown]
    st = outbox.course_status(db, actor.platform_id, actor.canvas_course_id)
    return render_teacher_page(
        "writeback_status.html",
        row,
        actor,
        status=status,
        st=st,
        progress=progress_text(st),
        items=items[:ROW_LIMIT],
        matching=len(items),
        repairs=outbox.carrier_repairs(db, actor.platform_id, actor.canvas_course_id),
        shown=shown,
        names=names,
        titles=titles,
        source=outbox.source_of,
        words=STATUS_WORDS,
        status_url=url_for("writeback.status_json", handle=row.id),
        tab="canvas",
        **ctx,
    )


@bp.get("")
@session_required()
def page(row: LaunchSession) -> Response:
    actor = teacher_actor(row)
    return _page(row, actor)


@bp.get("/status.json")
@session_required()
def status_json(row: LaunchSession) -> Response:
    try:
        actor = teacher_actor(row)
    except DomainError:
        return Response('{"error": "forbidden"}', status=403, mimetype="application/json")
    st = outbox.course_status(get_session(), actor.platform_id, actor.canvas_course_id)
    response = jsonify(_status_json(st))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/retry")
@session_required()
def retry_all(row: LaunchSession) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    count = outbox.retry(db, actor.platform_id, actor.canvas_course_id)
    if not count:
        return _page(row, actor, saved=gettext("Nothing to retry: no result has failed."))
    kick_after_response(actor.platform_id, actor.canvas_course_id)
    return _page(
        row,
        actor,
        saved=ngettext(
            "Sending %(num)d failed result to Canvas again.",
            "Sending %(num)d failed results to Canvas again.",
            count,
        ),
    )


@bp.post("/retry/<id:item_id>")
@session_required()
def retry_one(row: LaunchSession, item_id: int) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    # Only this course's rows exist for this page: another course's id is "no such result".
    found = db.scalar(
        select(WritebackItem.id).where(
            WritebackItem.id == item_id,
            WritebackItem.in_course(actor.platform_id, actor.canvas_course_id),
        )
    )
    if found is None:
        return refuse(
            404,
            gettext("There is no such result in this course."),
            gettext("Go back to the Sent to Canvas page and choose again."),
        )
    if not outbox.retry(db, actor.platform_id, actor.canvas_course_id, [item_id]):
        return _page(
            row, actor, saved=gettext("That result is no longer failed: nothing to retry.")
        )
    kick_after_response(actor.platform_id, actor.canvas_course_id)
    return _page(row, actor, saved=gettext("Sending that result to Canvas again."))
