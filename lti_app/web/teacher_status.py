"""What the teacher's landing page says to do next: connect, sync, review, resend.

Registered on the app by ``create_app`` (``home.LANDING_STATUS``) rather than imported by
``home``: the launch renders the landing page, and the LTI package must not depend on the
mastery domain that the review queue's counts come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.models.canvas import SYNC_ACTIVE, CanvasApiToken, CanvasCourse
from lti_app.models.launch import LaunchSession
from lti_app.pathways.service import queue_counts
from lti_app.sync import service as sync_service
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
    """The course's state for its teacher, in a handful of indexed counts (no rows loaded)."""
    course_id, user_id = row.canvas_course_id, row.canvas_user_id
    if not course_id:
        return None
    platform_id = row.deployment.platform_id
    connected = user_id is not None and (
        db.scalar(
            select(CanvasApiToken.id).where(
                CanvasApiToken.platform_id == platform_id,
                CanvasApiToken.canvas_user_id == user_id,
            )
        )
        is not None
    )
    synced_at = db.scalar(
        select(CanvasCourse.last_synced_at).where(
            CanvasCourse.platform_id == platform_id, CanvasCourse.canvas_course_id == course_id
        )
    )
    latest = sync_service.latest_run(db, platform_id, course_id)
    sends = outbox.course_status(db, platform_id, course_id)
    return TeacherStatus(
        connected=connected,
        synced_at=synced_at,
        syncing=latest is not None and latest.status in SYNC_ACTIVE,
        waiting=queue_counts(db, platform_id, course_id)["total"],
        failed=sends.failed,
        pending=sends.pending,
    )
