"""Teacher pages for demonstration pathways: target menus, the review queue, choice analytics.

All under /s/<handle>/pathways, for the launched course's teachers only; every operation goes
through ``lti_app.pathways.service`` (which authorizes and audits). A refused form is rendered
again with what was typed and a message per field; nothing is written then (4xx responses roll
the request's transaction back).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext, lazy_gettext, ngettext
from sqlalchemy.orm import Session

from lti_app.context import DomainError
from lti_app.db import get_session
from lti_app.grading import course_mastery
from lti_app.grading import grid as grid_model
from lti_app.languages import current_language
from lti_app.lti.launch_session import CSRF_FIELD, FORM_FIELD
from lti_app.mastery.district_text import localized_scale
from lti_app.models.launch import LaunchSession
from lti_app.pathways import service as svc
from lti_app.pathways.pages import render_teacher_page, teacher_actor, teacher_refusal
from lti_app.policies.district_texts import Translations, translations_from_form
from lti_app.policies.store import EffectivePolicy, effective_policy
from lti_app.web.access import refuse, session_required
from lti_app.web.input_guard import ids
from lti_app.writeback.dispatch import kick_after_response

bp = Blueprint("pathways", __name__, url_prefix="/s/<handle>/pathways")
bp.register_error_handler(DomainError, teacher_refusal)


# --------------------------------------------------------------------------------------------
# Targets and their menus
# --------------------------------------------------------------------------------------------


@bp.get("/")
@session_required()
def index(row: LaunchSession) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    targets = svc.targets(db, actor)
    menus = {
        t.canvas_outcome_id: svc.effective_menu(db, actor, t.canvas_outcome_id) for t in targets
    }
    return render_teacher_page(
        "pathways_index.html", row, actor, targets=targets, menus=menus, tab="menus"
    )


def _translated_fields(translations: Translations | None) -> dict[str, str]:
    """The form's fields of an entry's other-language texts: {"es-title": ..., ...}."""
    empty = translations_from_form({}, "", svc.ENTRY_TEXT_LIMITS)
    return {
        f"{lang}-{name}": ((translations or {}).get(lang) or {}).get(name, "")
        for lang, texts in empty.items()
        for name in texts
    }


def _menu_form(db: Session, actor: svc.CourseContext, oid: str) -> dict[str, dict[str, Any]]:
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
            **_translated_fields(entry.translations if entry else kind.translations),
        }
    return form


def _menu_page(
    row: LaunchSession,
    actor: svc.CourseContext,
    oid: str,
    form: dict[str, dict[str, Any]],
    status: int = 200,
    **ctx: Any,
) -> Response:
    db = get_session()
    target = next(t for t in svc.targets(db, actor) if t.canvas_outcome_id == oid)
    others = [t for t in svc.targets(db, actor) if t.canvas_outcome_id != oid]
    _, is_default = svc.effective_menu(db, actor, oid)
    return render_teacher_page(
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
    actor = teacher_actor(row)
    form = _menu_form(db, actor, oid)
    return _menu_page(row, actor, oid, form, errors={})


@bp.post("/targets/<oid>")
@session_required()
def menu_post(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    svc.effective_menu(db, actor, oid)  # NotFound for a target outside the course
    kinds = list(_menu_form(db, actor, oid))
    offered = set(request.form.getlist("offer"))
    rows = [
        svc.MenuRow(
            kind=kind,
            offered=kind in offered,
            title=request.form.get(f"{kind}-title", ""),
            instructions=request.form.get(f"{kind}-instructions", ""),
            due=request.form.get(f"{kind}-due", ""),
            attempt_limit=request.form.get(f"{kind}-attempt_limit", ""),
            translations=translations_from_form(request.form, kind, svc.ENTRY_TEXT_LIMITS),
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
                **_translated_fields(r.translations),
            }
            for r in rows
        }
        return _menu_page(row, actor, oid, form, status=400, errors=exc.errors)
    return _menu_page(
        row,
        actor,
        oid,
        _menu_form(db, actor, oid),
        errors={},
        saved=ngettext(
            "Saved: %(num)d pathway on this target's menu.",
            "Saved: %(num)d pathways on this target's menu.",
            len(items),
        ),
    )


@bp.post("/targets/<oid>/copy")
@session_required()
def menu_copy(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    form = _menu_form(db, actor, oid)
    chosen = request.form.getlist("to")
    try:
        copied = svc.copy_menu(db, actor, oid, chosen)
    except svc.Invalid as exc:
        return _menu_page(row, actor, oid, form, status=400, errors=exc.errors, copy_to=chosen)
    return _menu_page(
        row,
        actor,
        oid,
        form,
        errors={},
        saved=ngettext(
            "Copied this menu to %(num)d other target.",
            "Copied this menu to %(num)d other targets.",
            copied,
        ),
    )


# --------------------------------------------------------------------------------------------
# Review queue
# --------------------------------------------------------------------------------------------


def _current_levels(
    db: Session, actor: svc.CourseContext, eff: EffectivePolicy
) -> dict[tuple[str, str], str] | None:
    """Each student's level on each target now, in words (value, short label, label), from the
    class grid (kept between requests), for the review cards; None before a sync."""
    try:
        data = grid_model.grid(
            db,
            actor.platform_id,
            actor.canvas_course_id,
            eff.scale,
            eff.policy,
            eff.mapping,
            datetime.now(UTC),
        )
    except course_mastery.CourseNotSynced:
        return None
    out: dict[tuple[str, str], str] = {}
    scale = localized_scale(eff.scale, current_language())
    for key, cell in data.cells.items():
        if cell.level is None or cell.level_index is None:
            out[key] = gettext("no level yet")
            continue
        level = scale.levels[cell.level_index]
        out[key] = f"{cell.level:g} {level.short_label} \u2013 {level.label}"
    return out


def _review_page(
    row: LaunchSession, actor: svc.CourseContext, status: int = 200, **ctx: Any
) -> Response:
    db = get_session()
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    ctx.setdefault("errors", {})
    ctx.setdefault("typed", {})
    return render_teacher_page(
        "pathways_review.html",
        row,
        actor,
        status=status,
        queue=svc.review_queue(db, actor),
        levels=_current_levels(db, actor, eff),
        scale=localized_scale(eff.scale, current_language()),
        tab="review",
        **ctx,
    )


@bp.get("/review")
@session_required()
def review(row: LaunchSession) -> Response:
    actor = teacher_actor(row)
    return _review_page(row, actor)


_DONE = {
    "approve_proposal": lazy_gettext("Proposal approved."),
    "return_proposal": lazy_gettext("Proposal returned with your feedback."),
    "score": lazy_gettext("Score saved; it counts as evidence now and is on its way to Canvas."),
    "return_submission": lazy_gettext("Submission returned with your feedback."),
    "approve_reassessment": lazy_gettext(
        "Reassessment approved: the student can submit a new attempt."
    ),
    "decline_reassessment": lazy_gettext("Reassessment declined with your note."),
}


@bp.post("/review/<id:demo_id>")
@session_required()
def review_act(row: LaunchSession, demo_id: int) -> Response:
    db = get_session()
    action = request.form.get("action", "")
    note = request.form.get("note", "")
    actor = teacher_actor(row)
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
            return refuse(
                400, gettext("Unknown action."), gettext("Use the buttons on the review page.")
            )
    except (svc.Invalid, svc.Conflict) as exc:
        typed = {demo_id: {"note": note, "level": request.form.get("level", "")}}
        errors = {demo_id: exc.errors or {"state": exc.message}}
        return _review_page(row, actor, status=exc.status, errors=errors, typed=typed)
    return _review_page(row, actor, saved=_DONE[action])


@bp.post("/review/bulk")
@session_required()
def review_bulk(row: LaunchSession) -> Response:
    db = get_session()
    raw = request.form.getlist("ids")
    actor = teacher_actor(row)
    if not raw:
        return _review_page(
            row, actor, status=400, bulk_error=gettext("Select at least one request.")
        )
    chosen = ids(raw)
    if chosen is None:
        return refuse(
            400, gettext("That selection could not be read."), gettext("Reload the page.")
        )
    approved, skipped = svc.bulk_approve(db, actor, chosen)
    note = gettext("Approved %(count)s.", count=approved)
    if skipped:
        note += " " + gettext(
            "%(count)s could not be approved (already handled, or no attempts left).",
            count=skipped,
        )
    return _review_page(row, actor, saved=note)


@bp.get("/demonstrations/<id:demo_id>")
@session_required()
def detail(row: LaunchSession, demo_id: int) -> Response:
    """One demonstration with its whole audit trail (who, when, from, to, note)."""
    db = get_session()
    actor = teacher_actor(row)
    demo = svc.demonstration(db, actor, demo_id)
    names = svc.roster_names(db, actor)
    titles = {t.canvas_outcome_id: t.name for t in svc.targets(db, actor)}
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    return render_teacher_page(
        "pathways_demo.html",
        row,
        actor,
        d=demo,
        student_name=names.get(demo.canvas_user_id)
        or gettext("Student %(id)s", id=demo.canvas_user_id),
        names=names,
        target_title=titles.get(demo.canvas_outcome_id)
        or gettext("Target %(id)s", id=demo.canvas_outcome_id),
        scale=localized_scale(eff.scale, current_language()),
        tab="review",
    )


# --------------------------------------------------------------------------------------------
# Choice analytics
# --------------------------------------------------------------------------------------------


@bp.get("/analytics")
@session_required()
def analytics(row: LaunchSession) -> Response:
    db = get_session()
    actor = teacher_actor(row)
    data = svc.choice_analytics(db, actor)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    colors = {level.label: level.color for level in eff.scale.levels}
    return render_teacher_page(
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
        {
            "kind": k.kind,
            "enabled": k.enabled,
            "title": k.title,
            "instructions": k.instructions,
            **_translated_fields(k.translations),
        }
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
            translations=translations_from_form(request.form, k["kind"], svc.ENTRY_TEXT_LIMITS),
        )
        for k in _library_form(db, platform_id)
    ]
    try:
        svc.save_library(db, platform_id, rows)
    except svc.Invalid as exc:
        form = [
            {
                "kind": r.kind,
                "enabled": r.enabled,
                "title": r.title,
                "instructions": r.instructions,
                **_translated_fields(r.translations),
            }
            for r in rows
        ]
        return _library_page(row, form, status=400, errors=exc.errors)
    return _library_page(
        row,
        _library_form(db, platform_id),
        saved=gettext("Saved. Targets without their own menu now offer the enabled kinds."),
    )
