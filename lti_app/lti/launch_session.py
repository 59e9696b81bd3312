"""Sessions bound to one launch.

Each validated launch gets a new session: a public handle that appears in the tool's page
URLs and a secret that never does. The secret lives in a per-handle cookie (Secure;
HttpOnly; SameSite=None; Partitioned) and is also accepted from the X-Launch-Token header or
a launch_token form field, for browsers that refuse third-party cookies. Two tabs with two
courses therefore hold two independent sessions, and a later launch never adopts an earlier
session. State-changing requests also need the session's CSRF token and our own Origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from lti_app.db import commit_without_waiting_for_disk, insert_or_update
from lti_app.languages import supported
from lti_app.lti.roles import classify
from lti_app.models.launch import LaunchSession, LtiUser
from lti_app.models.tenancy import Deployment

COOKIE_PREFIX = "__Host-mp-"
# Open tabs a user can keep at once; older ones end at the next launch.
MAX_SESSIONS_PER_BROWSER = 5
HEADER = "X-Launch-Token"
FORM_FIELD = "launch_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
CONTEXT = "https://purl.imsglobal.org/spec/lti/claim/context"
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
PLACEMENT = "https://www.instructure.com/placement"
PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
# Canvas lists the LTI user ids of the students an observer observes in the course (only for
# tools of privacy level public, and only when there is one): docs/canvas.md §7.10.
MENTOR_SCOPE = "https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor"
MENTOR_SCOPE_MAX = 100  # more observed students than any family has: the rest are ignored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def known_zone(name: str | None) -> str | None:
    """An IANA time zone name this machine knows ("America/Denver"), else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _substituted(value: Any, limit: int = 64) -> str | None:
    """Canvas sends unknown variables back literally ("$Canvas.course.id"): treat as absent.

    Canvas ids and placement names are short; anything longer than the column is not one.
    """
    if value is None:
        return None
    text = str(value)
    return None if not text or text.startswith("$") or len(text) > limit else text


def mentor_scope(claims: dict[str, Any]) -> list[str] | None:
    """The role_scope_mentor claim's LTI user ids, or None when Canvas sent no such claim."""
    value = claims.get(MENTOR_SCOPE)
    if not isinstance(value, list):
        return None
    return [v[:255] for v in value if isinstance(v, str) and v][:MENTOR_SCOPE_MAX]


def admin_scope(is_admin: bool, custom: dict[str, Any]) -> str | None:
    """The account an administrator's district pages keep to: the launch's account unless
    Canvas says they are a root account admin ($Canvas.user.isRootAccountAdmin). A deployment
    registered before these fields were asked for sends neither: whole district, as before.
    Canvas's expander gives the flag as a JSON boolean; a string "true" is read alike."""
    if not is_admin or str(custom.get("canvas_root_account_admin")).lower() == "true":
        return None
    if _substituted(custom.get("canvas_root_account_admin")) is None:
        return None  # the field was not asked for (an older registration)
    return _substituted(custom.get("canvas_account_id")) or ""


def remember_lti_user(db: Session, platform_id: int, sub: str, canvas_user_id: str) -> None:
    """Record which Canvas user this LTI user id is (the latest launch wins).

    One statement whether the user is new, known or changed, and a user's first launches in
    two tabs at once make one row (the second finds the first's)."""
    insert = insert_or_update(db, LtiUser).values(
        platform_id=platform_id,
        lti_user_id=sub,
        canvas_user_id=canvas_user_id,
        seen_at=datetime.now(UTC),
    )
    db.execute(
        insert.on_conflict_do_update(
            index_elements=["platform_id", "lti_user_id"],
            set_={
                "canvas_user_id": insert.excluded.canvas_user_id,
                "seen_at": insert.excluded.seen_at,
            },
            where=LtiUser.canvas_user_id != insert.excluded.canvas_user_id,
        )
    )


@dataclass(frozen=True)
class NewSession:
    session: LaunchSession
    secret: str


