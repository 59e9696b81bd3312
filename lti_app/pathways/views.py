"""Teacher pages for demonstration pathways: target menus, the review queue, choice analytics.

All under /s/<handle>/pathways, for the launched course's teachers only; every operation goes
through ``lti_app.pathways.service`` (which authorizes and audits). A refused form is rendered
again with what was typed and a message per field; nothing is written then (4xx responses roll
the request's transaction back).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy.orm import Session

from lti_app.db import get_session
from lti_app.lti.launch_session import CSRF_FIELD, FORM_FIELD
from lti_app.mastery.pathways import STATE_LABELS
from lti_app.models.launch import LaunchSession
from lti_app.pathways import service as svc
from lti_app.policies.store import effective_policy
from lti_app.web.input_guard import ids
from lti_app.web.session_views import refuse, session_required
from lti_app.writeback.dispatch import kick_after_response

bp = Blueprint("pathways", __name__, url_prefix="/s/<handle>/pathways")


def _teacher(row: LaunchSession) -> svc.Actor:
    actor = svc.Actor.from_session(row)
    if not actor.is_teacher:
        raise svc.Forbidden("These pages are for the course's teachers.")
    return actor


def _refused(exc: svc.PathwayError) -> Response:
    advice = {
        404: "Go back to the pathways page and choose again.",
        409: "Sync the course from Canvas first." if isinstance(exc, svc.NotSynced) else "",
    }.get(exc.status, "")
    return refuse(exc.status, exc.message, advice, tone="info" if exc.status == 409 else "error")


def _render(
    template: str, row: LaunchSession, actor: svc.Actor, status: int = 200, **ctx: Any
) -> Response:
    db = get_session()
    html = render_template(
        template,
        s=row,
        counts=svc.queue_counts(db, actor.platform_id, actor.canvas_course_id),
        csrf_field=CSRF_FIELD,
        token_field=FORM_FIELD,
        state_labels={s.value: label for s, label in STATE_LABELS.items()},
        **ctx,
    )
    return Response(html, status=status, mimetype="text/html")


# --------------------------------------------------------------------------------------------
# Targets and their menus
# --------------------------------------------------------------------------------------------


@bp.get("/")
@session_required()
def index(row: LaunchSession) -> Response:
    db = get_session()
    try:
        actor = _teacher(row)
        targets = svc.targets(db, actor)
        menus = {
            t.canvas_outcome_id: svc.effective_menu(db, actor, t.canvas_outcome_id) for t in targets
        }
    except svc.PathwayError as exc:
        return _refused(exc)
    return _render("pathways_index.html", row, actor, targets=targets, menus=menus, tab="menus")


def _menu_form(db: Session, actor: svc.Actor, oid: str) -> dict[str, dict[str, Any]]:
    """The editor's rows, one per library kind, filled from the menu in force."""
    entries, _ = svc.effective_menu(db, actor, oid)
    by_kind = {e.kind.value: e for e in entries}
    form: dict[str, dict[str, Any]] = {}
    for kind in svc.library(db, actor.platform_id):
        entry = by_kind.get(kind.kind)
        if not kind.enabled and entry is None:
            continue  # the district disabled it and this menu does not offer it
        form[kind.kind] = {
            "label": kind.title,
            "offered": entry is not None,
            "title": entry.title if entry else kind.title,
            "instructions": entry.instructions if entry else kind.instructions,
            "due": entry.due_at.strftime("%Y-%m-%d") if entry and entry.due_at else "",
            "attempt_limit": str(entry.attempt_limit) if entry and entry.attempt_limit else "",
        }
    return form


def _menu_page(
    row: LaunchSession,
    actor: svc.Actor,
    oid: str,
    form: dict[str, dict[str, Any]],
    status: int = 200,
    **ctx: Any,
) -> Response:
    db = get_session()
    target = next(t for t in svc.targets(db, actor) if t.canvas_outcome_id == oid)
    others = [t for t in svc.targets(db, actor) if t.canvas_outcome_id != oid]
    _, is_default = svc.effective_menu(db, actor, oid)
    return _render(
        "pathways_menu.html",
        row,
        actor,
        status=status,
        target=target,
        others=others,
        form=form,
        is_default=is_default,
        tab="menus",
        **ctx,
    )


