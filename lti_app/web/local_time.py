"""Times shown in the reader's time zone, as dates people read ("Dec 4, 2026, 3:15 PM PST";
in Spanish "4 dic 2026, 15:15 PST"), as docs/canvas.md §10 describes Canvas's zones.

The zone is the user's own as Canvas sends it ($Person.address.timezone, kept on the launch
session), else the course's (read in sync), else UTC. It is looked up once per request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from flask import Flask, g, has_request_context
from sqlalchemy import select

from lti_app.db import get_session
from lti_app.languages import LANGUAGES, current_language
from lti_app.lti.launch_session import known_zone
from lti_app.models.canvas import CanvasCourse


def _zone() -> ZoneInfo:
    if not has_request_context():
        return ZoneInfo("UTC")
    cached: ZoneInfo | None = g.get("mp_zone")
    if cached is not None:
        return cached
    name: str | None = None
    session = g.get("launch_session")
    if session is not None:
        name = session.time_zone
        if name is None and "mp_course_zone" in g:
            name = known_zone(g.mp_course_zone)
        elif name is None and session.canvas_course_id:
            db = get_session()
            with db.no_autoflush:  # during a launch: a read before its first write
                name = known_zone(
                    db.scalar(
                        select(CanvasCourse.time_zone).where(
                            CanvasCourse.in_course(
                                session.deployment.platform_id, session.canvas_course_id
                            ),
                        )
                    )
                )
    zone = ZoneInfo(name or "UTC")
    g.mp_zone = zone
    return zone


def note_course_zone(name: str | None) -> None:
    """The session's course's zone (None: the course has none), from a page that read the
    course anyway: the dates on the page then need no read of their own."""
    if has_request_context():
        g.mp_course_zone = name


def local(value: datetime | str | None, with_time: bool = True) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):  # an ISO time from a status dict
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    at = value.astimezone(_zone())
    language = current_language()
    if language != LANGUAGES[0]:  # the same parts in the language's own order and words
        day = format_date(at.date(), "medium", locale=language)  # "4 dic 2026"
        if not with_time:
            return day
        return f"{day}, {format_time(at.time(), 'short', locale=language)} {at.tzname()}"
    day = f"{at:%b} {at.day}, {at.year}"
    if not with_time:
        return day
    hour = at.hour % 12 or 12
    return f"{day}, {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'} {at.tzname()}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["local_date"] = lambda value: local(value, with_time=False)
