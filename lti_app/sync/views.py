"""Teacher pages for the Canvas connection and course sync, and the OAuth2 connect flow.

Connect: the teacher page (in the Canvas iframe) creates a server-side state bound to the
launch session (single use, expiring; only its hash is stored) and offers a link that opens in
a NEW window (Canvas's authorize page does not run in an iframe) to /canvas/oauth/start, which
redirects to Canvas. The callback consumes the state in its own committed transaction,
exchanges the code, and keeps the token only if Canvas says it belongs to the launched user.
Tokens are stored encrypted (KeyRing, AAD bound to the row).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext
from sqlalchemy import update

from lti_app.canvas import connection
from lti_app.canvas.client.errors import CanvasError, ReconnectRequired
from lti_app.canvas.client.tokens import (
    StaticToken,
    authorization_url,
    exchange_code,
    revoke,
)
from lti_app.canvas.connection import MissingApiKey
from lti_app.db import get_session, session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.lti.roles import CourseRole
from lti_app.models.canvas import SYNC_ACTIVE, CanvasOAuthState
from lti_app.models.launch import LaunchSession
from lti_app.models.tenancy import Platform
from lti_app.services import services
from lti_app.sync import read_report, service
from lti_app.sync.background import start_user_sync
from lti_app.urls import origin_of
from lti_app.web.access import session_required
from lti_app.web.i18n import say

log = logging.getLogger("lti_app.canvas")

bp = Blueprint("canvas", __name__)

STATE_TTL = timedelta(minutes=10)
REVOKE_LEEWAY = timedelta(seconds=60)
CALLBACK_PATH = "/canvas/oauth/callback"
# Requested when the API key enforces scopes: the sync's reads and the write-back's calls.
SCOPES = (
    "url:GET|/api/v1/users/:id",
    "url:GET|/api/v1/courses/:id",
    "url:GET|/api/v1/courses/:course_id/root_outcome_group",
    "url:GET|/api/v1/courses/:course_id/outcome_group_links",
    "url:GET|/api/v1/courses/:course_id/outcome_groups",
    "url:GET|/api/v1/courses/:course_id/outcome_proficiency",
    "url:GET|/api/v1/courses/:course_id/sections",
    "url:GET|/api/v1/courses/:course_id/enrollments",
    # The progress report's periods (docs/canvas.md §12).
    "url:GET|/api/v1/courses/:course_id/grading_periods",
    "url:GET|/api/v1/courses/:course_id/outcome_results",
    "url:GET|/api/v1/courses/:course_id/outcome_rollups",
    # How Canvas scores is set by root-account features (docs/canvas.md §6.9).
    "url:GET|/api/v1/accounts/:account_id/features/enabled",
    "url:GET|/api/v1/courses/:course_id/assignments",
    "url:GET|/api/v1/courses/:course_id/assignments/:id",
    "url:GET|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
    "url:GET|/api/v1/courses/:course_id/rubrics/:id",
    "url:POST|/api/v1/courses/:course_id/assignments",
    "url:PUT|/api/v1/courses/:course_id/assignments/:id",
    "url:POST|/api/v1/courses/:course_id/rubrics",
    "url:PUT|/api/v1/courses/:course_id/rubrics/:id",
    "url:PUT|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
    "url:POST|/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades",
    "url:GET|/api/v1/progress/:id",
    # The account sync's course list (admins only: Canvas checks the role, docs/canvas.md §11.1).
    "url:GET|/api/v1/accounts/:account_id/courses",
)


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def refuse(status: int, title: str, advice: str) -> Response:
    return _page("refused.html", status, title=title, advice=advice, tone="error")


def _teacher_context(row: LaunchSession) -> Response | None:
    """None when this launch may manage the course's Canvas connection; else the refusal."""
    if not CourseRole(row.course_role).is_teacher:
        return refuse(
            403,
            gettext("This page is for the course's teachers."),
            gettext("Open Mastery Pathways from Canvas."),
        )
    if not row.canvas_course_id or not row.canvas_user_id:
        return refuse(
            409,
            gettext("Canvas did not say which course and user this is."),
            gettext(
                "Ask your Canvas admin to add the custom fields canvas_course_id=$Canvas.course.id "
                "and canvas_user_id=$Canvas.user.id to the tool."
            ),
        )
    return None