def create(db: Session, deployment: Deployment, claims: dict[str, Any], ttl: int) -> NewSession:
    roles = [r for r in claims.get(ROLES, []) if isinstance(r, str)]
    launch_roles = classify(roles)
    context = claims.get(CONTEXT) if isinstance(claims.get(CONTEXT), dict) else None
    custom = claims.get(CUSTOM) if isinstance(claims.get(CUSTOM), dict) else {}
    presentation: dict[str, Any] = claims.get(PRESENTATION) or {}
    if not isinstance(presentation, dict):
        presentation = {}
    name = claims.get("name") or " ".join(
        p for p in (claims.get("given_name"), claims.get("family_name")) if p
    )
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    commit_without_waiting_for_disk(db)  # a lost session only means launching again
    row = LaunchSession(
        id=secrets.token_urlsafe(16),
        secret_hash=_hash(secret),
        csrf_token=secrets.token_urlsafe(32),
        deployment=deployment,
        user_sub=str(claims["sub"])[:255],
        user_name=str(name)[:255] or None,
        canvas_user_id=_substituted((custom or {}).get("canvas_user_id")),
        context_id=str(context["id"])[:255] if context and context.get("id") else None,
        context_title=str(context.get("title") or context.get("label") or "")[:255] or None
        if context
        else None,
        canvas_course_id=_substituted((custom or {}).get("canvas_course_id")),
        course_role=launch_roles.course_role.value,
        is_admin=launch_roles.is_admin,
        roles=roles,
        placement=_substituted(claims.get(PLACEMENT)),
        time_zone=known_zone(_substituted((custom or {}).get("canvas_user_time_zone"))),
        locale=supported(presentation.get("locale")),
        mentor_scope=mentor_scope(claims),
        admin_account_id=admin_scope(launch_roles.is_admin, custom or {}),
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
    )
    if row.canvas_user_id is not None:
        remember_lti_user(db, deployment.platform_id, row.user_sub, row.canvas_user_id)
    db.add(row)  # expired sessions are deleted by the periodic prune (lti_app/maintenance)
    return NewSession(session=row, secret=secret)


def set_cookie(response: Response, new: NewSession, ttl: int) -> None:
    response.set_cookie(
        COOKIE_PREFIX + new.session.id,
        new.secret,
        max_age=ttl,
        secure=True,
        httponly=True,
        path="/",
        samesite="None",
        partitioned=True,
    )


def clear_cookie(response: Response, handle: str) -> None:
    response.delete_cookie(
        COOKIE_PREFIX + handle,
        path="/",
        secure=True,
        httponly=True,
        samesite="None",
        partitioned=True,
    )


def prune_browser_sessions(
    db: Session, request: Request, user_sub: str, platform_id: int
) -> list[str]:
    """Tidy the sessions this browser holds before a new launch adds one.

    Someone else's sessions end (a shared lab PC); so do dead ones. The same user keeps their
    newest few (two tabs with two courses are normal), so the Cookie header stays small however
    often the tool is opened. Returns the handles whose cookies the response should clear.
    """
    presented = {
        name[len(COOKIE_PREFIX) :]: secret
        for name, secret in request.cookies.items()
        if name.startswith(COOKIE_PREFIX)
    }
    if not presented:
        return []
    rows = db.scalars(select(LaunchSession).where(LaunchSession.id.in_(list(presented)))).all()
    by_handle = {row.id: row for row in rows}
    now = datetime.now(UTC)
    ended: list[str] = []
    mine: list[LaunchSession] = []
    for handle, secret in presented.items():
        row = by_handle.get(handle)
        if (
            row is None
            or row.expires_at <= now
            or not hmac.compare_digest(row.secret_hash, _hash(secret))
        ):
            ended.append(handle)
        elif row.user_sub != user_sub or row.deployment.platform_id != platform_id:
            db.delete(row)
            ended.append(handle)
        else:
            mine.append(row)
    mine.sort(key=lambda r: r.created_at, reverse=True)
    for row in mine[MAX_SESSIONS_PER_BROWSER - 1 :]:
        db.delete(row)
        ended.append(row.id)
    return ended


def end(db: Session, row: LaunchSession) -> None:
    db.delete(row)


def presented_secret(request: Request, handle: str) -> str | None:
    return (
        request.cookies.get(COOKIE_PREFIX + handle)
        or request.headers.get(HEADER)
        or (request.form.get(FORM_FIELD) if request.method == "POST" else None)
    )


def authenticate(db: Session, request: Request, handle: str) -> LaunchSession | None:
    """The live session for `handle` if this request proves it holds the secret."""
    secret = presented_secret(request, handle)
    if not secret:
        return None
    # One round trip: every page reads the session's deployment and platform (framing).
    row = db.get(
        LaunchSession,
        handle,
        options=[joinedload(LaunchSession.deployment).joinedload(Deployment.platform)],
    )
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    if row.expires_at <= datetime.now(UTC):
        return None
    return row


def csrf_ok(request: Request, row: LaunchSession, own_origin: str) -> bool:
    """Synchronizer token plus an Origin allow-list: SameSite=None re-opens classic CSRF."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != own_origin:
        return False
    token = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return hmac.compare_digest(token, row.csrf_token)
