"""The page a launch lands on, per role, with the links to each role's pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, render_template

from lti_app.db import get_session
from lti_app.lti.launch_session import CSRF_FIELD, FORM_FIELD
from lti_app.lti.roles import CourseRole
from lti_app.models.launch import LaunchSession
from lti_app.translatable import _l

ROLE_LABELS = {
    CourseRole.INSTRUCTOR: _l("Teacher"),
    CourseRole.TEACHING_ASSISTANT: _l("Teaching assistant"),
    CourseRole.LEARNER: _l("Student"),
    CourseRole.OBSERVER: _l("Parent or guardian"),
    CourseRole.NONE: _l("Guest"),
}

# app.extensions key: (db, launch session) -> what the teacher's landing page reports. Set by
# create_app, so that this module (rendered by the launch) imports no domain package.
LANDING_STATUS = "landing_status"
StatusProvider = Callable[[Any, LaunchSession], Any]


# app.extensions key: view name -> a page that replaces the landing page for that view (the
# student's targets: no extra click); None from it keeps the landing page.
LANDING_PAGES = "landing_pages"
PageProvider = Callable[[LaunchSession], Response | None]


def register_landing_status(app: Flask, provider: StatusProvider) -> None:
    app.extensions[LANDING_STATUS] = provider


def register_landing_page(app: Flask, view: str, provider: PageProvider) -> None:
    app.extensions.setdefault(LANDING_PAGES, {})[view] = provider


def _landing_page(view: str, session: LaunchSession) -> Response | None:
    provider: PageProvider | None = current_app.extensions.get(LANDING_PAGES, {}).get(view)
    if provider is None:
        return None
    with get_session().no_autoflush:  # as in _teacher_status: no write lock while it reads
        return provider(session)


def _teacher_status(session: LaunchSession) -> Any:
    provider: StatusProvider | None = current_app.extensions.get(LANDING_STATUS)
    if provider is None:
        return None
    db = get_session()
    # During a launch the new session row is still unflushed: these reads run before the
    # launch's first write, so they never hold the database's write lock (SQLite).
    with db.no_autoflush:
        return provider(db, session)


def render_home(session: LaunchSession, secret: str | None = None) -> Response:
    role = CourseRole(session.course_role)
    if session.context_id is None:
        view = "admin" if session.is_admin else "no_context"
    elif role.is_teacher:
        view = "teacher"
    elif role is CourseRole.LEARNER:
        view = "student"
    elif role is CourseRole.OBSERVER:
        view = "observer"
    elif session.is_admin:
        view = "admin"
    else:
        view = "no_access"
    if secret is not None:
        # base.html hands it to session_nav.js for cookie-less browsers
        g.launch_token, g.launch_session = secret, session
    page = _landing_page(view, session)
    if page is not None:
        return page
    html = render_template(
        "home.html",
        s=session,
        view=view,
        status=_teacher_status(session) if view == "teacher" else None,
        # An admin without a course role is no "Guest": the Administrator badge says it all.
        role_label=None if role is CourseRole.NONE and session.is_admin else ROLE_LABELS[role],
        # Handed to the page once so it can authenticate without third-party cookies.
        launch_token=secret,
        token_field=FORM_FIELD,
        csrf_field=CSRF_FIELD,
    )
    return Response(html, mimetype="text/html")
