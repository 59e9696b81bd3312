"""Mastery settings (district admins) and the mastery export download (teachers).

Both sit under /s/<handle>/ and act only on the launch's own platform: one tenant never reads
or changes another's scales, policies or courses.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lti_app.db import get_session
from lti_app.grading import course_mastery
from lti_app.lti.launch_session import CSRF_FIELD, FORM_FIELD
from lti_app.lti.roles import CourseRole
from lti_app.mastery.report import write_csv
from lti_app.mastery.scales import list_presets, load_preset
from lti_app.models.canvas import CanvasCourse, CourseOutcomeResult, CourseSection, CourseStudent
from lti_app.models.launch import LaunchSession
from lti_app.policies.form import MasteryForm, Parsed, form_choices
from lti_app.policies.store import (
    EffectivePolicy,
    PolicyStoreError,
    effective_policy,
    save_scale,
    set_policy,
)
from lti_app.web.access import refuse, refuse_not_synced, session_required

bp = Blueprint("mastery", __name__, url_prefix="/s/<handle>")


def _synced_courses(db: Session, platform_id: int) -> list[CanvasCourse]:
    return list(
        db.scalars(
            select(CanvasCourse)
            .where(
                CanvasCourse.platform_id == platform_id, CanvasCourse.last_synced_at.is_not(None)
            )
            .order_by(CanvasCourse.canvas_course_id)
        )
    )


def _scope_course(scope: str, courses: list[CanvasCourse]) -> str | None:
    """None for the district default; a course id only if it is one of this platform's."""
    if scope == "district":
        return None
    if any(c.canvas_course_id == scope for c in courses):
        return scope
    raise LookupError(scope)


def _scoped(
    db: Session, platform_id: int, scope: str
) -> tuple[list[CanvasCourse], str | None, EffectivePolicy] | Response:
    """The platform's synced courses, the course the settings scope names (None for the
    district default) and its effective policy; a 404 refusal when the scope is not a synced
    course of this platform."""
    courses = _synced_courses(db, platform_id)
    try:
        course_id = _scope_course(scope, courses)
    except LookupError:
        return refuse(
            404,
            gettext("That course is not synced for this Canvas."),
            gettext("Choose another course."),
        )
    return courses, course_id, effective_policy(db, platform_id, course_id)


