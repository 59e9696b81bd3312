"""Course role comes from membership (context) roles only (docs/lti.md §4.2)."""

from __future__ import annotations

import pytest

from lti_app.lti.roles import CourseRole, classify
from tests.lti_platform import (
    ADMIN,
    INSTITUTION_INSTRUCTOR,
    INSTITUTION_STUDENT,
    INSTRUCTOR,
    LEARNER,
    LIS,
    SYSTEM_USER,
    TA,
)

CASES = [
    (
        "canvas teacher",
        [INSTRUCTOR, INSTITUTION_INSTRUCTOR, SYSTEM_USER],
        CourseRole.INSTRUCTOR,
        False,
    ),
    ("canvas TA", [INSTRUCTOR, TA, SYSTEM_USER], CourseRole.TEACHING_ASSISTANT, False),
    ("canvas student", [LEARNER, INSTITUTION_STUDENT, SYSTEM_USER], CourseRole.LEARNER, False),
    # A teacher elsewhere who is a student here: institution Instructor grants nothing.
    ("student who teaches elsewhere", [LEARNER, INSTITUTION_INSTRUCTOR], CourseRole.LEARNER, False),
    ("institution instructor only", [INSTITUTION_INSTRUCTOR, SYSTEM_USER], CourseRole.NONE, False),
    ("system user only", [SYSTEM_USER], CourseRole.NONE, False),
    ("short names", ["Instructor"], CourseRole.INSTRUCTOR, False),
    ("short learner", ["Learner"], CourseRole.LEARNER, False),
    ("short TA", ["TeachingAssistant"], CourseRole.TEACHING_ASSISTANT, False),
    ("observer", [LIS + "membership#Mentor", SYSTEM_USER], CourseRole.OBSERVER, False),
    ("short observer", ["Mentor"], CourseRole.OBSERVER, False),
    # Canvas's institution Mentor (an observer somewhere) says nothing about this course.
    ("institution mentor only", [LIS + "institution/person#Mentor"], CourseRole.NONE, False),
    ("student who observes too", [LEARNER, LIS + "membership#Mentor"], CourseRole.LEARNER, False),
    (
        "teacher who observes too",
        [INSTRUCTOR, LIS + "membership#Mentor"],
        CourseRole.INSTRUCTOR,
        False,
    ),
    ("designer", [LIS + "membership#ContentDeveloper"], CourseRole.NONE, False),
    ("unknown", [LIS + "unknown/unknown#Helper"], CourseRole.NONE, False),
    ("empty string", [""], CourseRole.NONE, False),
    ("none", [], CourseRole.NONE, False),
    ("account admin in a course", [ADMIN, SYSTEM_USER], CourseRole.NONE, True),
    ("admin who teaches here", [ADMIN, INSTRUCTOR], CourseRole.INSTRUCTOR, True),
    ("system admin", [LIS + "system/person#Administrator"], CourseRole.NONE, True),
    (
        "test student",
        [LEARNER, "http://purl.imsglobal.org/vocab/lti/system/person#TestUser"],
        CourseRole.LEARNER,
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "roles", "course_role", "is_admin"), CASES, ids=[c[0] for c in CASES]
)
def test_classify(case: str, roles: list[str], course_role: CourseRole, is_admin: bool) -> None:
    result = classify(roles)
    assert result.course_role is course_role
    assert result.is_admin is is_admin


def test_only_instructor_and_ta_are_teachers() -> None:
    assert {r for r in CourseRole if r.is_teacher} == {
        CourseRole.INSTRUCTOR,
        CourseRole.TEACHING_ASSISTANT,
    }
