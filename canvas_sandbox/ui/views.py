"""Canvas-like pages: dashboard with the user switcher, course and account pages with their
navigation, the tool tab (iframe + Platform Storage frame), developer keys for admins."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from canvas_sandbox import outcomes as om
from canvas_sandbox import rubric_rewrites
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.errors import ValidationFailed
from canvas_sandbox.platform import context, install, keys
from canvas_sandbox.platform.launch import LaunchContext, login_initiation
from canvas_sandbox.platform.store import (
    deploy,
    deployment_for,
    deployments,
    developer_keys,
)
from canvas_sandbox.platform.views import platform
from canvas_sandbox.state import Course, Outcome, User
from canvas_sandbox.ui import forms, nav, pages

bp = Blueprint("sandbox_ui", __name__)
CSRF_FIELD = "authenticity_token"


def csrf_token(user: User | None) -> str:
    message = f"csrf|{user.id if user else 0}"
    return hmac.new(context.platform_secret().encode(), message.encode(), "sha256").hexdigest()


def _check_csrf(user: User | None) -> None:
    if not hmac.compare_digest(request.form.get(CSRF_FIELD, ""), csrf_token(user)):
        abort(403)


def _safe_next(value: str | None) -> str:
    """Only same-site paths: the switcher must not become an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@bp.app_context_processor
def layout_values() -> dict[str, Any]:
    """What the layout needs on every sandbox page (also the platform's own pages)."""
    s = context.state()
    user = context.current_user()
    return {
        "user": user,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(user),
        "switch_groups": pages.switcher_groups(s),
        "role_label": nav.role_label(s, user) if user else "",
        "admin_accounts": sorted(user.account_admin_of) if user else [],
        "current_path": request.full_path.rstrip("?"),
    }


def render(template: str, status: int = 200, **values: Any) -> Response:
    html = render_template(template, **values)
    return Response(html, status=status, mimetype="text/html")


def _denied() -> Response:
    user = context.current_user()
    if user is None:
        return render("unauthorized.html", status=401, reason="Pick a user first.")
    return render("unauthorized.html", status=401, reason="You are not enrolled in this course.")


# -- dashboard and user switcher ---------------------------------------------------------------
@bp.get("/")
def dashboard() -> Response:
    s = context.state()
    user = context.current_user()
    courses = nav.user_courses(s, user) if user else []
    return render(
        "dashboard.html",
        courses=courses,
        next_path=_safe_next(request.args.get("next")),
        page_title="Dashboard",
    )


@bp.post("/users/switch")
def switch_user() -> BaseResponse:
    s = context.state()
    try:
        user_id = int(request.form.get("user_id", ""))
    except ValueError:
        abort(400)
    if user_id not in s.users:
        abort(400)
    response = redirect(_safe_next(request.form.get("next")), code=303)
    response.set_cookie(
        context.USER_COOKIE,
        context.user_cookie_value(user_id),
        httponly=True,
        # SameSite=None (Secure is allowed on http://localhost): the authorization request
        # arrives inside the tool's iframe after a navigation the tool (another site)
        # started, and Chromium withholds Lax cookies there (the e2e test shows it).
        secure=True,
        samesite="None",
        path="/",
    )
    return response


@bp.post("/logout")
def logout() -> BaseResponse:
    _check_csrf(context.current_user())
    response = redirect("/", code=303)
    response.delete_cookie(context.USER_COOKIE, path="/", secure=True, samesite="None")
    return response


# -- courses -----------------------------------------------------------------------------------
def _course(course_id: int) -> tuple[Course, User] | Response:
    s = context.state()
    course = s.courses.get(course_id)
    if course is None:
        abort(404)
    user = context.current_user()
    if user is None or not nav.can_view_course(s, user, course):
        return _denied()
    return course, user


def _course_page(template: str, course: Course, user: User, active: str, **values: Any) -> Response:
    s = context.state()
    return render(
        template,
        course=course,
        tabs=nav.course_tabs(s, user, course),
        active=active,
        crumbs=[(course.course_code, f"/courses/{course.id}")],
        page_title=course.name,
        **values,
    )


