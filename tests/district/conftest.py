"""Courses synced through the real sync service (a scripted Canvas), so the district
aggregates are built by the after-sync hook exactly as in production."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.canvas.client.types import Enrollment, Outcome, OutcomeResult, Rating
from lti_app.db import session_scope
from lti_app.models.district import DistrictCell, DistrictLevel
from lti_app.sync import service
from tests.sync.conftest import platform_id, sync_app
from tests.sync.fakes import ROOT, T0, FakeCanvas, enrollment

RATINGS = (Rating(4.0, "Exceeds"), Rating(3.0, "Meets"), Rating(2.0, "Near"), Rating(0.0, "No"))


def account_outcome(oid: str, title: str) -> Outcome:
    """A district (account) outcome: the same id in every course that links it."""
    return Outcome(oid, title, ratings=RATINGS, context_type="Account", context_id="1")


def course_outcome(oid: str, title: str, course_id: str) -> Outcome:
    return Outcome(oid, title, ratings=RATINGS, context_type="Course", context_id=course_id)


def scored(rid: str, uid: str, oid: str, score: float, weeks: int = 0) -> OutcomeResult:
    return OutcomeResult(
        id=rid,
        user_id=uid,
        outcome_id=oid,
        alignment="assignment_53",
        assignment_id=53,
        score=score,
        possible=4.0,
        percent=score / 4.0,
        mastery=score >= 3.0,
        submitted_or_assessed_at=T0 + timedelta(weeks=weeks),
    )


def canvas_course(
    outcomes: Sequence[Outcome],
    roster: Sequence[Enrollment],
    results: Sequence[OutcomeResult],
    *,
    account_id: str = "2",
    term_id: str = "1",
    name: str = "Course",
) -> FakeCanvas:
    return FakeCanvas(
        outcomes=[(o, ROOT) for o in outcomes],
        groups=[ROOT],
        rosters=[list(roster)],
        results=list(results),
        course_name=name,
        account_id=account_id,
        term_id=term_id,
        term_name=f"Term {term_id}",
        rollups=None,
    )


def sync(app: Flask, platform_id: int, course_id: str, canvas: FakeCanvas) -> None:
    run_id, created = service.create_run(app, platform_id, course_id, "cli")
    assert created
    outcome = service.execute(app, run_id, lambda: canvas)  # type: ignore[arg-type,return-value]
    assert outcome.ok, outcome.error_message


def levels(db: Session, platform_id: int) -> dict[tuple[str, str], tuple[float | None, bool]]:
    return {
        (r.canvas_user_id, r.canvas_outcome_id): (r.level, r.mastered)
        for r in db.scalars(select(DistrictLevel).where(DistrictLevel.platform_id == platform_id))
    }


def cell_count(app: Flask, platform_id: int) -> int:
    with session_scope(app) as db:
        return len(
            db.scalars(select(DistrictCell.id).where(DistrictCell.platform_id == platform_id)).all()
        )


__all__ = ["enrollment", "platform_id", "sync_app"]
