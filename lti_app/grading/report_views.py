"""The progress report's pages: the teacher's class report (period, section, comments), one
student's report, the print view (one student per page) and its PDF.

Who may read which student's report is decided in one place, :func:`may_read`: a teacher of
the course any student on its roster, a student only themselves, an observer (parent) the
students Canvas links them to (lti_app/pathways/observers.py). Anyone else, and any other
student id, gets 404 (the same answer as an id that does not exist). The family page links to
:func:`student_report` (``report.student_report`` with ``uid``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext

from lti_app.db import get_session
from lti_app.grading import charts, course_mastery, report_pdf
from lti_app.grading import report as model
from lti_app.grading.grid import course_roster, grid_targets
from lti_app.languages import current_language
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.lti.roles import CourseRole
from lti_app.mastery.district_text import localized_scale
from lti_app.models.key_columns import StudentTarget
from lti_app.models.launch import LaunchSession
from lti_app.pathways import observers
from lti_app.policies.store import EffectivePolicy, effective_policy
from lti_app.web.access import refuse, refuse_not_synced, session_required

bp = Blueprint("report", __name__, url_prefix="/s/<handle>/report")


# --------------------------------------------------------------------------------------------
# Who may read what
# --------------------------------------------------------------------------------------------


def is_teacher(row: LaunchSession) -> bool:
    return CourseRole(row.course_role).is_teacher and row.canvas_course_id is not None


def may_read(row: LaunchSession, canvas_user_id: str) -> bool:
    """The one authorization rule for a student's report (the roster check follows in
    ``report.build``: a teacher asking for someone not in the course gets 404 there)."""
    if row.canvas_course_id is None:
        return False
    if is_teacher(row):
        return True
    if CourseRole(row.course_role) is CourseRole.OBSERVER:
        return observers.observes(get_session(), row, canvas_user_id)
    return (
        CourseRole(row.course_role) is CourseRole.LEARNER
        and row.canvas_user_id is not None
        and row.canvas_user_id == canvas_user_id
    )


def _not_found() -> Response:
    return refuse(
        404,
        gettext("There is no such progress report."),
        gettext("Open the progress report from the course page and choose again."),
    )


def _teachers_only() -> Response:
    return refuse(
        403,
        gettext("The class progress report is for the course's teachers."),
        gettext("Open Mastery Pathways from the course navigation to see your own report."),
    )


# --------------------------------------------------------------------------------------------
# The period asked for
# --------------------------------------------------------------------------------------------


def _period(periods: list[model.Period]) -> model.Period:
    """From the query: ``period`` (a grading period key) or ``from``/``to`` (a date range);
    else the current grading period; else the course so far (to today)."""
    start, end = request.args.get("from", ""), request.args.get("to", "")
    key = request.args.get("period", "")
    if start or end or key.startswith("range:"):
        try:
            if key.startswith("range:") and not (start or end):
                return model.parse_range(key, _range_title(key))
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError as exc:
            raise model.UnknownPeriod(key) from exc
        return model.range_period(first, last, _range_title(f"range:{first}:{last}"))
    now = datetime.now(UTC)
    chosen = model.choose_period(periods, key or None, now)
    if chosen is None:  # a course without grading periods: this school year so far
        today = now.date()
        first = date(today.year if today.month >= 8 else today.year - 1, 8, 1)
        return model.range_period(first, today, gettext("This school year to date"))
    return chosen


def _range_title(key: str) -> str:
    _, start, end = key.split(":")
    return str(gettext("%(start)s to %(end)s", start=start, end=end))


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def _context(
    row: LaunchSession, eff: EffectivePolicy, uid: str | None, section: str | None
) -> dict[str, Any] | Response:
    """The report and what every report page shows with it, or the refusal."""
    assert row.canvas_course_id is not None
    db = get_session()
    platform_id = row.deployment.platform_id
    scale = localized_scale(eff.scale, current_language())  # the district's words, translated
    try:
        course = course_mastery.course_row(db, platform_id, row.canvas_course_id)
        periods = model.course_periods(db, course.id)
        period = _period(periods)
        report = model.build(
            db,
            platform_id,
            row.canvas_course_id,
            period,
            scale,
            eff.policy,
            eff.mapping,
            canvas_user_id=uid,
            section=section or None,
        )
    except course_mastery.CourseNotSynced:
        return refuse_not_synced(gettext("Your teacher has to connect and sync the course first."))
    except (model.UnknownPeriod, model.UnknownStudent):
        return _not_found()
    return {
        "s": row,
        "report": report,
        "period": report.period,
        "periods": periods,
        "scale": scale,
        "fmt": charts.fmt,
        "change_text": change_text,
        "section": section or "",
        "query": _query(report.period, section, uid),
        "teacher": is_teacher(row),
        "levels_css": url_for("grid.levels_css", spec=charts.levels_spec(eff.scale)),
    }


def change_text(change: float | None) -> str:
    """The change over the period in words and figures (never a sign or colour alone)."""
    if change is None:
        text = gettext("no earlier level")
    elif change > 0:
        text = gettext("up %(amount)s", amount=charts.fmt(change))
    elif change < 0:
        text = gettext("down %(amount)s", amount=charts.fmt(-change))
    else:
        text = gettext("no change")
    return str(text)


def _query(period: model.Period, section: str | None, uid: str | None) -> dict[str, str]:
    args = {"period": period.key}
    if section:
        args["section"] = section
    if uid:
        args["student"] = uid
    return args


@bp.get("")
@session_required()
def class_report(row: LaunchSession) -> Response:
    """Teachers: the whole class (or a section) for a period; students: their own report."""
    if not is_teacher(row):
        if row.canvas_user_id is None or not may_read(row, row.canvas_user_id):
            return _teachers_only()
        return _student_page(row, row.canvas_user_id)
    assert row.canvas_course_id is not None
    eff = effective_policy(get_session(), row.deployment.platform_id, row.canvas_course_id)
    ctx = _context(row, eff, None, request.args.get("section", ""))
    if isinstance(ctx, Response):
        return ctx
    if ctx["section"] and ctx["section"] not in {sid for sid, _ in ctx["report"].sections}:
        return _not_found()
    html = render_template("report.html", **ctx, csrf_field=CSRF_FIELD)
    return Response(html, mimetype="text/html")


@bp.get("/students/<uid>")
@session_required()
def student_report(row: LaunchSession, uid: str) -> Response:
    """One student's report: teachers write their comments here; a student reads their own
    (the address the observer page links to)."""
    return _student_page(row, uid)


def _student_page(row: LaunchSession, uid: str, status: int = 200, **extra: Any) -> Response:
    if not may_read(row, uid):
        return _not_found()
    assert row.canvas_course_id is not None
    eff = effective_policy(get_session(), row.deployment.platform_id, row.canvas_course_id)
    ctx = _context(row, eff, uid, None)
    if isinstance(ctx, Response):
        return ctx
    html = render_template("report_student.html", **ctx, csrf_field=CSRF_FIELD, **extra)
    return Response(html, status=status, mimetype="text/html")


@bp.post("/students/<uid>/comments")
@session_required()
def save_comments(row: LaunchSession, uid: str) -> Response:
    """The teacher's comments on each of one student's targets for one period."""
    if not is_teacher(row):
        return _teachers_only()
    assert row.canvas_course_id is not None
    db = get_session()
    platform_id = row.deployment.platform_id
    period = request.form.get("period", "")
    try:
        course = course_mastery.course_row(db, platform_id, row.canvas_course_id)
        known = {p.key for p in model.course_periods(db, course.id)}
        if period not in known:
            model.parse_range(period, "")  # a typed range is a period too
        if not course_roster(db, course.id, uid)[1]:
            raise model.UnknownStudent(uid)
    except (course_mastery.CourseNotSynced, model.UnknownPeriod, model.UnknownStudent):
        return _not_found()
    for target in grid_targets(db, course.id):
        field = f"comment-{target.canvas_outcome_id}"
        if field in request.form:
            key = StudentTarget(
                platform_id=platform_id,
                canvas_course_id=row.canvas_course_id,
                canvas_user_id=uid,
                canvas_outcome_id=target.canvas_outcome_id,
            )
            text = request.form.get(field, "")
            model.save_comment(db, key, period, text, row.canvas_user_id or row.user_sub)
    db.commit()
    target_url = url_for("report.student_report", handle=row.id, uid=uid, period=period, saved=1)
    return Response(status=303, headers={"Location": target_url})


@bp.get("/print")
@session_required()
def print_view(row: LaunchSession) -> Response:
    """Print-ready: no navigation, one student per page (a class, a section or one student)."""
    return _printed(row, as_pdf=False)


@bp.get("/report.pdf")
@session_required()
def pdf(row: LaunchSession) -> Response:
    """The print view's content as a PDF made on the server (WeasyPrint)."""
    return _printed(row, as_pdf=True)