@bp.get("/courses/<int:course_id>")
def course_home(course_id: int) -> Response:
    found = _course(course_id)
    if isinstance(found, Response):
        return found
    course, user = found
    s = context.state()
    sections = sorted(
        (sec for sec in s.sections.values() if sec.course_id == course.id), key=lambda x: x.id
    )
    return _course_page(
        "course_home.html",
        course,
        user,
        "home",
        roster=pages.roster(s, course),
        sections=sections,
        my_roles=sorted(s.course_roles(course.id, user.id)),
        tool_tabs=[t for t in nav.course_tabs(s, user, course) if t.id.startswith("tool_")],
    )


@bp.get("/courses/<int:course_id>/outcomes")
def course_outcomes(course_id: int) -> Response:
    found = _course(course_id)
    if isinstance(found, Response):
        return found
    course, user = found
    st = context.state()
    groups = pages.outcome_tree(st, course)
    editable = {
        o.id
        for g in groups
        for o in g.outcomes
        if nav.outcome_edit_refusal(st, user, course, o) is None
    }
    return _course_page(
        "course_outcomes.html",
        course,
        user,
        "outcomes",
        groups=groups,
        editable=editable,
        scale_rated=om.course_flags(st, course.id).account_level_mastery_scales,
        teacher=nav.is_course_teacher(st, user, course),
        message=request.args.get("message", ""),
    )


def _edit_form(
    course: Course,
    user: User,
    outcome: Outcome,
    rows: list[forms.RatingRow],
    mastery: str,
    error: str = "",
    status: int = 200,
) -> Response:
    response = _course_page(
        "course_outcome_edit.html",
        course,
        user,
        "outcomes",
        outcome=outcome,
        rows=rows,
        mastery=mastery,
        error=error,
    )
    response.status_code = status
    return response


@bp.route("/courses/<int:course_id>/outcomes/<int:outcome_id>/edit", methods=["GET", "POST"])
def course_outcome_edit(course_id: int, outcome_id: int) -> BaseResponse:
    """A teacher edits an outcome's ratings; saving runs ``LearningOutcome#
    propagate_changes_to_rubrics`` as ``PUT /api/v1/outcomes/:id`` does."""
    found = _course(course_id)
    if isinstance(found, Response):
        return found
    course, user = found
    st = context.state()
    outcome = st.outcomes.get(outcome_id)
    if (
        outcome is None
        or outcome.workflow_state != "active"
        or outcome.id not in om.course_outcome_ids(st, course.id)
    ):
        abort(404)
    refusal = nav.outcome_edit_refusal(st, user, course, outcome)
    if refusal is not None:
        return render("unauthorized.html", status=403, reason=refusal)
    if request.method == "GET":
        return _edit_form(
            course,
            user,
            outcome,
            forms.outcome_rows(outcome.ratings),
            forms.number(outcome.mastery_points),
        )
    _check_csrf(user)
    rows = forms.rows_from_form(request.form)
    mastery = request.form.get("mastery_points", "")
    try:
        ratings = forms.outcome_ratings(rows)
        mastery_points = forms.mastery_points(mastery)
    except forms.FormError as err:
        return _edit_form(course, user, outcome, rows, mastery, str(err), 422)
    om.set_outcome_ratings(st, outcome, ratings, mastery_points)
    changed = rubric_rewrites.outcome_changed(st, outcome)
    notice = f"Saved the ratings of {outcome.title}. {forms.rewritten(len(changed))}"
    return redirect(f"/courses/{course.id}/outcomes?" + urlencode({"message": notice}), code=303)


@bp.get("/courses/<int:course_id>/gradebook/learning_mastery")
def learning_mastery(course_id: int) -> Response:
    found = _course(course_id)
    if isinstance(found, Response):
        return found
    course, user = found
    st = context.state()
    if nav.is_course_teacher(st, user, course):
        own = None
    elif st.is_student(course.id, user.id):
        own = user.id  # a student's own mastery view: posted results only
    else:
        return render("unauthorized.html", status=401, reason="You are not enrolled here.")
    return _course_page(
        "course_lmgb.html",
        course,
        user,
        "lmgb",
        gradebook=pages.mastery_gradebook(st, course, own),
    )


