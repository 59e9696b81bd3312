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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from canvas_sandbox.config import DEFAULT_RESULT_DELAY_MS

EnrollmentType = Literal[
    "StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "ObserverEnrollment"
]


@dataclass
class Account:
    id: int
    name: str
    parent_account_id: int | None = None
    lti_guid: str = ""
    # Feature flags that change Canvas semantics (docs/canvas.md §6.8).
    account_level_mastery_scales: bool = True
    new_decaying_average: bool = True
    outcome_extra_credit: bool = False
    # Account-level mastery scale and calculation method (None: inherit / built-in default).
    proficiency: list[ProficiencyRating] | None = None
    calculation: CalculationMethod | None = None


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
    sis_user_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))
    locale: str | None = None
    """The user's own language setting (User#locale); None: the default, English."""


@dataclass
class Course:
    id: int
    account_id: int
    name: str
    course_code: str
    lti_context_id: str  # opaque hash, as Canvas sends in the context claim
    workflow_state: str = "available"
    sis_course_id: str | None = None
    # The course's default post policy; new assignments copy it (PostPolicy).
    post_manually: bool = False
    proficiency: list[ProficiencyRating] | None = None
    calculation: CalculationMethod | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))


@dataclass
class Section:
    id: int
    course_id: int
    name: str
    sis_section_id: str | None = None


@dataclass
class Enrollment:
    id: int
    user_id: int
    course_id: int
    section_id: int
    type: EnrollmentType
    workflow_state: str = "active"
    # An ObserverEnrollment's observed student: Canvas gives an observer one enrollment per
    # student observed in the course, each in that student's section (docs/canvas.md §7.10).
    associated_user_id: int | None = None


# --- Mastery scales and calculation methods (docs/canvas.md §2, §6.6, §6.7) --------------


@dataclass
class ProficiencyRating:
    description: str
    points: float
    mastery: bool
    color: str  # hex without '#'


@dataclass
class CalculationMethod:
    method: str
    int_value: int | None = None


# --- Outcomes (docs/canvas.md §6) -----------------------------------------------------------


@dataclass
class OutcomeRating:
    description: str
    points: float


@dataclass
class Outcome:
    id: int
    context_type: str | None  # "Account", "Course" or None (global)
    context_id: int | None
    title: str
    display_name: str | None = None
    description: str = ""
    vendor_guid: str | None = None
    mastery_points: float = 3.0
    ratings: list[OutcomeRating] = field(default_factory=list)
    calculation_method: str | None = "decaying_average"
    calculation_int: int | None = 65
    workflow_state: str = "active"

    @property
    def points_possible(self) -> float:
        return max((r.points for r in self.ratings), default=0.0)


@dataclass
class OutcomeGroup:
    id: int
    context_type: str | None
    context_id: int | None
    title: str
    parent_id: int | None = None  # None: the context's root group
    description: str = ""
    vendor_guid: str | None = None
    workflow_state: str = "active"


@dataclass
class OutcomeLink:
    """A ContentTag linking an outcome into a group of a context."""

    id: int
    context_type: str
    context_id: int
    group_id: int
    outcome_id: int
    workflow_state: str = "active"


@dataclass
class Alignment:
    """A ContentTag aligning an outcome to an assignment (asset string ``assignment_<id>``)."""

    id: int
    course_id: int
    outcome_id: int
    assignment_id: int
    workflow_state: str = "active"

    @property
    def asset_string(self) -> str:
        return f"assignment_{self.assignment_id}"


# --- Assignments, rubrics, submissions (docs/canvas.md §3) ---------------------------------


@dataclass
class Assignment:
    id: int
    course_id: int
    name: str
    points_possible: float = 0.0
    grading_type: str = "points"
    submission_types: list[str] = field(default_factory=lambda: ["none"])
    published: bool = True
    omit_from_final_grade: bool = False
    due_at: datetime | None = None
    description: str = ""
    position: int = 1
    assignment_group_id: int = 1
    created_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))
    workflow_state: str = "published"
    post_manually: bool = False  # the assignment's PostPolicy
    # A New Quiz (quiz_lti): its outcome results live in the Outcomes Service.
    new_quiz: bool = False


