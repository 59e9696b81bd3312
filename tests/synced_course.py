"""A synced Canvas course written straight into the sync tables, for tests of what reads them
(grid, pathways, export, settings preview). The sync itself is tested in tests/sync/.

Results are Canvas rubric results on 0-4 criteria unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from flask import Flask
from sqlalchemy import select

from lti_app.db import session_scope
from lti_app.mastery.calculation import Basis
from lti_app.models.canvas import (
    CanvasCourse,
    CourseObserver,
    CourseOutcome,
    CourseOutcomeResult,
    CourseSection,
    CourseStudent,
)
from lti_app.models.tenancy import Platform
from lti_app.policies.store import builtin_default, save_scale, set_policy
from tests.lti_platform import FakePlatform


@dataclass(frozen=True)
class Target:
    canvas_outcome_id: str
    title: str
    group_path: Sequence[str] = ("Reading",)
    description: str | None = None
    display_name: str | None = None
    context_type: str | None = None  # "Account": a district target shared across courses


@dataclass(frozen=True)
class Result:
    canvas_result_id: str
    canvas_user_id: str
    canvas_outcome_id: str
    score: float
    at: datetime
    from_carrier: bool = False
    hidden: bool = False
    possible: float = 4.0


@dataclass(frozen=True)
class Student:
    canvas_user_id: str
    name: str
    section_ids: Sequence[str] = field(default_factory=tuple)


def platform_id_of(app: Flask, platform: FakePlatform) -> int:
    with app.app_context(), session_scope(app) as db:
        pid: int = db.scalars(
            select(Platform.id).where(Platform.client_id == platform.client_id)
        ).one()
        return pid


def write_course(
    app: Flask,
    platform_id: int,
    course_id: str,
    synced_at: datetime,
    students: Sequence[Student],
    targets: Sequence[Target],
    results: Sequence[Result] = (),
    sections: dict[str, str] | None = None,
    observers: Sequence[tuple[str, str]] = (),
    *,
    name: str | None = None,
    account_id: str | None = None,
    term: tuple[str, str] | None = None,
    account_name: str | None = None,
    account_parent_id: str | None = None,
) -> None:
    """One course as a completed sync leaves it (sections by id -> name; observers as
    (observer id, student id) links; term: id, name)."""
    with app.app_context(), session_scope(app) as db:
        course = CanvasCourse(
            platform_id=platform_id,
            canvas_course_id=course_id,
            scale_source="course_proficiency",
            mastery_scale=None,
            last_synced_at=synced_at,
            name=name,
            account_id=account_id,
            account_name=account_name,
            account_parent_id=account_parent_id,
            term_id=term[0] if term else None,
            term_name=term[1] if term else None,
        )
        db.add(course)
        db.flush()
        for observer, student in observers:
            db.add(
                CourseObserver(
                    course_pk=course.id,
                    link_key=f"{observer}:{student}",
                    observer_user_id=observer,
                    student_user_id=student,
                )
            )
        for sid, name in (sections or {}).items():
            db.add(CourseSection(course_pk=course.id, canvas_section_id=sid, name=name))
        for s in students:
            db.add(
                CourseStudent(
                    course_pk=course.id,
                    canvas_user_id=s.canvas_user_id,
                    name=s.name,
                    sortable_name=", ".join(reversed(s.name.split())),
                    login_id=None,
                    section_ids=list(s.section_ids),
                )
            )
        for t in targets:
            db.add(
                CourseOutcome(
                    course_pk=course.id,
                    canvas_outcome_id=t.canvas_outcome_id,
                    title=t.title,
                    display_name=t.display_name,
                    description=t.description,
                    vendor_guid=None,
                    canvas_group_id=str(len(t.group_path)),
                    group_path=list(t.group_path),
                    points_possible=4.0,
                    mastery_points=3.0,
                    ratings=[],
                    calculation_method="decaying_average",
                    calculation_int=65,
                    context_type=t.context_type,
                )
            )
        for r in results:
            db.add(
                CourseOutcomeResult(
                    course_pk=course.id,
                    canvas_result_id=r.canvas_result_id,
                    canvas_user_id=r.canvas_user_id,
                    canvas_outcome_id=r.canvas_outcome_id,
                    alignment="assignment_53",
                    canvas_assignment_id="53",
                    score=r.score,
                    possible=r.possible,
                    percent=r.score / r.possible,
                    mastery=r.score >= 3.0,
                    hidden=r.hidden,
                    submitted_or_assessed_at=r.at,
                    from_carrier=r.from_carrier,
                )
            )


def store_district_basis(app: Flask, platform_id: int, basis: Basis) -> None:
    """The built-in policy stored as the district's, with ``basis``: tests written for the
    district-level-per-evidence arithmetic keep it explicitly (the default is "as Canvas")."""
    base = builtin_default()
    with app.app_context(), session_scope(app) as db:
        version = save_scale(db, platform_id, base.scale.name, base.scale, has_evidence=False)
        db.flush()
        set_policy(
            db, platform_id, None, version.id, replace(base.policy, basis=basis), base.mapping
        )