@bp.get("/courses/<int:course_id>/external_tools/<int:key_id>")
def course_tool(course_id: int, key_id: int) -> Response:
    found = _course(course_id)
    if isinstance(found, Response):
        return found
    course, user = found
    s = context.state()
    tool = next((k for k, _d in nav.course_tools(s, user, course) if k.id == key_id), None)
    if tool is None:
        abort(404)
    deployment = deployment_for(s, tool, course.account_id)
    assert deployment is not None
    where = LaunchContext("course_navigation", course.account_id, course)
    login = login_initiation(platform(), tool, deployment, user, where)
    placement = tool.placement("course_navigation")
    return _course_page(
        "tool_launch.html",
        course,
        user,
        f"tool_{tool.id}",
        tool=tool,
        tool_title=placement.text if placement else tool.name,
        login_url=tool.oidc_initiation_url,
        login_fields=login,
    )


@bp.get("/courses/<int:course_id>/external_content/success/external_tool_redirect")
def course_tool_return(course_id: int) -> BaseResponse:
    return redirect(f"/courses/{course_id}")


# -- accounts (admins) -------------------------------------------------------------------------
def _account(account_id: int) -> tuple[int, User] | Response:
    s = context.state()
    if account_id not in s.accounts:
        abort(404)
    user = context.current_user()
    if user is None or not nav.is_admin_of(s, user, account_id):
        if user is None:
            return render("unauthorized.html", status=401, reason="Pick a user first.")
        return render("unauthorized.html", status=401, reason="Only account admins see this.")
    return account_id, user


def _account_page(
    template: str, account_id: int, user: User, active: str, **values: Any
) -> Response:
    s = context.state()
    account = s.accounts[account_id]
    return render(
        template,
        account=account,
        tabs=nav.account_tabs(s, user, account_id),
        active=active,
        crumbs=[(account.name, f"/accounts/{account_id}")],
        page_title=account.name,
        **values,
    )


@bp.get("/accounts/<int:account_id>")
def account_home(account_id: int) -> Response:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    scale = om.resolved_scale(context.state(), "Account", account_id)
    return _account_home(
        account_id, user, forms.scale_rows(scale), message=request.args.get("message", "")
    )


