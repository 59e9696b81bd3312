"""Record evidence (``/s/<handle>/evidence``): a teacher records the levels they observed for
one target, student by student, or uploads a CSV file of observations.

The course is the launch's own (never from the URL or the form), and the service checks every
student and target against that course's roster, so a teacher cannot record evidence for
another course's students. Saving is post/redirect/get; a refused save shows every problem and
keeps everything typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from lti_app.context import DomainError
from lti_app.db import get_session
from lti_app.evidence import csv_import
from lti_app.evidence.observations import (
    Refused,
    Row,
    Scope,
    note_problem,
    parse_day,
    record,
    today,
)
from lti_app.languages import current_language
from lti_app.mastery.district_text import localized_scale
from lti_app.models.canvas import CourseSection, CourseStudent, synced_course
from lti_app.models.launch import LaunchSession
from lti_app.models.observation import VIA_FORM, VIA_UPLOAD
from lti_app.pathways import service as svc
from lti_app.pathways.pages import render_teacher_page, teacher_actor, teacher_refusal
from lti_app.policies.store import effective_policy
from lti_app.web.access import refuse, session_required
from lti_app.writeback.dispatch import kick_after_response

bp = Blueprint("evidence", __name__, url_prefix="/s/<handle>/evidence")
bp.register_error_handler(DomainError, teacher_refusal)


@dataclass(frozen=True)
class StudentLine:
    canvas_user_id: str
    name: str
    field: str
    """The level select's name and id, ``lv-<canvas user id>``: a roster that changed between
    showing the form and saving it cannot move a level to another student."""


def _upload_limit() -> int:
    return min(int(current_app.config["MAX_CONTENT_LENGTH"]), csv_import.MAX_BYTES)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Response:
    return refuse(
        413,
        gettext(
            "The file is too large: at most %(size)s KB can be uploaded.",
            size=_upload_limit() // 1024,
        ),
        gettext(
            "Nothing was recorded. Split the file into smaller files (one per target or "
            "section) and upload each, or ask the district admin to run `evidence import`."
        ),
    )


def _roster(
    actor: svc.CourseContext, section: str
) -> tuple[list[tuple[str, str]], list[StudentLine]]:
    db = get_session()
    course = synced_course(db, actor.platform_id, actor.canvas_course_id)
    if course is None:
        raise svc.NotSynced(gettext("This course has not been synced from Canvas yet."))
    sections = sorted(
        db.execute(
            select(CourseSection.canvas_section_id, CourseSection.name).where(
                CourseSection.course_pk == course.id
            )
        ).all(),
        key=lambda s: (s[1].casefold(), s[0]),
    )
    students = db.execute(
        select(CourseStudent.canvas_user_id, CourseStudent.name, CourseStudent.section_ids)
        .where(CourseStudent.course_pk == course.id)
        .order_by(CourseStudent.sortable_name, CourseStudent.canvas_user_id)
    ).all()
    lines = [
        StudentLine(uid, name, f"lv-{uid}")
        for uid, name, in_sections in students
        if not section or section in in_sections
    ]
    return [(sid, name) for sid, name in sections], lines


def _page(row: LaunchSession, status: int = 200, **ctx: Any) -> Response:
    actor = teacher_actor(row)
    db = get_session()
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    targets = svc.targets(db, actor)
    form = request.form if request.method == "POST" else request.args
    target = form.get("target", "")
    if target not in {t.canvas_outcome_id for t in targets}:
        target = ""
    section = form.get("section", "")
    sections, students = _roster(actor, section)
    if section not in {sid for sid, _ in sections}:
        section = ""
        sections, students = _roster(actor, "")
    return render_teacher_page(
        "evidence_record.html",
        row,
        actor,
        status=status,
        scale=eff.scale,
        # The choices in the reader's language; the CSV hint keeps the district's short labels,
        # which are what a file may hold.
        shown_scale=localized_scale(eff.scale, current_language()),
        targets=targets,
        target=target,
        target_title=next((t.title for t in targets if t.canvas_outcome_id == target), ""),
        sections=sections,
        section=section,
        students=students,
        today=today().isoformat(),
        upload_kb=_upload_limit() // 1024,
        columns=",".join(csv_import.COLUMNS),
        typed=ctx.pop("typed", {}),
        problems=ctx.pop("problems", []),
        **ctx,
    )


@bp.get("")
@session_required()
def page(row: LaunchSession) -> Response:
    return _page(row)


@bp.get("/done/<id:count>")
@session_required()
def done(row: LaunchSession, count: int) -> Response:
    return _page(
        row,
        saved=ngettext(
            "Recorded %(num)d observation. It counts in the levels now and is being sent to "
            "Canvas (see Sent to Canvas).",
            "Recorded %(num)d observations. They count in the levels now and are being sent to "
            "Canvas (see Sent to Canvas).",
            count,
        ),
    )


def _saved(row: LaunchSession, actor: svc.CourseContext, count: int) -> Response:
    kick_after_response(actor.platform_id, actor.canvas_course_id)
    args: dict[str, Any] = {}
    for key in ("target", "section"):
        if value := request.form.get(key, ""):
            args[key] = value
    location = url_for("evidence.done", handle=row.id, count=count, **args)
    return Response(status=303, headers={"Location": location})


@bp.post("")
@session_required()
def save(row: LaunchSession) -> Response:
    actor = teacher_actor(row)
    db = get_session()
    form = request.form
    typed = {k: v for k, v in form.items() if k in ("note", "observed_on") or k.startswith("lv-")}
    target = form.get("target", "")
    _, students = _roster(actor, "")
    by_field = {s.field: s for s in students}
    note, day = form.get("note", "").strip(), form.get("observed_on", "")
    problems: list[tuple[str, str]] = []
    if target not in {t.canvas_outcome_id for t in svc.targets(db, actor)}:
        problems.append(("target", gettext("Choose a learning target of this course.")))
    if problem := note_problem(note):
        problems.append(("note", f"The note {problem.removeprefix('the note ')}."))
    if (bad_day := parse_day(day, today())[1]) is not None:
        problems.append(("observed_on", f"{bad_day[0].upper()}{bad_day[1:]}."))
    rows = []
    for key, value in form.items():
        if not key.startswith("lv-") or not value.strip():
            continue
        student = by_field.get(key)
        if student is None:
            problems.append(
                ("levels", gettext("A level was given for a student not in this course."))
            )
            continue
        rows.append(Row(key, student.canvas_user_id, target, value, note, day))
    if not problems:
        try:
            scope = Scope(actor.platform_id, actor.canvas_course_id, actor.canvas_user_id)
            stored = record(db, scope, rows, VIA_FORM)
        except Refused as exc:
            problems = exc.problems
        else:
            return _saved(row, actor, len(stored))
    named = [
        (where, f"{by_field[where].name}: {what}" if where in by_field else what)
        for where, what in problems
    ]
    return _page(row, status=400, typed=typed, problems=named)


@bp.post("/upload")
@session_required()
def upload(row: LaunchSession) -> Response:
    actor = teacher_actor(row)
    db = get_session()
    file = request.files.get("file")
    if file is None or not file.filename:
        return _page(row, status=400, problems=[("file", gettext("Choose a CSV file to upload."))])
    data = file.stream.read(csv_import.MAX_BYTES + 1)
    try:
        rows, unreadable = csv_import.read_rows(data)
        scope = Scope(actor.platform_id, actor.canvas_course_id, actor.canvas_user_id)
        stored = record(db, scope, rows, VIA_UPLOAD, unreadable)
    except Refused as exc:
        return _page(
            row,
            status=400,
            upload_refused=gettext(
                "%(file)s was not imported; nothing was stored.", file=file.filename[:100]
            ),
            problems=[("file", f"{w[:1].upper()}{w[1:]}: {what}") for w, what in exc.problems],
        )
    return _saved(row, actor, len(stored))