def _printed(row: LaunchSession, *, as_pdf: bool) -> Response:
    ctx = _print_context(row)
    if isinstance(ctx, Response):
        return ctx
    if not as_pdf:
        return Response(render_template("report_print.html", **ctx), mimetype="text/html")
    body = report_pdf.to_pdf(
        render_template("report_print.html", **ctx, pdf=True, inline_css=_print_css())
    )
    uid = request.args.get("student", "")
    name = f"progress-report-course-{row.canvas_course_id}"
    if uid:
        name += f"-student-{uid}"
    elif ctx["section"]:
        name += f"-section-{ctx['section']}"
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe(name)}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _print_css() -> str:
    folder = current_app.static_folder
    assert folder is not None
    return (Path(folder) / "report.css").read_text(encoding="utf-8")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _print_context(row: LaunchSession) -> dict[str, Any] | Response:
    uid = request.args.get("student", "") or None
    if not is_teacher(row):
        uid = uid or row.canvas_user_id  # a student prints their own
        if uid is None:
            return _not_found()
    if uid is not None and not may_read(row, uid):
        return _not_found()
    assert row.canvas_course_id is not None
    eff = effective_policy(get_session(), row.deployment.platform_id, row.canvas_course_id)
    section = request.args.get("section", "") if uid is None else ""
    ctx = _context(row, eff, uid, section)
    if isinstance(ctx, Response):
        return ctx
    if section and section not in {sid for sid, _ in ctx["report"].sections}:
        return _not_found()
    ctx["printed_at"] = datetime.now(UTC)
    return ctx