@dataclass
class RubricRating:
    id: str
    description: str
    points: float
    criterion_id: str
    long_description: str = ""


@dataclass
class RubricCriterion:
    id: str
    description: str
    points: float
    ratings: list[RubricRating]
    long_description: str = ""
    learning_outcome_id: int | None = None
    mastery_points: float | None = None
    ignore_for_scoring: bool = False
    criterion_use_range: bool = False


@dataclass
class Rubric:
    id: int
    context_type: str
    context_id: int
    title: str
    criteria: list[RubricCriterion]
    points_possible: float = 0.0
    free_form_criterion_comments: bool = False
    hide_score_total: bool = False
    user_id: int | None = None
    workflow_state: str = "active"
    created_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))


@dataclass
class RubricAssociation:
    id: int
    rubric_id: int
    association_type: str  # "Assignment" or "Course"
    association_id: int
    context_type: str
    context_id: int
    purpose: str = "grading"
    use_for_grading: bool = False
    hide_score_total: bool = False
    hide_points: bool = False
    hide_outcome_results: bool = False
    title: str = ""
    bookmarked: bool = True
    workflow_state: str = "active"


@dataclass
class Submission:
    id: int
    assignment_id: int
    user_id: int
    attempt: int | None = None
    submitted_at: datetime | None = None
    score: float | None = None
    grade: str | None = None
    graded_at: datetime | None = None
    grader_id: int | None = None
    workflow_state: str = "unsubmitted"
    posted_at: datetime | None = None


@dataclass
class AssessmentRow:
    points: float | None
    rating_id: str | None = None
    description: str | None = None
    comments: str = ""


@dataclass
class RubricAssessment:
    id: int
    rubric_id: int
    rubric_association_id: int
    user_id: int
    assessor_id: int
    submission_id: int
    data: dict[str, AssessmentRow]  # criterion id -> row
    score: float
    assessed_at: datetime
    assessment_type: str = "grading"


@dataclass
class LearningOutcomeResult:
    id: int
    course_id: int
    user_id: int
    outcome_id: int
    alignment_id: int
    association_id: int  # the rubric association
    assignment_id: int
    title: str
    score: float | None
    possible: float
    percent: float | None
    mastery: bool | None
    submitted_at: datetime | None
    assessed_at: datetime
    attempt: int = 1
    hide_points: bool = False
    hidden: bool = False
    workflow_state: str = "active"
    # A New Quizzes result merged from the Outcomes Service: serialized with "id": null.
    from_outcomes_service: bool = False

    @property
    def submitted_or_assessed_at(self) -> datetime:
        return self.submitted_at or self.assessed_at


@dataclass
class PendingResult:
    """An outcome result whose (simulated) delayed job has not run yet (docs/canvas.md §3.4)."""

    due: datetime
    result: LearningOutcomeResult


@dataclass
class Progress:
    id: int
    context_type: str
    context_id: int
    user_id: int
    tag: str
    workflow_state: str = "queued"
    completion: float = 0.0
    message: str | None = None
    results: Any = None
    created_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))
    updated_at: datetime = field(default_factory=lambda: datetime(2026, 8, 1, 12, tzinfo=UTC))


# --- OAuth2 (docs/canvas.md §4.2, §4.8) ------------------------------------------------------


@dataclass
class ApiDeveloperKey:
    id: int
    client_id: str
    secret: str
    redirect_uri: str
    name: str
    scopes: list[str] = field(default_factory=list)  # empty: the key does not enforce scopes
    allow_includes: bool = False  # "Allow Include Parameters" on a scoped key
    workflow_state: str = "active"


@dataclass
class AccessToken:
    id: int
    user_id: int
    token_hash: str
    expires_at: datetime | None
    developer_key_id: int | None = None
    refresh_hash: str | None = None
    scopes: list[str] = field(default_factory=list)
    revoked: bool = False


