"""Mocked Canvas payloads, built by the sandbox's serializers from sandbox entities.

The sandbox answers with the same functions, so the client's mocked tests and the sandbox
cannot drift apart on shapes. Entities are made with the ids the tests' URLs use (course 12,
section 45, user 812, ...) so every payload is coherent with the request it answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canvas_sandbox import serializers as ser
from canvas_sandbox.rollups import RollupScore
from canvas_sandbox.state import (
    AssessmentRow,
    Enrollment,
    Progress,
    RubricAssessment,
    Section,
    Submission,
    User,
)

BASE = "https://canvas.test"
COURSE = 12
WHEN = datetime(2026, 3, 1, 15, 4, 5, tzinfo=UTC)


def section(section_id: int = 45, name: str | None = None) -> dict[str, Any]:
    return ser.section_json(Section(section_id, COURSE, name or f"Section {section_id}"))


def user(user_id: int = 812, first: str = "Ana", last: str = "Lopez") -> User:
    return User(
        id=user_id,
        name=f"{first} {last}",
        sortable_name=f"{last}, {first}",
        short_name=first,
        lti_id=f"00000000-0000-4000-8000-{user_id:012d}",
        login_id=f"{first[0].lower()}{last.lower()}",
        email=f"{first.lower()}@school.test",
    )


def enrollment(enrollment_id: int = 7, user_id: int = 812, section_id: int = 45) -> dict[str, Any]:
    return ser.enrollment_json(
        Enrollment(enrollment_id, user_id, COURSE, section_id, "StudentEnrollment"),
        BASE,
        1,
        user(user_id),
    )


def progress(
    progress_id: int = 1, state: str = "queued", completion: float = 0.0
) -> dict[str, Any]:
    return ser.progress_json(
        Progress(
            progress_id,
            "Course",
            COURSE,
            5,
            "submissions_update",
            workflow_state=state,
            completion=completion,
        ),
        BASE,
    )


def submission(
    user_id: int = 812, assignment_id: int = 53, rows: dict[str, float] | None = None
) -> dict[str, Any]:
    graded = Submission(9, assignment_id, user_id, workflow_state="graded")
    assessment = None
    if rows is not None:
        assessment = RubricAssessment(
            id=3,
            rubric_id=4,
            rubric_association_id=5,
            user_id=user_id,
            assessor_id=5,
            submission_id=9,
            data={cid: AssessmentRow(points, rating_id=f"r{cid}") for cid, points in rows.items()},
            score=sum(rows.values()),
            assessed_at=WHEN,
        )
    return ser.submission_json(graded, BASE, COURSE, assessment)


def rollup(
    user_id: int, section_id: int, outcome_id: int = 97, score: float = 2.73
) -> dict[str, Any]:
    return ser.user_rollup_json(
        user_id,
        section_id,
        "active",
        [RollupScore(outcome_id, score, 4, "Unit 3 essay", WHEN, False)],
    )


def expired_token() -> dict[str, Any]:
    return ser.invalid_token_json("expired", WHEN)


def revoked_token() -> dict[str, Any]:
    return ser.invalid_token_json("revoked")


def invalid_token() -> dict[str, Any]:
    return ser.invalid_token_json("invalid")


def unauthorized() -> dict[str, Any]:
    return ser.unauthorized_json()


def not_found() -> dict[str, Any]:
    return ser.not_found_json()
