"""What the tool holds from Canvas: API tokens, course sync runs and the synced course data.

Synced rows are a cache of Canvas, replaced per course in one transaction by a completed sync
(``lti_app.sync.apply``); nothing half-written is ever current. Every table is scoped by
platform (tenant), directly or through ``canvas_course``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from lti_app.db import Base
from lti_app.models._types import UTCDateTime, utcnow
from lti_app.models.key_columns import CourseRow, SyncedRow, TenantRow, course_unique
from lti_app.translatable import Text as Message

SYNC_QUEUED = "queued"
SYNC_RUNNING = "running"
SYNC_SUCCEEDED = "succeeded"
SYNC_FAILED = "failed"
SYNC_ACTIVE = (SYNC_QUEUED, SYNC_RUNNING)


def target_name(title: str, display_name: str | None) -> str:
    """A Canvas outcome's title is often a code ("RL.7.2") and its display name the words
    ("Theme and summary"): both, once, when the display name adds something."""
    friendly = (display_name or "").strip()
    if friendly and friendly.casefold() not in title.casefold():
        return f"{title}: {friendly}"
    return title


class CanvasApiToken(TenantRow, Base):
    """A Canvas user's OAuth2 tokens for one tenant, encrypted with AAD bound to the row key."""

    __tablename__ = "canvas_api_token"
    __table_args__ = (
        UniqueConstraint("platform_id", "canvas_user_id", name="uq_canvas_api_token_platform_user"),
    )

    canvas_user_id: Mapped[str] = mapped_column(String(64))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The Canvas origin that issued these tokens; they are never sent anywhere else, even
    # after the platform's canvas_url changes (the teacher reconnects instead).
    canvas_origin: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def aad(self, kind: str) -> str:
        # (tenant, user, which token): a ciphertext copied to another row or field fails.
        return f"canvas_api_token:{self.platform_id}:{self.canvas_user_id}:{kind}"


class CanvasOAuthState(Base):
    """One pending "Connect to Canvas": single use, short-lived, bound to a launch session.

    Only a hash of the state is stored: the value itself travels through Canvas's redirect.
    """

    __tablename__ = "canvas_oauth_state"
    __table_args__ = (Index("ix_canvas_oauth_state_expires_at", "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    launch_session_id: Mapped[str] = mapped_column(
        ForeignKey("launch_session.id", ondelete="CASCADE")
    )
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncRun(CourseRow, Base):
    """One course sync: the durable record of the background job and what it found."""

    __tablename__ = "sync_run"
    __table_args__ = (
        Index("ix_sync_run_platform_course", "platform_id", "canvas_course_id"),
        Index("ix_sync_run_status", "status"),
        # Pruning finds old finished runs by this (lti_app/maintenance/prune.py).
        Index("ix_sync_run_finished_at", "finished_at"),
    )

    # Whose token the run uses ("cli" for an admin-supplied API token).
    requested_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SYNC_QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[str] = mapped_column(String(255), default="Waiting to start")
    request_count: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    # The step and the error as messages (lti_app/translatable.py), said again in each
    # reader's language; step and error_message keep the English (CLI, logs, older rows).
    step_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Touched on every progress step: a run whose heartbeat stops was left by a dead process.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def step_text(self) -> str:
        return Message.from_json(self.step_message) if self.step_message else self.step

    @property
    def error_text(self) -> str | None:
        return Message.from_json(self.error_detail) if self.error_detail else self.error_message

    def set_step(self, step: str) -> None:
        for column, value in step_columns(step).items():
            setattr(self, column, value)

    def set_error(self, message: str) -> None:
        for column, value in error_columns(message).items():
            setattr(self, column, value)


def _kept(text: str) -> dict[str, Any] | None:
    return text.to_json() if isinstance(text, Message) else None


def step_columns(step: str) -> dict[str, Any]:
    """The columns that record a run's step: its English and, for a message, the message
    (for an UPDATE statement; ``SyncRun.set_step`` on a loaded row)."""
    return {"step": str(step)[:255], "step_message": _kept(step)}


def error_columns(message: str) -> dict[str, Any]:
    """The columns that record why a run failed, as :func:`step_columns` does for a step."""
    return {"error_message": str(message), "error_detail": _kept(message)}


class CanvasCourse(CourseRow, Base):
    """A synced Canvas course of one tenant, with its mastery scale."""

    __tablename__ = "canvas_course"
    __table_args__ = (course_unique("uq_canvas_course_platform_course"),)

    # "course_proficiency" (account-level mastery scales on) or "outcome_ratings" (off), as
    # read or inferred at the last sync (lti_app.sync.scale_source).
    scale_source: Mapped[str] = mapped_column(String(32))
    # [{"points", "description", "mastery", "color"}], points descending: what
    # outcome_proficiency answered (even when not in force); None when it had none.
    mastery_scale: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Canvas runs a stored standard_decaying_average as such (root-account feature on).
    new_decaying_average: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sync_run_id: Mapped[int | None] = mapped_column(Integer)
    # The course's name in Canvas (read in sync; None before the first sync that read it).
    name: Mapped[str | None] = mapped_column(String(1024))
    # Canvas's course time zone (IANA name): times are shown in it when the user's is unknown.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # The (sub-)account the course belongs to (a school) with its name and parent, and its
    # enrollment term, as the courses API gives them (include[]=term, account); the district
    # dashboard groups, names, filters and keeps a school admin to their schools by them.
    account_id: Mapped[str | None] = mapped_column(String(64))
    account_name: Mapped[str | None] = mapped_column(String(255))
    account_parent_id: Mapped[str | None] = mapped_column(String(64))
    term_id: Mapped[str | None] = mapped_column(String(64))
    term_name: Mapped[str | None] = mapped_column(String(255))

    @property
    def label(self) -> str:
        """How admin pages name the course: "ELA 7, Period 2 (course 11)"."""
        if self.name:
            return f"{self.name} (course {self.canvas_course_id})"
        return f"course {self.canvas_course_id}"

    outcomes: Mapped[list[CourseOutcome]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )


class CourseOutcome(SyncedRow, Base):
    """A learning target: a Canvas outcome linked into the course, with its group path."""

    __tablename__ = "course_outcome"
    __table_args__ = (
        UniqueConstraint("course_pk", "canvas_outcome_id", name="uq_course_outcome_course_outcome"),
    )

    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(1024))
    display_name: Mapped[str | None] = mapped_column(String(1024))
    description: Mapped[str | None] = mapped_column(Text)
    vendor_guid: Mapped[str | None] = mapped_column(String(255))
    canvas_group_id: Mapped[str] = mapped_column(String(64))
    # Group titles from below the course root down to the outcome's group.
    group_path: Mapped[list[str]] = mapped_column(JSON)
    points_possible: Mapped[float | None] = mapped_column(Float)
    mastery_points: Mapped[float | None] = mapped_column(Float)
    ratings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    calculation_method: Mapped[str | None] = mapped_column(String(64))
    calculation_int: Mapped[int | None] = mapped_column(Integer)
    # Who owns the outcome in Canvas ("Account": the district's own, one target in every
    # course that links it; "Course": this course's own); None before migration 0016's sync.
    context_type: Mapped[str | None] = mapped_column(String(16))
    context_id: Mapped[str | None] = mapped_column(String(64))

    course: Mapped[CanvasCourse] = relationship(back_populates="outcomes")

    @property
    def name(self) -> str:
        """How pages name the target: code and title ("RL.7.2: Theme and summary")."""
        return target_name(self.title, self.display_name)


