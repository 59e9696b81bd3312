"""Roster model functions: accounts, users, courses, sections, enrollments."""

from __future__ import annotations

import hashlib
import random
import uuid

from canvas_sandbox.state import (
    Account,
    Course,
    Enrollment,
    EnrollmentType,
    SandboxState,
    Section,
    User,
)

# Readable id ranges so a user id is never mistaken for a course id in logs and tests.
USER_IDS_FROM = 101
COURSE_IDS_FROM = 11
SECTION_IDS_FROM = 21
ENROLLMENT_IDS_FROM = 1001


def add_account(state: SandboxState, name: str, parent_id: int | None = None) -> Account:
    with state.lock:
        account = Account(state.next_id("account", 1), name, parent_id)
        account.lti_guid = hashlib.sha1(f"account-{account.id}".encode()).hexdigest()[:40]  # noqa: S324
        state.accounts[account.id] = account
        return account


def add_user(
    state: SandboxState,
    first: str,
    last: str,
    *,
    rng: random.Random,
    short_name: str | None = None,
    sis_prefix: str = "S",
) -> User:
    with state.lock:
        user_id = state.next_id("user", USER_IDS_FROM)
        login = f"{first[0]}{last}".lower().replace(" ", "").replace("'", "")
        user = User(
            id=user_id,
            name=f"{first} {last}",
            sortable_name=f"{last}, {first}",
            short_name=short_name or f"{first} {last}",
            lti_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            login_id=f"{login}{user_id}",
            email=f"{login}{user_id}@riverside.example.edu",
            sis_user_id=f"{sis_prefix}{user_id:06d}",
        )
        state.users[user.id] = user
        return user


def add_course(
    state: SandboxState, account_id: int, name: str, course_code: str, *, seed: int = 0
) -> Course:
    with state.lock:
        course_id = state.next_id("course", COURSE_IDS_FROM)
        course = Course(
            course_id,
            account_id,
            name,
            course_code,
            lti_context_id=hashlib.sha1(f"course-{course_id}-{seed}".encode()).hexdigest(),  # noqa: S324
            sis_course_id=f"{course_code}-2026",
        )
        state.courses[course.id] = course
        return course


def add_section(state: SandboxState, course_id: int, name: str) -> Section:
    with state.lock:
        section_id = state.next_id("section", SECTION_IDS_FROM)
        section = Section(section_id, course_id, name, sis_section_id=f"SEC-{section_id}")
        state.sections[section.id] = section
        return section


def enroll(
    state: SandboxState,
    user_id: int,
    section_id: int,
    type_: EnrollmentType,
    *,
    associated_user_id: int | None = None,
) -> Enrollment:
    with state.lock:
        section = state.sections[section_id]
        enrollment = Enrollment(
            state.next_id("enrollment", ENROLLMENT_IDS_FROM),
            user_id,
            section.course_id,
            section_id,
            type_,
            associated_user_id=associated_user_id,
        )
        state.enrollments[enrollment.id] = enrollment
        return enrollment


def observe(state: SandboxState, observer_id: int, student_id: int, course_id: int) -> Enrollment:
    """Link an observer to a student in a course as Canvas does: an ObserverEnrollment with
    ``associated_user_id``, in the student's section (canvas-lms
    ``UserObservationLink#create_linked_enrollment_for``)."""
    with state.lock:
        section_id = next(
            e.section_id
            for e in sorted(state.enrollments_in(course_id), key=lambda e: e.id)
            if e.user_id == student_id and e.type == "StudentEnrollment"
        )
    return enroll(
        state, observer_id, section_id, "ObserverEnrollment", associated_user_id=student_id
    )
