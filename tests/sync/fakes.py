"""A scripted stand-in for CanvasClient's reads, built from the Canvas client's types (for unit
tests of fetch and of the sync service without HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lti_app.canvas.client.errors import PermissionDenied, ValidationFailed
from lti_app.canvas.client.types import (
    Alignment,
    CanvasUser,
    Enrollment,
    GradingPeriod,
    Linked,
    Outcome,
    OutcomeGroup,
    OutcomeLink,
    OutcomeResult,
    OutcomeResultsPage,
    Proficiency,
    Rating,
    Rollup,
    Section,
)

T0 = datetime(2026, 3, 1, 15, 4, 5, tzinfo=UTC)
ROOT = OutcomeGroup("1", "Algebra I", None)
READING = OutcomeGroup("5", "Reading", "1")
LITERATURE = OutcomeGroup("6", "Literature", "5")


def user(uid: str, name: str) -> CanvasUser:
    first, last = name.split(" ", 1)
    return CanvasUser(uid, name, f"{last}, {first}", first, None)


def enrollment(uid: str, name: str, section: str = "45") -> Enrollment:
    return Enrollment(
        f"e{uid}{section}", uid, section, "StudentEnrollment", "active", user(uid, name)
    )


def result(rid: str, uid: str, oid: str, assignment: int = 53, score: float = 3.0) -> OutcomeResult:
    return OutcomeResult(
        id=rid,
        user_id=uid,
        outcome_id=oid,
        alignment=f"assignment_{assignment}",
        assignment_id=assignment,
        score=score,
        possible=4.0,
        percent=score / 4.0,
        mastery=score >= 3.0,
        submitted_or_assessed_at=T0,
    )


@dataclass
class FakeCanvas:
    outcomes: list[tuple[Outcome, OutcomeGroup]] = field(
        default_factory=lambda: [
            (
                Outcome("97", "RL.3.2", ratings=(Rating(4.0, "Exceeds"), Rating(3.0, "Meets"))),
                LITERATURE,
            ),
            (Outcome("98", "RL.3.3"), READING),
            (Outcome("99", "W.3.1"), ROOT),
        ]
    )
    groups: list[OutcomeGroup] = field(default_factory=lambda: [ROOT, READING, LITERATURE])
    proficiency: Proficiency | None = field(
        default_factory=lambda: Proficiency(
            (
                Rating(4.0, "Exceeds Mastery", False, "0374B5"),
                Rating(3.0, "Mastery", True, "0B874B"),
            )
        )
    )
    section_rows: list[Section] = field(
        default_factory=lambda: [Section("45", "Period 1", "12"), Section("46", "Period 2", "12")]
    )
    rosters: list[list[Enrollment]] = field(
        default_factory=lambda: [
            [
                enrollment("812", "Ada Lovelace"),
                enrollment("813", "Alan Turing"),
                enrollment("813", "Alan Turing", "46"),
            ]
        ]
    )
    # Canvas's active ObserverEnrollments of the course (associated_user_id: the student)
    observers: list[Enrollment] = field(default_factory=list)
    results: list[OutcomeResult] = field(
        default_factory=lambda: [
            result("4711", "812", "97"),
            result("4712", "813", "97", score=2.0),
            result("4713", "812", "98", assignment=60, score=4.0),
        ]
    )
    page_size: int = 2
    # None: the key lacks the grading periods scope (401 "Insufficient scopes").
    periods: list[GradingPeriod] | None = field(
        default_factory=lambda: [
            GradingPeriod("7", "Quarter 1", T0, T0 + timedelta(weeks=9), is_closed=True),
            GradingPeriod("8", "Quarter 2", T0 + timedelta(weeks=9), T0 + timedelta(weeks=18)),
        ]
    )
    course_name: str = "Algebra I – Period 3"
    # The course's sub-account and term, as the courses API gives them with include[]=term.
    account_id: str | None = None
    account_name: str | None = None
    term_id: str | None = None
    term_name: str | None = None
    # linked.alignments names per asset string (sent when include[]=alignments is asked for)
    alignment_names: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # Called before each results page is served (to change the course mid-read).
    on_page: Callable[[FakeCanvas, int], None] | None = None
    fail_on: str | None = None
    error: Exception | None = None
    # user_ids[] each results read asked for (None: the whole course)
    result_user_ids: list[frozenset[str] | None] = field(default_factory=list)
    # Canvas answers 400 when user_ids[] names someone no longer a student (docs/canvas.md §1.3).
    not_a_student: str | None = None
    # The root account's enabled features; None: the token may not read them.
    flags: frozenset[str] | None = frozenset({"account_level_mastery_scales"})
    # Canvas's own rollups; None: the token may not read them (an older key's scopes).
    rollups: list[Rollup] | None = field(default_factory=list)
    # include_hidden each results read asked for
    hidden_asked: list[bool] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_on == name and self.error is not None:
            raise self.error

    def course(self, course_id: str) -> dict[str, object]:
        self._call("course")
        return {
            "id": course_id,
            "name": self.course_name,
            "course_code": "",
            "root_account_id": "1",
            "account_id": self.account_id,
            "account_name": self.account_name,
            "term_id": self.term_id,
            "term_name": self.term_name,
        }

    def outcome_links(self, course_id: str) -> list[OutcomeLink]:
        self._call("outcome_links")
        return [OutcomeLink(o, g, course_id, "Course") for o, g in self.outcomes]

    def outcome_groups(self, course_id: str) -> list[OutcomeGroup]:
        self._call("outcome_groups")
        return list(self.groups)

    def course_proficiency(self, course_id: str) -> Proficiency | None:
        self._call("course_proficiency")
        return self.proficiency

    def sections(self, course_id: str) -> list[Section]:
        self._call("sections")
        return list(self.section_rows)

    def student_enrollments(self, course_id: str) -> list[Enrollment]:
        self._call("student_enrollments")
        roster = self.rosters[0]
        if len(self.rosters) > 1:
            self.rosters.pop(0)
        return list(roster)

    def observer_enrollments(self, course_id: str) -> list[Enrollment]:
        self._call("observer_enrollments")
        return list(self.observers)

    def outcome_results_pages(
        self,
        course_id: str,
        *,
        include_hidden: bool = False,
        user_ids: Iterable[str] | None = None,
        include: Sequence[str] = (),
    ) -> Iterator[OutcomeResultsPage]:
        self._call("outcome_results")
        self.hidden_asked.append(include_hidden)
        wanted = frozenset(user_ids) if user_ids is not None else None
        self.result_user_ids.append(wanted)
        if wanted is not None and self.not_a_student in wanted:
            raise ValidationFailed(
                "can only include id's of users in the outcome context", status=400
            )
        offset = 0
        page = 0
        while True:
            if self.on_page is not None:
                self.on_page(self, page)
            rows = [
                r
                for r in self.results
                if (wanted is None or r.user_id in wanted) and (include_hidden or not r.hidden)
            ]
            chunk = rows[offset : offset + self.page_size]
            if not chunk:
                return
            linked = Linked(
                alignments=tuple(
                    Alignment(id=a, name=self.alignment_names[a])
                    for a in sorted({r.alignment for r in chunk if r.alignment})
                    if a in self.alignment_names
                )
                if "alignments" in include
                else ()
            )
            yield OutcomeResultsPage(tuple(chunk), linked)
            offset += self.page_size
            page += 1

    def root_account_features(self, account_id: str) -> frozenset[str] | None:
        self._call("root_account_features")
        assert account_id == "1"
        return self.flags

    def grading_periods(self, course_id: str) -> list[GradingPeriod]:
        self._call("grading_periods")
        if self.periods is None:
            raise PermissionDenied("Insufficient scopes on access token.", status=401)
        return list(self.periods)

    def outcome_rollups(self, course_id: str) -> list[Rollup]:
        self._call("outcome_rollups")
        if self.rollups is None:
            raise PermissionDenied("Insufficient scopes on access token.", status=401)
        return list(self.rollups)