class CourseAlignment(SyncedRow, Base):
    """What a course's outcome results were scored on, by name (Canvas's ``linked.alignments``
    of the results read in sync, docs/canvas.md §9.2)."""

    __tablename__ = "course_alignment"
    __table_args__ = (
        UniqueConstraint("course_pk", "alignment", name="uq_course_alignment_course_alignment"),
    )

    # Canvas's asset string, as in results' links.alignment ("assignment_53"; docs/canvas.md §1.1)
    alignment: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(1024))


class CourseSection(SyncedRow, Base):
    __tablename__ = "course_section"
    __table_args__ = (
        UniqueConstraint("course_pk", "canvas_section_id", name="uq_course_section_course_section"),
    )

    canvas_section_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(1024))


class CourseGradingPeriod(SyncedRow, Base):
    """One of the course's Canvas grading periods (docs/canvas.md §12), read in sync: the
    progress report offers them as its periods."""

    __tablename__ = "course_grading_period"
    __table_args__ = (
        UniqueConstraint(
            "course_pk", "canvas_grading_period_id", name="uq_course_grading_period_course_period"
        ),
    )

    canvas_grading_period_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(1024))
    start_date: Mapped[datetime] = mapped_column(UTCDateTime())
    end_date: Mapped[datetime] = mapped_column(UTCDateTime())
    close_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    weight: Mapped[float | None] = mapped_column(Float)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)


class CourseStudent(SyncedRow, Base):
    """An active student of the course and the sections they are enrolled in."""

    __tablename__ = "course_student"
    __table_args__ = (
        UniqueConstraint("course_pk", "canvas_user_id", name="uq_course_student_course_user"),
    )

    canvas_user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(1024))
    sortable_name: Mapped[str] = mapped_column(String(1024))
    login_id: Mapped[str | None] = mapped_column(String(255))
    # Canvas section ids, sorted.
    section_ids: Mapped[list[str]] = mapped_column(JSON)


class CourseObserver(SyncedRow, Base):
    """An observer (parent, guardian) linked to a student of the course: one of Canvas's
    active ObserverEnrollments with its ``associated_user_id`` (docs/canvas.md §7.10), as read
    at the last sync. An observer with two children in the course has two rows."""

    __tablename__ = "course_observer"
    __table_args__ = (
        UniqueConstraint("course_pk", "link_key", name="uq_course_observer_course_link"),
        Index("ix_course_observer_course_observer", "course_pk", "observer_user_id"),
    )

    link_key: Mapped[str] = mapped_column(String(130))  # "<observer id>:<student id>"
    observer_user_id: Mapped[str] = mapped_column(String(64))
    student_user_id: Mapped[str] = mapped_column(String(64))


