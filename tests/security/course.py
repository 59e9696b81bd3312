"""A seeded course and real signed launches for the security tests.

One synced course (two students, two targets) with a demonstration in every reviewable state,
launched as a teacher, a student and a district admin: every route then has real records,
a real session handle and a real CSRF token to be attacked with.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from lti_app.db import session_scope
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery.pathways import Role
from lti_app.pathways import service as svc
from tests.conftest import LtiBrowser
from tests.lti_platform import ADMIN, INSTRUCTOR, LEARNER, LIS, SYSTEM_USER
from tests.pathways.conftest import AVA, BEN, COURSE, PARENT, RL, W, seed_course
from tests.synced_course import platform_id_of

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
ROLES = {
    "teacher": [INSTRUCTOR],
    "student": [LEARNER],
    "admin": [ADMIN, SYSTEM_USER],
    "observer": [LIS + "membership#Mentor", SYSTEM_USER],
}


@dataclass(frozen=True)
class Launched:
    handle: str
    csrf: str


@dataclass(frozen=True)
class Course:
    platform_id: int
    demos: dict[str, int]
    """What Ava (the launched student) and Ben have handed in, by state."""


def seed(app: Flask, platform: Any) -> Course:
    pid = platform_id_of(app, platform)
    seed_course(app, pid, observers=((PARENT, AVA),))  # Ava's parent, an observer
    with app.app_context(), session_scope(app) as db:
        ava = svc.CourseContext(pid, COURSE, AVA, Role.STUDENT)
        ben = svc.CourseContext(pid, COURSE, BEN, Role.STUDENT)
        teacher = svc.CourseContext(pid, COURSE, "900", Role.TEACHER)
        proposal = svc.choose(db, ava, RL, "proposal")
        svc.propose(db, ava, proposal.id, "A comic strip about the theme")
        submitted = svc.choose(db, ben, RL, "project")
        svc.submit(db, ben, submitted.id, "My model", "https://ben.example/model")
        scored = svc.choose(db, ava, W, "test")
        svc.submit(db, ava, scored.id, "Done", "")
        svc.score(db, teacher, scored.id, "2")
        demos = {"proposal": proposal.id, "submitted": submitted.id, "scored": scored.id}
    return Course(pid, demos)


def as_user(user_id: str) -> Callable[[dict[str, Any]], None]:
    def mutate(claims: dict[str, Any]) -> None:
        claims[CUSTOM]["canvas_user_id"] = user_id

    return mutate


def launch(browser: LtiBrowser, role: str) -> Launched:
    """A real RS256 launch; the session handle and CSRF token from the landing page."""
    user = {"teacher": "900", "observer": PARENT}.get(role, AVA)
    response = browser.launch(roles=ROLES[role], mutate=as_user(user))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    handle = re.findall(r'action="/s/([A-Za-z0-9_-]+)/sign-out"', html)[0]
    csrf = re.findall(rf'name="{CSRF_FIELD}" value="([^"]+)"', html)[0]
    return Launched(handle, csrf)