def _status(row: LaunchSession) -> dict[str, Any]:
    db = get_session()
    platform_id = row.deployment.platform_id
    course_id = row.canvas_course_id or ""
    latest = service.latest_run(db, platform_id, course_id)
    if (
        latest is not None
        and latest.status in SYNC_ACTIVE
        and latest.heartbeat_at < _now() - service.STALE_AFTER
    ):
        service.reap_stale(db)  # its process died: show "interrupted", not a frozen bar
        db.refresh(latest)
    success = service.last_success(db, platform_id, course_id)
    token = connection.find_token(db, platform_id, row.canvas_user_id or "")
    run: dict[str, Any] | None = None
    if latest is not None:
        run = {
            "id": latest.id,
            "status": latest.status,
            "active": latest.status in SYNC_ACTIVE,
            "progress": latest.progress,
            "step": say(latest.step_text),
            "requests": latest.request_count,
            "error_code": latest.error_code,
            "error_message": say(latest.error_text),
            "finished_at": latest.finished_at.isoformat() if latest.finished_at else None,
            "summary": latest.summary,
        }
    return {
        "connected": token is not None,
        "run": run,
        "last_synced_at": success.finished_at.isoformat()
        if success and success.finished_at
        else None,
        "last_summary": success.summary if success else None,
        "last_read": read_report.describe(success.summary if success else None),
    }


def _render_sync_page(row: LaunchSession, status: int = 200, **extra: Any) -> Response:
    return _page(
        "canvas_sync.html",
        status,
        s=row,
        st=_status(row),
        csrf_field=CSRF_FIELD,
        **extra,
    )


@bp.get("/s/<handle>/canvas")
@session_required(unless=_teacher_context)
def sync_page(row: LaunchSession) -> Response:
    return _render_sync_page(row)


@bp.get("/s/<handle>/canvas/status.json")
@session_required()
def sync_status(row: LaunchSession) -> Response:
    refusal = _teacher_context(row)
    if refusal is not None:
        return Response('{"error": "forbidden"}', status=403, mimetype="application/json")
    return jsonify(_status(row))


@bp.post("/s/<handle>/canvas/sync")
@session_required(unless=_teacher_context)
def sync_start(row: LaunchSession) -> Response:
    db = get_session()
    platform_id = row.deployment.platform_id
    assert row.canvas_course_id and row.canvas_user_id
    if connection.find_token(db, platform_id, row.canvas_user_id) is None:
        return _render_sync_page(row, 409, notice=gettext("Connect to Canvas first."))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    start_user_sync(app, platform_id, row.canvas_course_id, row.canvas_user_id)
    return _render_sync_page(row)


