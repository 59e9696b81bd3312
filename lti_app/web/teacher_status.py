"""What the teacher's landing page says to do next: connect, sync, review, resend.

Registered on the app by ``create_app`` (``home.LANDING_STATUS``) rather than imported by
``home``: the launch renders the landing page, and the LTI package must not depend on the
mastery domain that the review queue's counts come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, false, select
from sqlalchemy.orm import Session

from lti_app.models.canvas import SYNC_ACTIVE, CanvasApiToken, CanvasCourse
from lti_app.models.launch import LaunchSession
from lti_app.models.writeback import FAILED, PENDING
from lti_app.pathways.service import waiting_count
from lti_app.sync import service as sync_service
from lti_app.web.local_time import note_course_zone
from lti_app.writeback import outbox


@dataclass(frozen=True)
class TeacherStatus:
    connected: bool
    synced_at: datetime | None
    syncing: bool
    waiting: int
    """Items in the review queue (ideas, work, requests to try again)."""
    failed: int
    """Results that could not be sent to Canvas."""
    pending: int
    """Results on their way to Canvas."""

    @property
    def next_step(self) -> str:
        """One of: connect, sync, syncing, review, failed, done (the page's words per step)."""
        if not self.connected and self.synced_at is None:
            return "connect"
        if self.synced_at is None:
            return "syncing" if self.syncing else "sync"
        if self.waiting:
            return "review"
        if self.failed:
            return "failed"
        return "done"


def teacher_status(db: Session, row: LaunchSession) -> TeacherStatus | None:
    """The course's state for its teacher: a handful of indexed counts in one statement (a
    round trip each would be most of a launch's time on PostgreSQL), no rows loaded."""
    course_id, user_id = row.canvas_course_id, row.canvas_user_id
    if not course_id:
        return None
    platform_id = row.deployment.platform_id
    course = CanvasCourse.in_course(platform_id, course_id)
    connected = (
        exists().where(
            CanvasApiToken.platform_id == platform_id, CanvasApiToken.canvas_user_id == user_id
        )
        if user_id is not None
        else false()
    )
    found = db.execute(
        select(
            connected,
            select(CanvasCourse.last_synced_at).where(course).scalar_subquery(),
            select(CanvasCourse.time_zone).where(course).scalar_subquery(),
            sync_service.latest_status(platform_id, course_id),
            waiting_count(platform_id, course_id),
            outbox.count_in_state(platform_id, course_id, FAILED),
            outbox.count_in_state(platform_id, course_id, PENDING),
        )
    ).one()
    is_connected, synced_at, zone, latest, waiting, failed, pending = found
    note_course_zone(zone)  # the page's dates need it: read here, not once more
    return TeacherStatus(
        connected=bool(is_connected),
        synced_at=synced_at,
        syncing=latest in SYNC_ACTIVE,
        waiting=waiting,
        failed=failed,
        pending=pending,
    )