def _account_home(
    account_id: int,
    user: User,
    rows: list[forms.RatingRow],
    *,
    message: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    s = context.state()
    courses = sorted(
        (c for c in s.courses.values() if c.account_id == account_id), key=lambda c: c.name
    )
    response = _account_page(
        "account_home.html",
        account_id,
        user,
        "courses",
        courses=courses,
        scale_rows=rows,
        can_edit_scale=s.is_admin(user.id, account_id),  # as POST .../outcome_proficiency
        scale_flag=om.root_account(s, account_id).account_level_mastery_scales,
        message=message,
        error=error,
    )
    response.status_code = status
    return response


@bp.post("/accounts/<int:account_id>/outcome_proficiency")
def account_scale_save(account_id: int) -> BaseResponse:
    """The admin edits the account's mastery scale; saving runs ``Rubric#update_mastery_scales``
    as ``POST /api/v1/accounts/:id/outcome_proficiency`` does."""
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    s = context.state()
    if not s.is_admin(user.id, account_id):
        return render("unauthorized.html", status=403, reason="Only this account's admins do.")
    _check_csrf(user)
    rows = forms.rows_from_form(request.form)
    try:
        om.store_scale(s, "Account", account_id, forms.scale_ratings(rows))
    except forms.FormError as err:
        return _account_home(account_id, user, rows, error=str(err), status=422)
    except ValidationFailed as err:
        return _account_home(account_id, user, rows, error=err.message + ".", status=422)
    changed = rubric_rewrites.scale_changed(s, "Account", account_id)
    notice = f"Saved the mastery scale. {forms.rewritten(len(changed))}"
    return redirect(f"/accounts/{account_id}?" + urlencode({"message": notice}), code=303)


@bp.get("/accounts/<int:account_id>/external_tools/<int:key_id>")
def account_tool(account_id: int, key_id: int) -> Response:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    s = context.state()
    tool = next((k for k, _d in nav.account_tools(s, user, account_id) if k.id == key_id), None)
    if tool is None:
        abort(404)
    deployment = deployment_for(s, tool, account_id)
    assert deployment is not None
    where = LaunchContext("account_navigation", account_id, None)
    login = login_initiation(platform(), tool, deployment, user, where)
    placement = tool.placement("account_navigation")
    return _account_page(
        "tool_launch.html",
        account_id,
        user,
        f"tool_{tool.id}",
        tool=tool,
        tool_title=placement.text if placement else tool.name,
        login_url=tool.oidc_initiation_url,
        login_fields=login,
    )


@bp.get("/accounts/<int:account_id>/external_content/success/external_tool_redirect")
def account_tool_return(account_id: int) -> BaseResponse:
    return redirect(f"/accounts/{account_id}")


# -- developer keys ----------------------------------------------------------------------------
@bp.get("/accounts/<int:account_id>/developer_keys")
def developer_keys_page(account_id: int) -> Response:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    s = context.state()
    with s.lock:
        lti_keys = sorted(developer_keys(s).values(), key=lambda k: k.id)
        deployed = {d.developer_key_id: d for d in deployments(s).values()}
        api_keys = sorted(s.api_keys.values(), key=lambda k: k.id)
    return _account_page(
        "developer_keys.html",
        account_id,
        user,
        "developer_keys",
        lti_keys=lti_keys,
        deployed=deployed,
        api_keys=api_keys,
        signing_keys=keys.jwks(s)["keys"],
        tool_origin=_tool_origin(),
        message=request.args.get("message", ""),
        error=request.args.get("error", ""),
    )


def _tool_origin() -> str:
    """Where the tool runs (the origin of the API key's redirect URI, which `make demo` sets from
    the tool's port): the placeholders show the address to paste."""
    configured = getattr(context.config(), "api_redirect_uri", SandboxConfig.api_redirect_uri)
    parts = urlsplit(str(configured))
    return f"{parts.scheme}://{parts.netloc}"


def _back(account_id: int, **query: str) -> BaseResponse:
    return redirect(f"/accounts/{account_id}/developer_keys?" + urlencode(query), code=303)


@bp.post("/accounts/<int:account_id>/developer_keys/install")
def install_from_url(account_id: int) -> BaseResponse:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    _check_csrf(user)
    s = context.state()
    try:
        key = install.install_from_config_url(s, request.form.get("config_url", "").strip())
    except install.InstallError as err:
        return _back(account_id, error=str(err))
    deployment = deploy(s, key, account_id)
    return _back(
        account_id,
        message=f"Installed {key.name}: client_id {key.client_id}, "
        f"deployment {deployment.deployment_id}",
    )


@bp.get("/accounts/<int:account_id>/developer_keys/register")
def dynamic_registration(account_id: int) -> Response:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    url = request.args.get("registration_url", "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _account_page(
            "developer_keys_register.html",
            account_id,
            user,
            "developer_keys",
            error="Paste the tool's registration URL (http or https).",
            frame_src="",
        )
    token = install.registration_token(platform(), account_id, user.id)
    query = urlencode(
        {
            "openid_configuration": context.base_url() + "/api/lti/security/openid-configuration",
            "registration_token": token,
        }
    )
    return _account_page(
        "developer_keys_register.html",
        account_id,
        user,
        "developer_keys",
        error="",
        frame_src=url + ("&" if parts.query else "?") + query,
        tool_origin=f"{parts.scheme}://{parts.netloc}",
        done_url=url_for("sandbox_ui.developer_keys_page", account_id=account_id)
        + "?message=Registration+finished",
    )


@bp.post("/accounts/<int:account_id>/developer_keys/<int:key_id>/toggle")
def toggle_key(account_id: int, key_id: int) -> BaseResponse:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    _check_csrf(user)
    s = context.state()
    key = developer_keys(s).get(key_id)
    if key is None:
        abort(404)
    key.enabled = not key.enabled
    return _back(account_id, message=f"{key.name} is {'on' if key.enabled else 'off'}")


@bp.post("/accounts/<int:account_id>/security/rotate")
def rotate_signing_key(account_id: int) -> BaseResponse:
    found = _account(account_id)
    if isinstance(found, Response):
        return found
    _, user = found
    _check_csrf(user)
    new = keys.rotate(context.state())
    return _back(account_id, message=f"New signing key {new.kid}; older keys stay published")
