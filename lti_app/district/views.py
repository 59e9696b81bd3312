"""The district dashboard (administrators, from the account navigation) and the learner's
record across courses.

Every page reads only the launch's own platform (tenant): a school, course or learner of
another Canvas is not found, and so is a guessed id the tenant does not have (404, never a
hint that it exists). Figures come from the aggregates the sync keeps
(``lti_app.district.aggregate``); each table has its CSV (``?csv=<table>``) with the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _

from lti_app.db import get_session
from lti_app.district import dashboard as dash
from lti_app.district.aggregate import district_policy
from lti_app.district.record import learner_record, may_view_record
from lti_app.grading import charts
from lti_app.mastery.report import spreadsheet_text
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import synced_course
from lti_app.models.launch import LaunchSession
from lti_app.web.access import session_required

bp = Blueprint("district", __name__, url_prefix="/s/<handle>")


# --------------------------------------------------------------------------------------------
# Shared page parts
# --------------------------------------------------------------------------------------------


def percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _level_names(scale: Scale) -> list[str]:
    return [f"{charts.fmt(lv.value)} {lv.label}" for lv in scale.levels] + [_("No level yet")]


def _target_table(rows: Sequence[dash.TargetRow], scale: Scale) -> dict[str, Any]:
    header = [
        _("Learning target"),
        *_level_names(scale),
        _("Students"),
        _("Mastered"),
        _("On track"),
    ]
    body = [
        [
            r.name,
            *[str(c) for c in r.counts],
            str(r.students),
            percent(r.share_mastered),
            percent(r.share_on_track),
        ]
        for r in rows
    ]
    return {"header": header, "rows": body}


def _group_table(rows: Sequence[dash.GroupRow], first: str) -> dict[str, Any]:
    header = [first, _("Students"), _("Mastered"), _("On track")]
    body = [
        [r.name, str(r.students), percent(r.share_mastered), percent(r.share_on_track)]
        for r in rows
    ]
    return {"header": header, "rows": body}


def _csv(table: dict[str, Any], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table["header"])
    for row in table["rows"]:
        writer.writerow([spreadsheet_text(cell) for cell in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _chart(rows: Sequence[dash.TargetRow], scale: Scale, where: str) -> charts.StackedBars:
    summary = _(
        "How the students of %(where)s spread over the district scale on each learning target; "
        "the table below gives the same figures.",
        where=where,
    )
    return charts.stacked_bars(
        [(r.name, r.counts) for r in rows], scale, _("No level yet"), summary
    )


def _term(platform_id: int) -> tuple[str | None, list[tuple[str, str]]]:
    terms = dash.terms(get_session(), platform_id)
    chosen = request.args.get("term") or None
    if chosen is not None and chosen not in {t for t, _ in terms}:
        abort(404)
    return chosen, terms


def _reach(row: LaunchSession) -> frozenset[str] | None:
    """The schools this admin sees (a school admin's launch account and those under it);
    None: the whole district."""
    if row.admin_account_id is None:
        return None
    return dash.schools_in_reach(get_session(), row.deployment.platform_id, row.admin_account_id)


def _in_reach(row: LaunchSession, account_id: str | None) -> None:
    """A school (or a course of a school) outside the admin's reach does not exist for them."""
    reach = _reach(row)
    if reach is not None and account_id not in reach:
        abort(404)


def _top_crumb(row: LaunchSession, term: str | None) -> tuple[str, str | None]:
    label = _("District") if row.admin_account_id is None else _("Your schools")
    return label, url_for("district.district", handle=row.id, term=term)


def school_name(platform_id: int, account_id: str, names: dict[str, str] | None = None) -> str:
    """The school's name in Canvas, or its sub-account id where no sync has read the name."""
    if names is None:
        names = dash.school_names(get_session(), platform_id)
    return names.get(account_id) or str(_("School (Canvas sub-account %(id)s)", id=account_id))


def _page(template: str, row: LaunchSession, scale: Scale, **ctx: Any) -> Response:
    levels_css = url_for("grid.levels_css", spec=charts.levels_spec(scale))
    html = render_template(
        template, s=row, scale=scale, levels_css=levels_css, percent=percent, fmt=charts.fmt, **ctx
    )
    return Response(html, mimetype="text/html")


def _view(
    row: LaunchSession,
    *,
    scope: dash.Scope,
    title: str,
    breadcrumbs: list[tuple[str, str | None]],
    groups: list[dash.GroupRow],
    group_title: str,
    group_heading: str,
    group_links: list[str | None],
    only: set[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    db = get_session()
    platform_id = row.deployment.platform_id
    eff = district_policy(db, platform_id)
    scale = eff.scale
    targets = dash.target_rows(db, platform_id, scope, len(scale.levels), only)
    tables = {
        "targets": _target_table(targets, scale),
        "groups": _group_table(groups, group_title),
    }
    wanted = request.args.get("csv")
    if wanted is not None:
        if wanted not in tables:
            abort(404)
        return _csv(tables[wanted], f"{wanted}-{title}".replace(" ", "-").lower()[:80])
    term, terms = _term(platform_id)
    return _page(
        "district.html",
        row,
        scale,
        title=title,
        breadcrumbs=breadcrumbs,
        chart=_chart(targets, scale, title),
        tables=tables,
        group_heading=group_heading,
        group_links=group_links,
        term=term,
        terms=terms,
        **(extra or {}),
    )


# --------------------------------------------------------------------------------------------
# District -> school -> course -> class grid
# --------------------------------------------------------------------------------------------


@bp.get("/district")
@session_required(admin=True)
def district(row: LaunchSession) -> Response:
    platform_id = row.deployment.platform_id
    term, _terms = _term(platform_id)
    reach = _reach(row)
    if reach is not None and len(reach) == 1:  # a school's admin: their school is the top
        (only,) = reach
        return _school(row, only)
    scope = dash.Scope(term_id=term, schools=reach)
    groups = dash.group_rows(get_session(), platform_id, scope, "account")
    names = dash.school_names(get_session(), platform_id)
    for g in groups:
        g.name = school_name(platform_id, g.key, names)
    groups.sort(key=lambda g: (g.name.casefold(), g.key))
    return _view(
        row,
        scope=scope,
        title=_("The district") if reach is None else _("Your schools"),
        breadcrumbs=[(_("District") if reach is None else _("Your schools"), None)],
        groups=groups,
        group_title=_("School"),
        group_heading=_("By school"),
        group_links=[
            url_for("district.school", handle=row.id, account_id=g.key, term=term) for g in groups
        ],
    )


@bp.get("/district/school/<account_id>")
@session_required(admin=True)
def school(row: LaunchSession, account_id: str) -> Response:
    if not dash.school_known(get_session(), row.deployment.platform_id, account_id):
        abort(404)
    _in_reach(row, account_id)
    return _school(row, account_id)


def _school(row: LaunchSession, account_id: str) -> Response:
    platform_id = row.deployment.platform_id
    term, _terms = _term(platform_id)
    scope = dash.Scope(term_id=term, account_id=account_id)
    groups = dash.group_rows(get_session(), platform_id, scope, "course")
    name = school_name(platform_id, account_id)
    return _view(
        row,
        scope=scope,
        title=name,
        breadcrumbs=[
            _top_crumb(row, term),
            (name, None),
        ],
        groups=groups,
        group_title=_("Course"),
        group_heading=_("By course"),
        group_links=[
            url_for(
                "district.course",
                handle=row.id,
                course_id=g.extra.get("canvas_course_id"),
                term=term,
            )
            for g in groups
        ],
    )


def _course(row: LaunchSession, course_id: str) -> Any:
    course = synced_course(get_session(), row.deployment.platform_id, course_id)
    if course is None:
        abort(404)
    _in_reach(row, course.account_id)
    return course


@bp.get("/district/course/<course_id>")
@session_required(admin=True)
def course(row: LaunchSession, course_id: str) -> Response:
    platform_id = row.deployment.platform_id
    found = _course(row, course_id)
    term, _terms = _term(platform_id)
    scope = dash.Scope(term_id=term, course_pk=found.id)
    groups = dash.group_rows(get_session(), platform_id, scope, "section")
    for g in groups:
        if not g.key:
            g.name = _("No section")
    name = found.name or _("course %(id)s", id=found.canvas_course_id)
    school_id = found.account_id or ""
    crumbs: list[tuple[str, str | None]] = [_top_crumb(row, term)]
    if school_id:
        crumbs.append(
            (
                school_name(platform_id, school_id),
                url_for("district.school", handle=row.id, account_id=school_id, term=term),
            )
        )
    crumbs.append((name, None))
    return _view(
        row,
        scope=scope,
        title=name,
        breadcrumbs=crumbs,
        groups=groups,
        group_title=_("Section"),
        group_heading=_("By section"),
        group_links=[None for _g in groups],
        extra={"grid_url": url_for("district.class_grid", handle=row.id, course_id=course_id)},
    )


@bp.get("/district/course/<course_id>/grid")
@session_required(admin=True)
def class_grid(row: LaunchSession, course_id: str) -> Response:
    db = get_session()
    platform_id = row.deployment.platform_id
    found = _course(row, course_id)
    scale = district_policy(db, platform_id).scale
    grid = dash.class_grid(db, platform_id, found)
    labels = [lv.label for lv in scale.levels]
    table = {
        "header": [_("Student"), *[name for _oid, name in grid.targets]],
        "rows": [
            [name, *[_cell_text(grid.levels.get((uid, oid)), labels) for oid, _n in grid.targets]]
            for uid, name in grid.students
        ],
    }
    if request.args.get("csv") == "grid":
        return _csv(table, f"class-grid-{found.canvas_course_id}")
    name = found.name or _("course %(id)s", id=found.canvas_course_id)
    crumbs: list[tuple[str, str | None]] = [_top_crumb(row, None)]
    if found.account_id:
        crumbs.append(
            (
                school_name(platform_id, found.account_id),
                url_for("district.school", handle=row.id, account_id=found.account_id),
            )
        )
    crumbs.append((name, url_for("district.course", handle=row.id, course_id=course_id)))
    crumbs.append((_("Class grid"), None))
    return _page(
        "district_grid.html",
        row,
        scale,
        title=name,
        breadcrumbs=crumbs,
        grid=grid,
        course_id=course_id,
    )


def _cell_text(value: tuple[float | None, int | None] | None, labels: list[str]) -> str:
    if value is None or value[0] is None:
        return "\u2013"
    level, index = value
    label = labels[index] if index is not None and 0 <= index < len(labels) else ""
    return f"{charts.fmt(level)} {label}".strip()


# --------------------------------------------------------------------------------------------
# A learner's record across courses
# --------------------------------------------------------------------------------------------


@bp.get("/record")
@session_required()
def my_record(row: LaunchSession) -> Response:
    if not row.canvas_user_id:
        abort(404)
    return _record(row, row.canvas_user_id)


@bp.get("/record/<uid>")
@session_required()
def record(row: LaunchSession, uid: str) -> Response:
    return _record(row, uid)


def _record(row: LaunchSession, uid: str) -> Response:
    db = get_session()
    if not may_view_record(db, row, uid):
        abort(404)
    found = learner_record(db, row.deployment.platform_id, uid, datetime.now(UTC))
    scale = found.eff.scale
    own = uid == row.canvas_user_id
    charts_by_target = {
        t.canvas_outcome_id: charts.chart_from(t.pieces, scale, t.growth.current_level)
        for t in found.targets
    }
    return _page(
        "district_record.html",
        row,
        scale,
        record=found,
        own=own,
        record_charts=charts_by_target,
        **charts.CHART_FRAME,
    )