@bp.get("/targets/<oid>")
@session_required()
def menu(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    try:
        actor = _teacher(row)
        form = _menu_form(db, actor, oid)
    except svc.PathwayError as exc:
        return _refused(exc)
    return _menu_page(row, actor, oid, form, errors={})


@bp.post("/targets/<oid>")
@session_required()
def menu_post(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    try:
        actor = _teacher(row)
        svc.effective_menu(db, actor, oid)  # NotFound for a target outside the course
        kinds = list(_menu_form(db, actor, oid))
    except svc.PathwayError as exc:
        return _refused(exc)
    offered = set(request.form.getlist("offer"))
    rows = [
        svc.MenuRow(
            kind=kind,
            offered=kind in offered,
            title=request.form.get(f"{kind}-title", ""),
            instructions=request.form.get(f"{kind}-instructions", ""),
            due=request.form.get(f"{kind}-due", ""),
            attempt_limit=request.form.get(f"{kind}-attempt_limit", ""),
        )
        for kind in kinds
    ]
    try:
        items = svc.save_menu(db, actor, oid, rows)
    except svc.Invalid as exc:
        labels = {k.kind: k.title for k in svc.library(db, actor.platform_id)}
        form = {
            r.kind: {
                "label": labels[r.kind],
                "offered": r.offered,
                "title": r.title,
                "instructions": r.instructions,
                "due": r.due,
                "attempt_limit": r.attempt_limit,
            }
            for r in rows
        }
        return _menu_page(row, actor, oid, form, status=400, errors=exc.errors)
    except svc.PathwayError as exc:
        return _refused(exc)
    return _menu_page(
        row,
        actor,
        oid,
        _menu_form(db, actor, oid),
        errors={},
        saved=f"Saved: {len(items)} pathway{'s' if len(items) != 1 else ''} on this target's menu.",
    )


@bp.post("/targets/<oid>/copy")
@session_required()
def menu_copy(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    try:
        actor = _teacher(row)
        form = _menu_form(db, actor, oid)
    except svc.PathwayError as exc:
        return _refused(exc)
    chosen = request.form.getlist("to")
    try:
        copied = svc.copy_menu(db, actor, oid, chosen)
    except svc.Invalid as exc:
        return _menu_page(row, actor, oid, form, status=400, errors=exc.errors, copy_to=chosen)
    except svc.PathwayError as exc:
        return _refused(exc)
    return _menu_page(
        row,
        actor,
        oid,
        form,
        errors={},
        saved=f"Copied this menu to {copied} other target{'s' if copied != 1 else ''}.",
    )


# --------------------------------------------------------------------------------------------
# Review queue
# --------------------------------------------------------------------------------------------


def _review_page(row: LaunchSession, actor: svc.Actor, status: int = 200, **ctx: Any) -> Response:
    db = get_session()
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    ctx.setdefault("errors", {})
    ctx.setdefault("typed", {})
    return _render(
        "pathways_review.html",
        row,
        actor,
        status=status,
        queue=svc.review_queue(db, actor),
        scale=eff.scale,
        tab="review",
        **ctx,
    )


@bp.get("/review")
@session_required()
def review(row: LaunchSession) -> Response:
    try:
        actor = _teacher(row)
        return _review_page(row, actor)
    except svc.PathwayError as exc:
        return _refused(exc)


_DONE = {
    "approve_proposal": "Proposal approved.",
    "return_proposal": "Proposal returned with your feedback.",
    "score": "Score saved; it counts as evidence now and is on its way to Canvas.",
    "return_submission": "Submission returned with your feedback.",
    "approve_reassessment": "Reassessment approved: the student can submit a new attempt.",
    "decline_reassessment": "Reassessment declined with your note.",
}


@bp.post("/review/<id:demo_id>")
@session_required()
def review_act(row: LaunchSession, demo_id: int) -> Response:
    db = get_session()
    action = request.form.get("action", "")
    note = request.form.get("note", "")
    try:
        actor = _teacher(row)
    except svc.PathwayError as exc:
        return _refused(exc)
    try:
        if action == "approve_proposal":
            svc.approve_proposal(db, actor, demo_id, note)
        elif action == "return_proposal":
            svc.return_proposal(db, actor, demo_id, note)
        elif action == "score":
            svc.score(db, actor, demo_id, request.form.get("level", ""), note)
            kick_after_response(actor.platform_id, actor.canvas_course_id)
        elif action == "return_submission":
            svc.return_submission(db, actor, demo_id, note)
        elif action == "approve_reassessment":
            svc.approve_reassessment(db, actor, demo_id, note)
        elif action == "decline_reassessment":
            svc.decline_reassessment(db, actor, demo_id, note)
        else:
            return refuse(400, "Unknown action.", "Use the buttons on the review page.")
    except (svc.Invalid, svc.Conflict) as exc:
        typed = {demo_id: {"note": note, "level": request.form.get("level", "")}}
        errors = {demo_id: exc.errors or {"state": exc.message}}
        return _review_page(row, actor, status=exc.status, errors=errors, typed=typed)
    except svc.PathwayError as exc:
        return _refused(exc)
    return _review_page(row, actor, saved=_DONE[action])


@bp.post("/review/bulk")
@session_required()
def review_bulk(row: LaunchSession) -> Response:
    db = get_session()
    raw = request.form.getlist("ids")
    try:
        actor = _teacher(row)
        if not raw:
            return _review_page(row, actor, status=400, bulk_error="Select at least one request.")
        chosen = ids(raw)
        if chosen is None:
            return refuse(400, "That selection could not be read.", "Reload the page.")
        approved, skipped = svc.bulk_approve(db, actor, chosen)
    except svc.PathwayError as exc:
        return _refused(exc)
    note = f"Approved {approved}."
    if skipped:
        note += f" {skipped} could not be approved (already handled, or no attempts left)."
    return _review_page(row, actor, saved=note)


@bp.get("/demonstrations/<id:demo_id>")
@session_required()
def detail(row: LaunchSession, demo_id: int) -> Response:
    """One demonstration with its whole audit trail (who, when, from, to, note)."""
    db = get_session()
    try:
        actor = _teacher(row)
        demo = svc.demonstration(db, actor, demo_id)
        names = svc.roster_names(db, actor)
        titles = {t.canvas_outcome_id: t.title for t in svc.targets(db, actor)}
    except svc.PathwayError as exc:
        return _refused(exc)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    return _render(
        "pathways_demo.html",
        row,
        actor,
        d=demo,
        student_name=names.get(demo.canvas_user_id, f"Student {demo.canvas_user_id}"),
        names=names,
        target_title=titles.get(demo.canvas_outcome_id, f"Target {demo.canvas_outcome_id}"),
        scale=eff.scale,
        tab="review",
    )


# --------------------------------------------------------------------------------------------
# Choice analytics
# --------------------------------------------------------------------------------------------


@bp.get("/analytics")
@session_required()
def analytics(row: LaunchSession) -> Response:
    db = get_session()
    try:
        actor = _teacher(row)
        data = svc.choice_analytics(db, actor)
    except svc.PathwayError as exc:
        return _refused(exc)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    colors = {level.label: level.color for level in eff.scale.levels}
    return _render(
        "pathways_analytics.html", row, actor, targets=data, colors=colors, tab="analytics"
    )


# --------------------------------------------------------------------------------------------
# The district library (district administrators)
# --------------------------------------------------------------------------------------------


def _library_page(
    row: LaunchSession, form: list[dict[str, Any]], status: int = 200, **ctx: Any
) -> Response:
    html = render_template(
        "pathways_library.html",
        s=row,
        form=form,
        csrf_field=CSRF_FIELD,
        token_field=FORM_FIELD,
        errors=ctx.pop("errors", {}),
        **ctx,
    )
    return Response(html, status=status, mimetype="text/html")


def _library_form(db: Session, platform_id: int) -> list[dict[str, Any]]:
    return [
        {"kind": k.kind, "enabled": k.enabled, "title": k.title, "instructions": k.instructions}
        for k in svc.library(db, platform_id)
    ]


@bp.get("/library")
@session_required(admin=True)
def library(row: LaunchSession) -> Response:
    return _library_page(row, _library_form(get_session(), row.deployment.platform_id))


@bp.post("/library")
@session_required(admin=True)
def library_post(row: LaunchSession) -> Response:
    db = get_session()
    platform_id = row.deployment.platform_id
    enabled = set(request.form.getlist("enabled"))
    rows = [
        svc.LibraryRow(
            kind=k["kind"],
            enabled=k["kind"] in enabled,
            title=request.form.get(f"{k['kind']}-title", ""),
            instructions=request.form.get(f"{k['kind']}-instructions", ""),
        )
        for k in _library_form(db, platform_id)
    ]
    try:
        svc.save_library(db, platform_id, rows)
    except svc.Invalid as exc:
        form = [
            {"kind": r.kind, "enabled": r.enabled, "title": r.title, "instructions": r.instructions}
            for r in rows
        ]
        return _library_page(row, form, status=400, errors=exc.errors)
    return _library_page(
        row,
        _library_form(db, platform_id),
        saved="Saved. Targets without their own menu now offer the enabled kinds.",
    )