@bp.post("/s/<handle>/canvas/connect")
@session_required(unless=_teacher_context)
def connect(row: LaunchSession) -> Response:
    db = get_session()
    platform = row.deployment.platform
    if not platform.api_client_id or not platform.api_client_secret_encrypted:
        return _render_sync_page(
            row,
            409,
            notice=gettext(
                "This Canvas has no API developer key set up for Mastery Pathways yet. "
                "Ask your Canvas admin to add one."
            ),
        )
    state = secrets.token_urlsafe(32)
    now = _now()
    db.add(
        CanvasOAuthState(
            state_hash=_hash(state),
            launch_session_id=row.id,
            platform_id=platform.id,
            canvas_user_id=row.canvas_user_id or "",
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    # Expired states are deleted by the periodic prune (lti_app/maintenance).
    start_url = services().settings.url("/canvas/oauth/start") + "?state=" + state
    return _page("canvas_connect.html", s=row, start_url=start_url)


@bp.post("/s/<handle>/canvas/disconnect")
@session_required(unless=_teacher_context)
def disconnect(row: LaunchSession) -> Response:
    db = get_session()
    platform = row.deployment.platform
    token_row = connection.find_token(db, platform.id, row.canvas_user_id or "")
    notice = gettext("Mastery Pathways is not connected to your Canvas account.")
    if token_row is not None:
        svc = services()
        token = connection.load_token(svc.keyring, token_row)
        access: str | None = token.access_token
        try:
            same_canvas = token.canvas_origin == origin_of(platform.canvas_url)
            if same_canvas and token.refresh_token and token.expires_at <= _now() + REVOKE_LEEWAY:
                # Canvas answers an expired token's DELETE with 401 and would keep the
                # refresh token alive: refresh first, so the revocation ends the grant.
                app = current_app._get_current_object()  # type: ignore[attr-defined]
                try:
                    access = connection.user_token_source(
                        app, svc, platform, token.canvas_user_id
                    ).access_token()
                except (ReconnectRequired, MissingApiKey):
                    access = None  # the grant is already dead (or unusable): nothing to end
            if access is not None:
                # Revoke the refresh-capable grant first, at the Canvas that issued it (never
                # at another address the platform may have since); then forget it here.
                revoke(
                    token.canvas_origin,
                    access,
                    session=svc.http,
                    timeout=svc.settings.http_timeout,
                )
        except CanvasError as exc:
            log.warning("canvas_revoke_failed error=%s", type(exc).__name__)
            return _render_sync_page(
                row,
                502,
                notice=gettext(
                    "Canvas did not confirm the disconnection; nothing was removed. "
                    "Try again in a minute."
                ),
            )
        db.delete(token_row)
        notice = gettext("Disconnected: Mastery Pathways can no longer read Canvas for you.")
    db.flush()
    return _render_sync_page(row, notice=notice)


@bp.get("/canvas/oauth/start")
def oauth_start() -> Response:
    """Top-level window: check the state, then send the browser to Canvas's authorize page."""
    state = request.args.get("state", "")
    db = get_session()
    found = db.get(CanvasOAuthState, _hash(state)) if state else None
    if found is None or found.consumed_at is not None or found.expires_at <= _now():
        return refuse(
            400,
            gettext("This connect link has expired."),
            gettext("Go back to Mastery Pathways in Canvas and choose Connect to Canvas again."),
        )
    platform = db.get(Platform, found.platform_id)
    assert platform is not None
    if not platform.api_client_id:
        return refuse(
            409, gettext("Canvas API access is not set up."), gettext("Ask your Canvas admin.")
        )
    url = authorization_url(
        platform.canvas_url,
        platform.api_client_id,
        services().settings.url(CALLBACK_PATH),
        state,
        SCOPES,
    )
    return Response(status=302, headers={"Location": url})


def _consume_state(state: str) -> CanvasOAuthState | None:
    """Mark the state used in its own committed transaction: a refused callback cannot
    roll the consumption back, so a state works exactly once."""
    if not state:
        return None
    now = _now()
    with session_scope(current_app) as db:
        result = db.execute(
            update(CanvasOAuthState)
            .where(
                CanvasOAuthState.state_hash == _hash(state),
                CanvasOAuthState.consumed_at.is_(None),
                CanvasOAuthState.expires_at > now,
            )
            .values(consumed_at=now)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        found = db.get(CanvasOAuthState, _hash(state))
        if found is not None:
            db.expunge(found)
        return found


@bp.get(CALLBACK_PATH)
def oauth_callback() -> Response:
    found = _consume_state(request.args.get("state", ""))
    if found is None:
        return refuse(
            400,
            gettext("This sign-in could not be verified."),
            gettext(
                "The link was used already or has expired. Go back to Mastery Pathways in Canvas "
                "and choose Connect to Canvas again."
            ),
        )
    if request.args.get("error"):
        # access_denied: the teacher chose Cancel on Canvas's authorize page.
        return refuse(
            400,
            gettext("Canvas access was not granted."),
            gettext(
                "Mastery Pathways needs access to read the course's outcomes. Connect again when "
                "you are ready."
            ),
        )
    code = request.args.get("code", "")
    db = get_session()
    platform = db.get(Platform, found.platform_id)
    launch = db.get(LaunchSession, found.launch_session_id)
    if platform is None or launch is None or launch.expires_at <= _now():
        return refuse(
            400,
            gettext("Your session has ended."),
            gettext("Open Mastery Pathways again from Canvas."),
        )
    svc = services()
    try:
        client_id, client_secret = connection.platform_api_key(svc, platform)
        token = exchange_code(
            platform.canvas_url,
            client_id,
            client_secret,
            svc.settings.url(CALLBACK_PATH),
            code,
            timeout=svc.settings.http_timeout,
        )
        # Ask Canvas who the token belongs to; the token response's user is checked too.
        me = connection.make_client(
            svc, platform.canvas_url, StaticToken(token.access_token)
        ).users_self()
    except (CanvasError, MissingApiKey) as exc:
        log.warning("canvas_connect_failed error=%s", type(exc).__name__)
        return refuse(
            502,
            gettext("Canvas did not complete the connection."),
            gettext(
                "Try again in a minute. If it keeps failing, ask your Canvas admin to check the "
                "Mastery Pathways API developer key."
            ),
        )
    if me.id != found.canvas_user_id or token.canvas_user_id != found.canvas_user_id:
        log.warning("canvas_connect_wrong_user platform=%d", platform.id)
        # The token is discarded whether or not Canvas confirms the revocation.
        with contextlib.suppress(CanvasError):
            revoke(
                token.canvas_origin,
                token.access_token,
                session=svc.http,
                timeout=svc.settings.http_timeout,
            )
        return refuse(
            403,
            gettext("That is a different Canvas account."),
            gettext(
                "You signed in to Canvas as someone else than the teacher who opened Mastery "
                "Pathways. Sign in to Canvas as yourself and connect again."
            ),
        )
    connection.save_token(db, svc.keyring, platform.id, token)
    return _page("canvas_connected.html", name=me.name)