def _page(
    row: LaunchSession,
    form: MasteryForm,
    courses: list[CanvasCourse],
    eff: EffectivePolicy,
    status: int = 200,
    **extra: object,
) -> Response:
    html = render_template(
        "mastery_settings.html",
        s=row,
        form=form,
        courses=courses,
        eff=eff,
        presets=[(name, load_preset(name).name) for name in list_presets()],
        choices=form_choices(),
        csrf_field=CSRF_FIELD,
        token_field=FORM_FIELD,
        **extra,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/admin/mastery")
@session_required(admin=True)
def settings(row: LaunchSession) -> Response:
    db = get_session()
    scope = request.args.get("scope", "district")
    scoped = _scoped(db, row.deployment.platform_id, scope)
    if isinstance(scoped, Response):
        return scoped
    courses, _course_id, eff = scoped
    form = MasteryForm.from_effective(eff, scope)
    preset = request.args.get("preset")
    if preset in list_presets():
        # Start the form from a preset scale; nothing changes until the admin saves.
        form = MasteryForm.from_effective(replace(eff, scale=load_preset(preset)), scope)
    return _page(row, form, courses, eff)


def _has_evidence(db: Session, platform_id: int) -> bool:
    # Conservative: once any synced result exists for this Canvas, a meaning-changing edit of
    # the scale makes a new version so earlier evidence keeps the meaning it was recorded with.
    return bool(
        db.scalar(
            select(
                exists().where(
                    CourseOutcomeResult.course_pk == CanvasCourse.id,
                    CanvasCourse.platform_id == platform_id,
                )
            )
        )
    )


@bp.post("/admin/mastery")
@session_required(admin=True)
def settings_post(row: LaunchSession) -> Response:
    db = get_session()
    form = MasteryForm.from_request(request.form)
    scoped = _scoped(db, row.deployment.platform_id, form.scope)
    if isinstance(scoped, Response):
        return scoped
    courses, course_id, eff = scoped
    parsed = form.parse()
    if parsed is None:
        return _page(row, form, courses, eff, status=400)
    submitted = _Submitted(row, db, form, parsed, courses, eff, course_id)
    if request.form.get("action") == "save":
        return _save(submitted)
    return _preview(submitted)


@dataclass(frozen=True)
class _Submitted:
    """A settings form that parsed, and where it applies: what preview and save work from."""

    row: LaunchSession
    db: Session
    form: MasteryForm
    parsed: Parsed
    courses: list[CanvasCourse]
    eff: EffectivePolicy
    course_id: str | None  # None: the district default

    def page(self, status: int = 200, **extra: object) -> Response:
        """The settings page again, with this form as typed."""
        return _page(self.row, self.form, self.courses, self.eff, status, **extra)


def _preview(sub: _Submitted) -> Response:
    form, parsed, db = sub.form, sub.parsed, sub.db
    target = form.preview_course or (form.scope if form.scope != "district" else "")
    if not target:
        return sub.page(preview_note=gettext("Choose a synced course to preview."))
    platform_id = sub.row.deployment.platform_id
    try:
        data = course_mastery.load(db, platform_id, target)
    except course_mastery.CourseNotSynced:
        return sub.page(404, preview_note=gettext("That course is not synced yet."))
    now = datetime.now(UTC)
    current = effective_policy(db, platform_id, target)
    before = course_mastery.course_report(data, current.scale, current.policy, current.mapping, now)
    after = course_mastery.course_report(data, parsed.scale, parsed.policy, parsed.mapping, now)
    return sub.page(
        preview=course_mastery.preview(before, after),
        preview_course=target,
        preview_scale=parsed.scale,
    )


def _save(sub: _Submitted) -> Response:
    db, parsed, course_id = sub.db, sub.parsed, sub.course_id
    platform_id = sub.row.deployment.platform_id
    try:
        version = save_scale(
            db, platform_id, parsed.scale.name, parsed.scale, _has_evidence(db, platform_id)
        )
        set_policy(db, platform_id, course_id, version.id, parsed.policy, parsed.mapping)
    except PolicyStoreError as exc:
        sub.form.errors["mapping"] = str(exc)
        return sub.page(400)
    eff = effective_policy(db, platform_id, course_id)
    where = (
        gettext("the district default")
        if course_id is None
        else gettext("course %(id)s", id=course_id)
    )
    return _page(
        sub.row,
        MasteryForm.from_effective(eff, sub.form.scope),
        sub.courses,
        eff,
        saved=gettext(
            "Saved as %(where)s (scale “%(scale)s”, version %(version)s).",
            where=where,
            scale=eff.scale.name,
            version=eff.scale_version,
        ),
    )


def _section_members(db: Session, course_pk: int, section: str) -> set[str] | None:
    """The canvas user ids enrolled in one section of the synced course; None if the course
    has no such section."""
    known = db.scalar(
        select(CourseSection.id).where(
            CourseSection.course_pk == course_pk, CourseSection.canvas_section_id == section
        )
    )
    if known is None:
        return None
    students = db.execute(
        select(CourseStudent.canvas_user_id, CourseStudent.section_ids).where(
            CourseStudent.course_pk == course_pk
        )
    )
    return {uid for uid, sections in students if section in (sections or [])}


@bp.get("/export.<fmt>")
@session_required()
def export(row: LaunchSession, fmt: str) -> Response:
    """The teacher's download: the course's mastery report as CSV or JSON."""
    if fmt not in ("csv", "json"):
        return refuse(404, gettext("There is no such download."), gettext("Choose CSV or JSON."))
    if not CourseRole(row.course_role).is_teacher or row.canvas_course_id is None:
        return refuse(403, gettext("The mastery export is for the course's teachers."), "")
    db = get_session()
    platform_id = row.deployment.platform_id
    try:
        data = course_mastery.load(db, platform_id, row.canvas_course_id)
    except course_mastery.CourseNotSynced:
        return refuse_not_synced(gettext("Sync the course first, then download the export."))
    name = f"mastery-course-{row.canvas_course_id}"
    section = request.args.get("section", "")
    if section:
        # The grid's section filter: the download holds the rows the teacher is looking at.
        members = _section_members(db, data.course.id, section)
        if members is None:
            return refuse(
                404,
                gettext("This course has no such section."),
                gettext("Go back to the grid and choose again."),
            )
        data = replace(data, students=[s for s in data.students if s.canvas_user_id in members])
        name += f"-section-{section}"
    eff = effective_policy(db, platform_id, row.canvas_course_id)
    report = course_mastery.course_report(
        data, eff.scale, eff.policy, eff.mapping, datetime.now(UTC)
    )
    if fmt == "json":
        body, mimetype = json.dumps(report, ensure_ascii=False, indent=1), "application/json"
    else:
        out = io.StringIO()
        write_csv(report, out)
        body, mimetype = "\ufeff" + out.getvalue(), "text/csv"  # BOM: Excel reads UTF-8 names
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response
