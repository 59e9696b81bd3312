"""The sandbox's in-memory Canvas: the roster entities and the container that holds everything.

One ``SandboxState`` per sandbox process, guarded by one re-entrant lock (the sandbox serves
threaded requests; Canvas's own consistency is not what is being tested). Ids come from one
counter per kind, starting where a real Canvas shard would not collide with the demo's
readable numbers. Further entity kinds (outcomes, rubrics, results, developer keys...) live in
their own modules and register their tables here as plain dicts keyed by id.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

EnrollmentType = Literal["StudentEnrollment", "TeacherEnrollment", "TaEnrollment"]


@dataclass
class Account:
    id: int
    name: str
    parent_account_id: int | None = None
    lti_guid: str = ""
    # Feature flags that change Canvas semantics (reference §3.4/§3.5).
    account_level_mastery_scales: bool = True
    new_decaying_average: bool = True


@dataclass
class User:
    id: int
    name: str
    sortable_name: str
    short_name: str
    lti_id: str  # the LTI 1.3 ``sub``: a UUID, never the Canvas id
    login_id: str
    email: str
    account_admin_of: list[int] = field(default_factory=list)


@dataclass
class Course:
    id: int
    account_id: int
    name: str
    course_code: str
    lti_context_id: str  # opaque hash, as Canvas sends in the context claim
    workflow_state: str = "available"


@dataclass
class Section:
    id: int
    course_id: int
    name: str


@dataclass
class Enrollment:
    id: int
    user_id: int
    course_id: int
    section_id: int
    type: EnrollmentType
    workflow_state: str = "active"


@dataclass
class SandboxState:
    """Everything the sandbox knows. Modules add their own tables via ``table(name)``."""

    accounts: dict[int, Account] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    sections: dict[int, Section] = field(default_factory=dict)
    enrollments: dict[int, Enrollment] = field(default_factory=dict)
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _counters: dict[str, Iterator[int]] = field(default_factory=dict, repr=False)

    def next_id(self, kind: str, start: int = 1) -> int:
        with self.lock:
            if kind not in self._counters:
                self._counters[kind] = itertools.count(start)
            return next(self._counters[kind])

    def table(self, name: str) -> dict[Any, Any]:
        with self.lock:
            return self.tables.setdefault(name, {})

    # Roster queries every part of the sandbox needs.
    def enrollments_in(self, course_id: int) -> list[Enrollment]:
        return [e for e in self.enrollments.values() if e.course_id == course_id]

    def students_of(self, course_id: int) -> list[User]:
        ids = {
            e.user_id
            for e in self.enrollments_in(course_id)
            if e.type == "StudentEnrollment" and e.workflow_state == "active"
        }
        return sorted((self.users[i] for i in ids), key=lambda u: (u.sortable_name, u.id))

    def course_roles(self, course_id: int, user_id: int) -> set[EnrollmentType]:
        return {
            e.type
            for e in self.enrollments_in(course_id)
            if e.user_id == user_id and e.workflow_state == "active"
        }