@dataclass
class AuthCode:
    code_hash: str
    client_id: str
    user_id: int
    redirect_uri: str
    scopes: list[str]
    expires_at: datetime
    used: bool = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SandboxState:
    """Everything the sandbox knows. Modules add their own tables via ``table(name)``."""

    accounts: dict[int, Account] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    courses: dict[int, Course] = field(default_factory=dict)
    sections: dict[int, Section] = field(default_factory=dict)
    enrollments: dict[int, Enrollment] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    outcome_groups: dict[int, OutcomeGroup] = field(default_factory=dict)
    outcome_links: dict[int, OutcomeLink] = field(default_factory=dict)
    alignments: dict[int, Alignment] = field(default_factory=dict)
    # (course id, assignment id, outcome id) -> alignment id, for the hot assessment path.
    alignment_keys: dict[tuple[int, int, int], int] = field(default_factory=dict)
    assignments: dict[int, Assignment] = field(default_factory=dict)
    rubrics: dict[int, Rubric] = field(default_factory=dict)
    rubric_associations: dict[int, RubricAssociation] = field(default_factory=dict)
    submissions: dict[int, Submission] = field(default_factory=dict)
    assessments: dict[int, RubricAssessment] = field(default_factory=dict)
    results: dict[int, LearningOutcomeResult] = field(default_factory=dict)
    # (alignment id, association id, user id) -> result id: one result per triple
    # (docs/canvas.md §3.12).
    result_keys: dict[tuple[int, int, int], int] = field(default_factory=dict)
    # Bumped whenever results are written or deleted; keys the outcome_results page cache.
    result_generation: int = 0
    result_cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    pending_results: list[PendingResult] = field(default_factory=list)
    progresses: dict[int, Progress] = field(default_factory=dict)
    api_keys: dict[int, ApiDeveloperKey] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)  # by token hash
    refresh_tokens: dict[str, int] = field(default_factory=dict)  # refresh hash -> token id
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)  # by code hash
    # How long the simulated delayed job takes to write outcome results (docs/canvas.md §3.4).
    result_delay_ms: int = DEFAULT_RESULT_DELAY_MS
    # The sandbox's clock; tests and the seed replace it to travel in time.
    clock: Callable[[], datetime] = field(default=_utcnow, repr=False)
    tables: dict[str, dict[Any, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _counters: dict[str, Iterator[int]] = field(default_factory=dict, repr=False)

    def next_id(self, kind: str, start: int = 1) -> int:
        with self.lock:
            if kind not in self._counters:
                self._counters[kind] = itertools.count(start)
            return next(self._counters[kind])

    def now(self) -> datetime:
        return self.clock()

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

    def is_admin(self, user_id: int, account_id: int) -> bool:
        """An admin of the account or of an account above it: Canvas account roles apply
        to every sub-account below (canvas-lms ``Account#account_users_for`` walks
        ``Account#account_chain``; docs/canvas.md §11.1)."""
        user = self.users.get(user_id)
        if user is None or not user.account_admin_of:
            return False
        current: int | None = account_id
        for _ in range(50):  # chains are short; a cycle must not hang the sandbox
            if current is None or current not in self.accounts:
                return False
            if current in user.account_admin_of:
                return True
            current = self.accounts[current].parent_account_id
        return False

    def can_manage_grades(self, course_id: int, user_id: int) -> bool:
        """Teachers, TAs and admins of the course's account (docs/canvas.md §1.3)."""
        course = self.courses.get(course_id)
        if course is None:
            return False
        roles = self.course_roles(course_id, user_id)
        return bool(roles & {"TeacherEnrollment", "TaEnrollment"}) or self.is_admin(
            user_id, course.account_id
        )

    def is_student(self, course_id: int, user_id: int) -> bool:
        return "StudentEnrollment" in self.course_roles(course_id, user_id)