class CourseOutcomeResult(SyncedRow, Base):
    """One Canvas outcome result (LearningOutcomeResult) of a student on an outcome."""

    __tablename__ = "course_outcome_result"
    __table_args__ = (
        UniqueConstraint(
            "course_pk", "canvas_result_id", name="uq_course_outcome_result_course_result"
        ),
        Index("ix_course_outcome_result_course_user", "course_pk", "canvas_user_id"),
        # A learner's evidence across courses (the district record) is read by user.
        Index("ix_course_outcome_result_user_outcome", "canvas_user_id", "canvas_outcome_id"),
    )

    canvas_result_id: Mapped[str] = mapped_column(String(64))
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    alignment: Mapped[str | None] = mapped_column(String(255))
    canvas_assignment_id: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    possible: Mapped[float | None] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)
    mastery: Mapped[bool | None] = mapped_column(Boolean)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_or_assessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # On one of the tool's own carrier assignments: the tool holds that evidence itself,
    # so it is never counted again.
    from_carrier: Mapped[bool] = mapped_column(Boolean, default=False)


class CourseRollup(SyncedRow, Base):
    """Canvas's own Learning Mastery Gradebook score for one student and outcome, as read from
    ``outcome_rollups`` at the last sync (docs/canvas.md §1.8): compared with the tool's own
    Canvas-method score, never used as evidence."""

    __tablename__ = "course_rollup"
    __table_args__ = (
        UniqueConstraint("course_pk", "rollup_key", name="uq_course_rollup_course_key"),
    )

    rollup_key: Mapped[str] = mapped_column(String(130))  # "<user id>:<outcome id>"
    canvas_user_id: Mapped[str] = mapped_column(String(64))
    canvas_outcome_id: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer, default=0)


class CarrierAssignment(CourseRow, Base):
    """A Canvas assignment the tool created to carry written-back results (``lti_app.writeback``).

    One per (course, kind, round): round n carries every student's n-th scored demonstration of
    each target, so each demonstration stays its own Canvas outcome result. ``marker`` is written
    into the assignment's description before the id is known: a worker that died between
    Canvas's answer and the commit finds the assignment again by it instead of creating a twin.
    """

    __tablename__ = "carrier_assignment"
    __table_args__ = (
        course_unique("uq_carrier_assignment_platform_course_assignment", "canvas_assignment_id"),
        course_unique("uq_carrier_assignment_platform_course_kind_round", "kind", "round"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    round: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    marker: Mapped[str] = mapped_column(String(64))
    # None until Canvas has created the assignment (and the tool has recorded it).
    canvas_assignment_id: Mapped[str | None] = mapped_column(String(64))
    rubric_id: Mapped[str | None] = mapped_column(String(64))
    rubric_association_id: Mapped[str | None] = mapped_column(String(64))
    # {canvas_outcome_id: criterion id}, as Canvas answered.
    criteria: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # A digest of the ratings sent: a changed scale or mapping updates the rubric in place.
    ratings_digest: Mapped[str | None] = mapped_column(String(64))
    # When the tool last POSTed the assignment / its rubric without learning the answer (a
    # lost answer may still have created it): until the grace period is over the tool only
    # looks for it and adopts it, never POSTs again (lti_app.writeback.carriers).
    assignment_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rubric_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the tool last had to repair the carrier in Canvas (shown on Sent to Canvas).
    repair_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- queries shared by every reader of synced courses ---------------------------------------


def canvas_id_key(value: str) -> tuple[int, str]:
    """Canvas ids in numeric order (ids are strings; "sis_..."-style ones sort after digits)."""
    return (int(value), "") if value.isdigit() else (0, value)


def outline_key(group_path: list[str], title: str, canvas_outcome_id: str) -> tuple[Any, ...]:
    """Canvas's outline order of learning targets: group path, then title, then id."""
    return (group_path, title.casefold(), canvas_id_key(canvas_outcome_id))


def outcomes_in_outline(db: Session, course_pk: int) -> list[CourseOutcome]:
    """The synced course's learning targets in Canvas's outline order (:func:`outline_key`)."""
    rows = db.scalars(select(CourseOutcome).where(CourseOutcome.course_pk == course_pk)).all()
    return sorted(rows, key=lambda o: outline_key(o.group_path, o.title, o.canvas_outcome_id))


def synced_course(db: Session, platform_id: int, canvas_course_id: str) -> CanvasCourse | None:
    """The platform's course (tenant-scoped) if a sync has completed for it, else None."""
    course = db.scalars(
        select(CanvasCourse).where(
            CanvasCourse.in_course(platform_id, canvas_course_id),
        )
    ).one_or_none()
    return course if course is not None and course.last_synced_at is not None else None
