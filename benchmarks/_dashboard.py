"""The district dashboard's server time, for benchmarks/district.py.

An administrator's launch session is made for the platform the sync filled, then the district
page and one school's page are requested in this process (Flask's test client: server time,
no network) ``rounds`` times each after one warm-up; p50 and p95 are reported. The pages read
the aggregates the after-sync hook built, never the results.

``seed_direct`` writes a generated district (the generator's shape: schools x courses x
students x account outcomes x results) straight into the sync tables of an empty database,
for timing the dashboard at full size without an hour of throttled Canvas reads; then
``refresh`` builds the aggregates as the course syncs would (timed too).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select

from lti_app.db import session_scope
from lti_app.district import aggregate
from lti_app.lti import launch_session
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    CourseOutcomeResult,
    CourseSection,
    CourseStudent,
)
from lti_app.models.district import DistrictCell
from lti_app.models.tenancy import Deployment, Platform

ADMIN_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
TARGET_P50_MS = 300.0


def busiest_platform(app: Flask) -> int:
    with session_scope(app) as db:
        found = db.execute(
            select(CanvasCourse.platform_id, func.count())
            .group_by(CanvasCourse.platform_id)
            .order_by(func.count().desc())
        ).first()
        if found is None:
            raise SystemExit("no synced course in this database")
        return int(found[0])


def refresh(app: Flask, platform_id: int) -> dict[str, float]:
    t0 = time.perf_counter()
    with session_scope(app) as db:
        students = aggregate.refresh_all(db, platform_id)
    return {"students": students, "seconds": round(time.perf_counter() - t0, 2)}


def aggregates_present(app: Flask, platform_id: int) -> bool:
    with session_scope(app) as db:
        return bool(
            db.scalar(
                select(func.count())
                .select_from(DistrictCell)
                .where(DistrictCell.platform_id == platform_id)
            )
        )


def _admin_session(app: Flask, platform_id: int) -> tuple[str, str]:
    with session_scope(app) as db:
        deployment = db.scalars(
            select(Deployment).where(Deployment.platform_id == platform_id)
        ).first()
        if deployment is None:
            deployment = Deployment(platform_id=platform_id, deployment_id="bench:dashboard")
            db.add(deployment)
            db.flush()
        claims = {
            "sub": "bench-admin",
            "name": "Bench Admin",
            "https://purl.imsglobal.org/spec/lti/claim/roles": [ADMIN_ROLE],
            "https://purl.imsglobal.org/spec/lti/claim/custom": {"canvas_user_id": "1"},
        }
        made = launch_session.create(db, deployment, claims, ttl=3600)
        return made.session.id, made.secret


def _school(app: Flask, platform_id: int) -> str:
    with session_scope(app) as db:
        found = db.scalar(
            select(DistrictCell.account_id)
            .where(DistrictCell.platform_id == platform_id)
            .group_by(DistrictCell.account_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        return str(found or "")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_dashboard(app: Flask, platform_id: int, rounds: int = 30) -> dict[str, Any]:
    handle, secret = _admin_session(app, platform_id)
    school = _school(app, platform_id)
    client = app.test_client()
    headers = {launch_session.HEADER: secret}
    out: dict[str, Any] = {"rounds": rounds, "school": school}
    for level, path in (
        ("district", f"/s/{handle}/district"),
        ("school", f"/s/{handle}/district/school/{school}"),
    ):
        times: list[float] = []
        for i in range(rounds + 1):
            t0 = time.perf_counter()
            response = client.get(path, headers=headers, base_url="https://tool.bench")
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code}")
            if i:  # the first request warms caches and connections
                times.append(elapsed)
        out[level] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(_percentile(times, 0.95), 1),
        }
    return out


def seed_direct(
    app: Flask,
    *,
    courses: int,
    students: int,
    outcomes: int,
    results: int,
    schools: int,
    canvas_url: str = "https://district.bench",
) -> int:
    """A generated district written straight into the sync tables; returns its platform id."""
    start = datetime(2026, 8, 24, 15, 0, tzinfo=UTC)
    with session_scope(app) as db:
        platform = Platform(
            issuer=canvas_url,
            client_id="bench",
            auth_login_url=canvas_url + "/a",
            auth_token_url=canvas_url + "/t",
            jwks_url=canvas_url + "/j",
            canvas_url=canvas_url,
        )
        db.add(platform)
        db.flush()
        platform_id = platform.id
    user = 10_000
    result_id = 1
    for c in range(courses):
        with session_scope(app) as db:
            course = CanvasCourse(
                platform_id=platform_id,
                canvas_course_id=str(100 + c),
                scale_source="course_proficiency",
                mastery_scale=None,
                last_synced_at=start + timedelta(weeks=8),
                name=f"Synthetic {c + 1}",
                account_id=str(2 + c % schools),
                term_id="1",
                term_name="Default Term",
            )
            db.add(course)
            db.flush()
            sections = [f"{c}-1", f"{c}-2"]
            db.execute(
                insert(CourseSection),
                [{"course_pk": course.id, "canvas_section_id": s, "name": s} for s in sections],
            )
            db.execute(
                insert(CourseOutcome),
                [
                    {
                        "course_pk": course.id,
                        "canvas_outcome_id": str(500 + o),
                        "title": f"D.{o + 1}",
                        "display_name": f"District target {o + 1}",
                        "description": None,
                        "vendor_guid": None,
                        "canvas_group_id": str(1 + o // 10),
                        "group_path": [f"District strand {o // 10 + 1}"],
                        "points_possible": 4.0,
                        "mastery_points": 3.0,
                        "ratings": [],
                        "calculation_method": "decaying_average",
                        "calculation_int": 65,
                        "context_type": "Account",
                        "context_id": "1",
                    }
                    for o in range(outcomes)
                ],
            )
            roster = []
            rows = []
            for s in range(students):
                uid = str(user)
                user += 1
                roster.append(
                    {
                        "course_pk": course.id,
                        "canvas_user_id": uid,
                        "name": f"Student {uid}",
                        "sortable_name": f"{uid}, Student",
                        "login_id": None,
                        "section_ids": [sections[s % 2]],
                    }
                )
                for o in range(outcomes):
                    for r in range(results):
                        score = float((s * 7 + o * 3 + r * 5 + c) % 9) / 2
                        rows.append(
                            {
                                "course_pk": course.id,
                                "canvas_result_id": str(result_id),
                                "canvas_user_id": uid,
                                "canvas_outcome_id": str(500 + o),
                                "alignment": f"assignment_{r + 1}",
                                "canvas_assignment_id": str(r + 1),
                                "score": score,
                                "possible": 4.0,
                                "percent": score / 4.0,
                                "mastery": score >= 3.0,
                                "hidden": False,
                                "submitted_or_assessed_at": start + timedelta(weeks=r, days=4),
                                "from_carrier": False,
                            }
                        )
                        result_id += 1
            db.execute(insert(CourseStudent), roster)
            db.execute(insert(CourseOutcomeResult), rows)
    return platform_id
