"""The teacher's class mastery grid, the drill-down per student and target, and overrides.

Every page sits under /s/<handle>/ and reads only the launch's own course on the launch's own
platform: the course id comes from the launch, never from the URL, so a teacher cannot reach
another course and one tenant never reaches another. Students (and anyone else who is not a
teacher of the course) are refused with 403.

Colours: the CSP forbids inline styles, so the level colours come from a tiny stylesheet whose
URL *is* the list of colours (``/levels/<rrggbb-rrggbb-...>.css``): it holds no tenant data, needs
no session (a cookie-less browser loads it too) and is cached for good.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import fmean
from typing import Any
from urllib.parse import quote_plus

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from lti_app.context import DomainError
from lti_app.db import get_session
from lti_app.grading import charts, course_mastery
from lti_app.grading import drill as drill_model
from lti_app.grading import grid as grid_model
from lti_app.grading.canvas_view import canvas_view, send_override
from lti_app.grading.grid import Grid, GridCell, GridStudent, GridTarget
from lti_app.input_rules import whole_number
from lti_app.languages import current_language
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.lti.roles import CourseRole
from lti_app.mastery.calculation import METHOD_PARAMETERS, Basis, Method, SourceKind
from lti_app.mastery.district_text import localized_scale
from lti_app.mastery.growth import GrowthStatus
from lti_app.mastery.scales import Scale, best_text_color
from lti_app.models.launch import LaunchSession
from lti_app.pathways import service as pathways_service
from lti_app.policies.store import EffectivePolicy, effective_policy
from lti_app.web.access import refuse, session_required
from lti_app.web.local_time import note_course_zone
from lti_app.writeback.dispatch import kick_after_response

bp = Blueprint("grid", __name__)

SORTS = {
    "name": lazy_gettext("name (A\u2013Z)"),
    "level_asc": lazy_gettext("level, lowest first"),
    "level_desc": lazy_gettext("level, highest first"),
    "growth_asc": lazy_gettext("growth, least first"),
    "growth_desc": lazy_gettext("growth, most first"),
}
METHOD_NAMES = {
    Method.HIGHEST: lazy_gettext("highest score"),
    Method.LATEST: lazy_gettext("latest score"),
    Method.AVERAGE: lazy_gettext("average"),
    Method.DECAYING_AVERAGE: lazy_gettext("decaying average"),
    Method.STANDARD_DECAYING_AVERAGE: lazy_gettext("standard decaying average"),
    Method.N_MASTERY: lazy_gettext("mastered n times"),
    Method.POWER_LAW: lazy_gettext("power law trend"),
    Method.MODE: lazy_gettext("most frequent score"),
    Method.RECENT_MEAN: lazy_gettext("average of the most recent scores"),
}
STATUS_TEXT = {
    GrowthStatus.NO_EVIDENCE: lazy_gettext("No evidence yet."),
    GrowthStatus.NOT_ENOUGH_EVIDENCE: lazy_gettext("Not enough evidence yet for a level."),
    GrowthStatus.MASTERED: lazy_gettext("Mastered."),
    GrowthStatus.ON_TRACK: lazy_gettext(
        "On track: at the current trend, proficiency is reached around %(date)s."
    ),
    GrowthStatus.NOT_ON_TRACK_YET: lazy_gettext(
        "Not on track yet: the trend is not rising toward proficiency."
    ),
}


def _override_mark() -> str:
    hidden = escape(gettext("(teacher override)"))
    return f'<span aria-hidden="true">*</span><span class="visually-hidden"> {hidden}</span>'


_COLOURS = re.compile(r"[0-9a-f]{6}(?:-[0-9a-f]{6}){1,19}")


def levels_css_url(scale: Scale) -> str:
    return url_for("grid.levels_css", spec=charts.levels_spec(scale))


@bp.get("/levels/<spec>.css")
def levels_css(spec: str) -> Response:
    """``.lv<i>`` classes: level i's colour with black or white text, whichever reads better."""
    if _COLOURS.fullmatch(spec) is None:
        abort(404)
    rules = [
        f".lv{i}{{background:#{c};color:{best_text_color('#' + c)}}}"
        for i, c in enumerate(spec.split("-"))
    ]
    response = Response("\n".join(rules) + "\n", mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# --------------------------------------------------------------------------------------------
# Who may look
# --------------------------------------------------------------------------------------------


def _teacher_course(row: LaunchSession) -> Response | None:
    if not CourseRole(row.course_role).is_teacher:
        return refuse(
            403,
            gettext("The class mastery grid is for the course's teachers."),
            gettext(
                "Open Mastery Pathways from the course navigation to see your own learning targets."
            ),
        )
    if not row.canvas_course_id:
        return refuse(
            409,
            gettext("Canvas did not say which course this is."),
            gettext(
                "Ask your Canvas admin to add the custom field canvas_course_id=$Canvas.course.id."
            ),
        )
    return None


@dataclass(frozen=True)
class _CourseNow:
    """What the grid and the drill-down both start from: the launch's course, its policy in
    force, and one "now" for the whole page."""

    db: Session
    platform_id: int
    course_id: str
    eff: EffectivePolicy
    now: datetime

    @classmethod
    def of(cls, row: LaunchSession) -> _CourseNow:
        assert row.canvas_course_id is not None  # _teacher_course refused a launch without it
        db = get_session()
        platform_id = row.deployment.platform_id
        eff = effective_policy(db, platform_id, row.canvas_course_id)
        return cls(db, platform_id, row.canvas_course_id, eff, datetime.now(UTC))


def _not_synced(row: LaunchSession) -> Response:
    html = render_template("grid_not_synced.html", s=row)
    return Response(html, status=409, mimetype="text/html")


# --------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    index: int
    name: str
    targets: list[GridTarget]
    closed: bool


@dataclass(frozen=True)
class Row:
    student: GridStudent
    cells: Markup
    """The row's ``<td>`` cells, pre-rendered: 1,400 per page, so no per-cell template logic."""
    mastered: int
    mean: float | None
    change: float | None


def _groups(targets: Sequence[GridTarget], closed: set[int]) -> list[Group]:
    groups: list[Group] = []
    for t in targets:
        if not groups or groups[-1].name != t.group:
            groups.append(Group(len(groups), t.group, [], len(groups) in closed))
        groups[-1].targets.append(t)
    return groups


def canvas_shows_text(differs: bool, shows: float | None) -> str:
    """ "Canvas shows X" where Canvas's own score differs from the tool's Canvas-method score
    for the same results (the sync page counts these)."""
    if not differs:
        return ""
    if shows is None:
        return str(gettext("Canvas shows nothing"))
    return str(gettext("Canvas shows %(level)s", level=f"{shows:g}"))


def _canvas_shows(cell: GridCell | None) -> str:
    if cell is None or not cell.canvas_differs:
        return ""
    return f' <span class="canvas-shows">{canvas_shows_text(True, cell.canvas_shows)}</span>'


ROWS_KEPT = 20_000
_KEPT_ROWS: dict[tuple[Any, ...], tuple[tuple[GridCell | None, ...], Row]] = {}
"""Rendered rows by student and page wording, with the cells they were rendered from."""


def _rows(grid: Grid, scale: Scale, groups: list[Group]) -> list[Row]:
    """Each row's cells as one pre-rendered string (1,400 cells a page: f-strings, not Jinja).

    Everything from Canvas (ids, labels) is escaped once, before it goes into a cell. A row
    is rendered again only when one of its cells is a different object: the grid keeps its
    cells between requests (frozen values, replaced when they change), and the kept row holds
    the cells it was rendered from, so an identical object means identical content.
    """
    cells = grid.cells
    labels = [str(escape(level.short_label)) for level in scale.levels]
    # Worded once per page, not per cell.
    no_evidence, too_little = escape(gettext("no evidence")), escape(gettext("too little evidence"))
    override_mark = _override_mark()
    order = [t.canvas_outcome_id for g in groups for t in g.targets]
    page = (
        current_language(),
        tuple(labels),
        no_evidence,
        too_little,
        override_mark,
        tuple(g.closed for g in groups),
        tuple(order),
    )
    words = _Words(labels, no_evidence, too_little, override_mark)
    rows: list[Row] = []
    for s in grid.students:
        uid = s.canvas_user_id
        now = tuple([cells.get((uid, oid)) for oid in order])
        key = (grid.course.id, uid, page)
        kept = _KEPT_ROWS.get(key)
        if kept is not None and kept[1].student == s and all(map(operator.is_, kept[0], now)):
            rows.append(kept[1])
            continue
        row = _row(s, groups, now, words)
        if len(_KEPT_ROWS) >= ROWS_KEPT:
            _KEPT_ROWS.clear()
        _KEPT_ROWS[key] = (now, row)
        rows.append(row)
    return rows


@dataclass(frozen=True)
class _Words:
    labels: list[str]
    no_evidence: str
    too_little: str
    override_mark: str


def _row(
    s: GridStudent, groups: list[Group], row_cells: tuple[GridCell | None, ...], words: _Words
) -> Row:
    """One student's row; ``row_cells`` in the groups' target order."""
    href_base = f"grid/{escape(s.canvas_user_id)}/"
    html: list[str] = []
    levels: list[float] = []
    changes: list[float] = []
    mastered = 0
    position = 0
    for group in groups:
        got = 0
        for t in group.targets:
            cell = row_cells[position]
            position += 1
            if cell is not None:
                if cell.level is not None:
                    levels.append(cell.level)
                if cell.change is not None:
                    changes.append(cell.change)
                got += cell.mastered
            if group.closed:
                continue
            href = href_base + str(escape(t.canvas_outcome_id))
            canvas = _canvas_shows(cell)
            if cell is None or cell.level_index is None:
                empty = cell is None or cell.evidence_count == 0
                why = words.no_evidence if empty else words.too_little
                html.append(
                    f'<td class="lvn"><a href="{href}"><span aria-hidden="true">&#8211;'
                    f'</span><span class="visually-hidden">{why}</span></a>{canvas}</td>'
                )
            else:
                i = cell.level_index
                mark = words.override_mark if cell.overridden else ""
                html.append(
                    f'<td class="lv{i}"><a href="{href}">{cell.level:g} {words.labels[i]}{mark}'
                    f"</a>{canvas}</td>"
                )
        mastered += got
        if group.closed:
            of = escape(gettext("%(got)s of %(count)s", got=got, count=len(group.targets)))
            html.append(f'<td class="gsum">{of}</td>')
    return Row(
        s,
        # Safe: every piece of text in it was escaped above.
        Markup("".join(html)),  # noqa: S704
        mastered,
        fmean(levels) if levels else None,
        fmean(changes) if changes else None,
    )


def _record_cells(handle: str, groups: list[Group], section: str) -> Markup:
    """The footer's "Record evidence on <target>" link per open target, worded and routed
    once per page (40 targets: no url_for or gettext per cell)."""
    placeholder = "__target__"
    href = url_for("evidence.page", handle=handle, target=placeholder, section=section or None)
    record = escape(gettext("Record"))
    on_target = escape(gettext("evidence on %(target)s"))  # Markup: % escapes the target
    html: list[str] = []
    for group in groups:
        if group.closed:
            html.append('<td class="gsum"></td>')
            continue
        for t in group.targets:
            link = escape(href.replace(placeholder, quote_plus(t.canvas_outcome_id)))
            hidden = on_target % {"target": t.full}
            html.append(
                f'<td><a href="{link}">{record}<span class="visually-hidden"> {hidden}</span>'
                "</a></td>"
            )
    # Safe: every piece of text in it was escaped above.
    return Markup("".join(html))  # noqa: S704


def _sort(rows: list[Row], how: str) -> None:
    # Students without a figure go last whichever way the figure is sorted.
    if how == "name":
        return  # already in Canvas's sortable-name order
    key = "mean" if how.startswith("level") else "change"
    desc = how.endswith("_desc")
    with_value = [r for r in rows if getattr(r, key) is not None]
    without = [r for r in rows if getattr(r, key) is None]
    with_value.sort(key=lambda r: getattr(r, key), reverse=desc)  # stable: ties keep name order
    rows[:] = with_value + without


def _closed(raw: Sequence[str], count: int) -> set[int]:
    """The collapsed groups' indexes; anything else in the URL is ignored."""
    return {i for i in (whole_number(v, 0, count - 1) for v in raw) if i is not None}


@bp.get("/s/<handle>/grid")
@session_required(unless=_teacher_course)
def grid(row: LaunchSession) -> Response:
    here = _CourseNow.of(row)
    eff = here.eff
    try:
        data = grid_model.grid(
            here.db, here.platform_id, here.course_id, eff.scale, eff.policy, eff.mapping, here.now
        )
    except course_mastery.CourseNotSynced:
        return _not_synced(row)
    note_course_zone(data.course.time_zone)

    section = request.args.get("section", "")
    if section not in {sid for sid, _ in data.sections}:
        section = ""
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    # The compact view fits a dozen targets in Canvas's frame at 1280 px (no sideways scroll).
    compact = request.args.get("view") == "compact"
    groups = _groups(data.targets, set())
    closed = _closed(request.args.getlist("closed"), len(groups))
    groups = _groups(data.targets, closed)
    students = [s for s in data.students if not section or section in s.section_ids]
    scale = localized_scale(eff.scale, current_language())
    rows = _rows(
        Grid(data.course, data.sections, students, data.targets, data.cells), scale, groups
    )
    _sort(rows, sort)

    def toggle(index: int) -> str:
        now_closed = closed ^ {index}
        args: dict[str, Any] = {"closed": sorted(now_closed)}
        if section:
            args["section"] = section
        if sort != "name":
            args["sort"] = sort
        if compact:
            args["view"] = "compact"
        return url_for("grid.grid", handle=row.id, **args) + f"#g{index}"

    html = render_template(
        "grid.html",
        s=row,
        eff=eff,
        scale=scale,
        levels_css=levels_css_url(eff.scale),
        course=data.course,
        sections=data.sections,
        section=section,
        sorts=SORTS,
        sort=sort,
        compact=compact,
        groups=groups,
        closed=sorted(closed),
        toggle=toggle,
        rows=rows,
        record_cells=_record_cells(row.id, groups, section),
        ntargets=len(data.targets),
        fmt=charts.fmt,
        method_name=_method_text(eff),
    )
    return Response(html, mimetype="text/html")


def _method_text(eff: EffectivePolicy) -> str:
    basis = (
        gettext("as Canvas computes it (on Canvas's points, then placed on the district scale)")
        if eff.policy.basis is Basis.CANVAS
        else gettext("district level per piece of evidence")
    )
    return f"{_method_name(eff)}, {basis}"


def _method_name(eff: EffectivePolicy) -> str:
    method = Method(eff.policy.method)
    name = str(METHOD_NAMES[method])
    param = eff.policy.effective_parameter
    if param is None or METHOD_PARAMETERS[method] is None:
        return name
    if method in (Method.DECAYING_AVERAGE, Method.STANDARD_DECAYING_AVERAGE):
        return str(
            gettext("%(method)s, %(weight)s%% on the latest score", method=name, weight=param)
        )
    if method is Method.N_MASTERY:
        return f"{name} (n = {param})"
    return str(gettext("%(method)s (last %(count)s)", method=name, count=param))


# --------------------------------------------------------------------------------------------
# Drill-down: one student and one target
# --------------------------------------------------------------------------------------------


def _drill_page(
    row: LaunchSession, uid: str, oid: str, status: int = 200, **extra: Any
) -> Response:
    here = _CourseNow.of(row)
    db, platform_id, eff, now = here.db, here.platform_id, here.eff, here.now
    try:
        drill = drill_model.drilldown(
            db, platform_id, here.course_id, uid, oid, eff.scale, eff.policy, eff.mapping, now
        )
    except course_mastery.CourseNotSynced:
        return _not_synced(row)
    except grid_model.UnknownPair:
        return refuse(
            404,
            gettext("That student or learning target is not part of this course."),
            gettext("Go back to the class mastery grid and choose a cell there."),
        )
    note_course_zone(drill.course.time_zone)
    in_force = next(
        (r.evidence for r in reversed(drill.evidence) if r.evidence.kind is SourceKind.OVERRIDE),
        None,
    )
    growth = drill.growth  # not "g": the template would hide Flask's g (the session hand-off)
    status_text = str(STATUS_TEXT[growth.status]) % {
        "date": charts.date_text(growth.projected_date) if growth.projected_date else ""
    }
    html = render_template(
        "drilldown.html",
        s=row,
        d=drill,
        growth=growth,
        scale=localized_scale(eff.scale, current_language()),
        eff=eff,
        levels_css=levels_css_url(eff.scale),
        chart=charts.chart_of(drill, eff.scale),
        **charts.CHART_FRAME,
        status_text=status_text,
        method_name=_method_text(eff),
        canvas_shows=canvas_shows_text(drill.canvas_differs, drill.canvas_shows),
        fmt=charts.fmt,
        csrf_field=CSRF_FIELD,
        in_force=in_force,
        canvas=canvas_view(db, platform_id, drill, eff, now),
        canvas_url=row.deployment.platform.canvas_url.rstrip("/"),
        **extra,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/s/<handle>/grid/<uid>/<oid>")
@session_required(unless=_teacher_course)
def drilldown(row: LaunchSession, uid: str, oid: str) -> Response:
    return _drill_page(row, uid, oid)


NOTICES = {
    "set": lazy_gettext("Override saved. The student sees the level and your reason."),
    "sent": lazy_gettext(
        "Override saved, and sent to Canvas as evidence: Canvas counts it in its own "
        "calculation once it arrives (see Sent to Canvas). The student sees the level and "
        "your reason."
    ),
    "cleared": lazy_gettext("Override cleared: the level is calculated from the evidence again."),
    "none": lazy_gettext("There was no override in force to clear."),
}


@bp.get("/s/<handle>/grid/<uid>/<oid>/done/<what>")
@session_required(unless=_teacher_course)
def override_done(row: LaunchSession, uid: str, oid: str, what: str) -> Response:
    """Where a saved override lands (post/redirect/get: a reload does not post again)."""
    return _drill_page(row, uid, oid, notice=NOTICES.get(what))


@bp.post("/s/<handle>/grid/<uid>/<oid>/override")
@session_required(unless=_teacher_course)
def override(row: LaunchSession, uid: str, oid: str) -> Response:
    """Set (level + required reason) or clear the teacher override for one student and target.

    Stored by the pathways service, which checks again that the actor teaches this course and
    that the student and target belong to it.
    """
    db = get_session()
    try:
        actor = pathways_service.CourseContext.from_session(row)
        if request.form.get("action") == "clear":
            active = pathways_service.override_evidence(
                db, actor.platform_id, actor.canvas_course_id
            ).get((uid, oid), [])
            for e in active:  # every override in force: the computed level returns
                assert e.id is not None
                pathways_service.clear_override(db, actor, int(e.id.split(":", 1)[1]))
            what = "cleared" if active else "none"
        else:
            saved = pathways_service.set_override(
                db,
                actor,
                uid,
                oid,
                request.form.get("level", ""),
                request.form.get("reason", ""),
            )
            what = "set"
            if request.form.get("send_to_canvas") == "1":
                # Owed to Canvas with the override itself; delivered after the commit.
                eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
                send_override(db, saved, eff)
                kick_after_response(actor.platform_id, actor.canvas_course_id)
                what = "sent"
    except pathways_service.Invalid as exc:
        errors = {("level" if k == "score" else k): m for k, m in exc.errors.items()}
        return _drill_page(
            row,
            uid,
            oid,
            status=400,
            form_errors=errors,
            form_level=request.form.get("level", ""),
            form_reason=request.form.get("reason", ""),
            form_send=request.form.get("send_to_canvas") == "1",
        )
    except DomainError as exc:
        return refuse(exc.status, exc.message, gettext("Go back to the class mastery grid."))
    target = url_for("grid.override_done", handle=row.id, uid=uid, oid=oid, what=what)
    return Response(status=303, headers={"Location": target})
