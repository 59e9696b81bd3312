"""Frozen results parsed from real Canvas JSON shapes (docs/canvas.md §1-4).

Ids are strings everywhere (Canvas sends numbers at the top level and strings inside `links`).
Optional or version-dependent fields are tolerated as absent; anything of the wrong type raises
`BadPayload`, so garbage never travels further as half-parsed data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lti_app.canvas.client.errors import BadPayload

JsonObj = Mapping[str, Any]


# --- field readers -----------------------------------------------------------------------


def _obj(value: object, what: str) -> JsonObj:
    if not isinstance(value, Mapping):
        raise BadPayload(f"Canvas sent an unexpected {what} (not an object)")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"Canvas sent an unexpected {what} (not a list)")
    return value


def _id(value: object, what: str) -> str:
    # bool is an int subclass; an id of `true` is garbage, not 1.
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise BadPayload(f"Canvas sent an unexpected {what} id")
    return str(value)


def _opt_id(value: object, what: str) -> str | None:
    return None if value is None else _id(value, what)


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BadPayload(f"Canvas sent an unexpected {what} (not a string)")
    return value


def _opt_str(value: object, what: str) -> str | None:
    return None if value is None else _str(value, what)


def _opt_float(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadPayload(f"Canvas sent an unexpected {what} (not a number)")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):  # string-ids mode and some old endpoints quote numbers
        try:
            return float(value)
        except ValueError:
            pass
    raise BadPayload(f"Canvas sent an unexpected {what} (not a number)")


def _float(value: object, what: str) -> float:
    number = _opt_float(value, what)
    if number is None:
        raise BadPayload(f"Canvas sent no {what}")
    return number


def _opt_int(value: object, what: str) -> int | None:
    number = _opt_float(value, what)
    if number is None:
        return None
    if number != int(number):
        raise BadPayload(f"Canvas sent an unexpected {what} (not an integer)")
    return int(number)


def _opt_bool(value: object, what: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise BadPayload(f"Canvas sent an unexpected {what} (not a boolean)")


def _bool(value: object, what: str, default: bool = False) -> bool:
    parsed = _opt_bool(value, what)
    return default if parsed is None else parsed


def _opt_time(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    text = _str(value, what)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadPayload(f"Canvas sent an unexpected {what} (not an ISO time)") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_ASSIGNMENT_ASSET = re.compile(r"assignment_(\d+)")


def assignment_id_of(asset_string: str | None) -> int | None:
    """The assignment id in an asset string such as "assignment_53"; None for other kinds."""
    if asset_string is None:
        return None
    match = _ASSIGNMENT_ASSET.fullmatch(asset_string)
    return int(match.group(1)) if match else None


# --- users and roster ----------------------------------------------------------------------


@dataclass(frozen=True)
class CanvasUser:
    id: str
    name: str
    sortable_name: str
    short_name: str
    login_id: str | None = None


def parse_user(data: object) -> CanvasUser:
    d = _obj(data, "user")
    name = _str(d.get("name"), "user name")
    return CanvasUser(
        id=_id(d.get("id"), "user"),
        name=name,
        # linked.users of outcome results carry display_name instead of short_name
        sortable_name=_opt_str(d.get("sortable_name"), "sortable name") or name,
        short_name=_opt_str(d.get("short_name"), "short name")
        or _opt_str(d.get("display_name"), "display name")
        or name,
        login_id=_opt_str(d.get("login_id"), "login id"),
    )


@dataclass(frozen=True)
class Section:
    id: str
    name: str
    course_id: str


def parse_section(data: object) -> Section:
    d = _obj(data, "section")
    return Section(
        id=_id(d.get("id"), "section"),
        name=_str(d.get("name"), "section name"),
        course_id=_id(d.get("course_id"), "section course"),
    )


@dataclass(frozen=True)
class GradingPeriod:
    """One of a course's grading periods (docs/canvas.md §12: ``GradingPeriodSerializer``).

    ``start_date``/``end_date`` bound the period (Canvas counts a submission in the period when
    its due date falls in ``start_date < due <= end_date``); ``close_date`` is when grading in
    it closes (Canvas sends ``end_date`` again for periods created before close dates)."""

    id: str
    title: str
    start_date: datetime
    end_date: datetime
    close_date: datetime | None = None
    weight: float | None = None
    is_closed: bool = False
    is_last: bool = False


def parse_grading_period(data: object) -> GradingPeriod:
    d = _obj(data, "grading period")
    start = _opt_time(d.get("start_date"), "grading period start")
    end = _opt_time(d.get("end_date"), "grading period end")
    if start is None or end is None:
        raise BadPayload("Canvas sent a grading period without its dates")
    pid = _id(d.get("id"), "grading period")
    return GradingPeriod(
        id=pid,
        title=_opt_str(d.get("title"), "grading period title") or pid,
        start_date=start,
        end_date=end,
        close_date=_opt_time(d.get("close_date"), "grading period close"),
        weight=_opt_float(d.get("weight"), "grading period weight"),
        is_closed=_bool(d.get("is_closed"), "grading period is_closed"),
        is_last=_bool(d.get("is_last"), "grading period is_last"),
    )


def parse_grading_periods_page(data: object) -> list[GradingPeriod]:
    """One page of ``GET /api/v1/courses/:id/grading_periods``: wrapped in an object."""
    d = _obj(data, "grading periods page")
    if "grading_periods" not in d:
        raise BadPayload("Canvas sent an unexpected grading periods page")
    return [parse_grading_period(p) for p in _list(d["grading_periods"], "grading periods")]


@dataclass(frozen=True)
class AccountCourse:
    """A course as an account's course list gives it (docs/canvas.md §11.1)."""

    id: str
    name: str
    account_id: str
    workflow_state: str


def parse_account_course(data: object) -> AccountCourse:
    d = _obj(data, "course")
    return AccountCourse(
        id=_id(d.get("id"), "course"),
        name=_opt_str(d.get("name"), "course name") or "",
        account_id=_id(d.get("account_id"), "course account"),
        workflow_state=_opt_str(d.get("workflow_state"), "course state") or "",
    )


@dataclass(frozen=True)
class Enrollment:
    id: str
    user_id: str
    course_section_id: str
    type: str
    enrollment_state: str
    user: CanvasUser | None = None
    associated_user_id: str | None = None
    """An ObserverEnrollment's observed student (null on every other type, and on an observer
    enrolled without a student)."""


def parse_enrollment(data: object) -> Enrollment:
    d = _obj(data, "enrollment")
    user = d.get("user")
    return Enrollment(
        id=_id(d.get("id"), "enrollment"),
        user_id=_id(d.get("user_id"), "enrollment user"),
        course_section_id=_id(d.get("course_section_id"), "enrollment section"),
        type=_str(d.get("type"), "enrollment type"),
        enrollment_state=_str(
            d.get("enrollment_state", d.get("workflow_state")), "enrollment state"
        ),
        user=None if user is None else parse_user(user),
        associated_user_id=_opt_id(d.get("associated_user_id"), "enrollment associated user"),
    )


# --- outcomes and scales -------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    points: float
    description: str
    mastery: bool | None = None
    color: str | None = None


def parse_rating(data: object) -> Rating:
    d = _obj(data, "rating")
    return Rating(
        points=_float(d.get("points"), "rating points"),
        description=_opt_str(d.get("description"), "rating description") or "",
        mastery=_opt_bool(d.get("mastery"), "rating mastery"),
        color=_opt_str(d.get("color"), "rating colour"),
    )


def _ratings(value: object) -> tuple[Rating, ...]:
    return tuple(parse_rating(r) for r in _list(value, "ratings"))


@dataclass(frozen=True)
class OutcomeGroup:
    id: str
    title: str
    parent_id: str | None = None
    vendor_guid: str | None = None


def parse_outcome_group(data: object) -> OutcomeGroup:
    d = _obj(data, "outcome group")
    parent = d.get("parent_outcome_group")
    return OutcomeGroup(
        id=_id(d.get("id"), "outcome group"),
        title=_str(d.get("title"), "outcome group title"),
        parent_id=None if parent is None else _id(_obj(parent, "parent group").get("id"), "group"),
        vendor_guid=_opt_str(d.get("vendor_guid"), "vendor guid"),
    )


@dataclass(frozen=True)
class Outcome:
    id: str
    title: str
    display_name: str | None = None
    description: str | None = None
    vendor_guid: str | None = None
    points_possible: float | None = None
    mastery_points: float | None = None
    ratings: tuple[Rating, ...] = ()
    calculation_method: str | None = None
    calculation_int: int | None = None
    context_type: str | None = None
    """Who owns the outcome ("Account", "Course"; None for global ones): canvas-lms
    ``Api::V1::Outcome#outcome_json`` sends ``context_type``/``context_id``."""
    context_id: str | None = None


def parse_outcome(data: object) -> Outcome:
    d = _obj(data, "outcome")
    return Outcome(
        id=_id(d.get("id"), "outcome"),
        title=_str(d.get("title"), "outcome title"),
        display_name=_opt_str(d.get("display_name"), "outcome display name"),
        description=_opt_str(d.get("description"), "outcome description"),
        vendor_guid=_opt_str(d.get("vendor_guid"), "vendor guid"),
        points_possible=_opt_float(d.get("points_possible"), "points possible"),
        mastery_points=_opt_float(d.get("mastery_points"), "mastery points"),
        ratings=_ratings(d.get("ratings")),
        calculation_method=_opt_str(d.get("calculation_method"), "calculation method"),
        calculation_int=_opt_int(d.get("calculation_int"), "calculation int"),
        context_type=_opt_str(d.get("context_type"), "outcome context type"),
        context_id=_opt_id(d.get("context_id"), "outcome context"),
    )


@dataclass(frozen=True)
class OutcomeLink:
    outcome: Outcome
    group: OutcomeGroup
    context_id: str | None
    context_type: str | None


def parse_outcome_link(data: object) -> OutcomeLink:
    d = _obj(data, "outcome link")
    return OutcomeLink(
        outcome=parse_outcome(d.get("outcome")),
        group=parse_outcome_group(d.get("outcome_group")),
        context_id=_opt_id(d.get("context_id"), "link context"),
        context_type=_opt_str(d.get("context_type"), "link context type"),
    )


@dataclass(frozen=True)
class Proficiency:
    """A mastery scale; ratings kept in Canvas's order (points descending)."""

    ratings: tuple[Rating, ...]

    @property
    def points_possible(self) -> float:
        return max(r.points for r in self.ratings)

    @property
    def mastery_points(self) -> float | None:
        return next((r.points for r in self.ratings if r.mastery), None)


def parse_proficiency(data: object) -> Proficiency:
    ratings = _ratings(_obj(data, "proficiency").get("ratings"))
    if not ratings:
        raise BadPayload("Canvas sent a mastery scale without ratings")
    return Proficiency(ratings=tuple(sorted(ratings, key=lambda r: -r.points)))


# --- outcome results and rollups -----------------------------------------------------------


@dataclass(frozen=True)
class OutcomeResult:
    id: str
    user_id: str
    outcome_id: str
    alignment: str | None
    assignment_id: int | None
    score: float | None = None
    possible: float | None = None
    percent: float | None = None
    mastery: bool | None = None
    hidden: bool = False
    hide_points: bool = False
    submitted_or_assessed_at: datetime | None = None


OUTCOMES_SERVICE_PREFIX = "os:"


def outcomes_service_result_id(
    user_id: str,
    outcome_id: str,
    alignment: str | None,
    assignment: str | None = None,
    at: str | None = None,
) -> str:
    """A stable key for a result Canvas sends with ``"id": null``: New Quizzes results live in
    the Outcomes Service and are merged into outcome_results unsaved (canvas-lms
    ``OutcomesServiceAuthoritativeResultsHelper#json_to_outcome_result``, docs/canvas.md §1.1).
    What identifies one is the student, outcome, alignment, assignment and time Canvas sends
    (its ``submitted_at``): the same result gets the same key at every sync."""
    parts = (user_id, outcome_id, alignment or "", assignment or "", at or "")
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return OUTCOMES_SERVICE_PREFIX + digest[:40]


def is_outcomes_service_id(result_id: str) -> bool:
    """Whether a result id is a key made by :func:`outcomes_service_result_id`."""
    return result_id.startswith(OUTCOMES_SERVICE_PREFIX)


def parse_outcome_result(data: object) -> OutcomeResult:
    d = _obj(data, "outcome result")
    links = _obj(d.get("links"), "outcome result links")
    alignment = _opt_str(links.get("alignment"), "alignment")
    user_id = _id(links.get("user"), "result user")
    outcome_id = _id(links.get("learning_outcome"), "result outcome")
    raw_id = d.get("id")
    assignment_link = _opt_str(links.get("assignment"), "assignment link")
    at = _opt_time(d.get("submitted_or_assessed_at"), "result time")
    return OutcomeResult(
        id=(
            outcomes_service_result_id(
                user_id, outcome_id, alignment, assignment_link, at.isoformat() if at else None
            )
            if raw_id is None
            else _id(raw_id, "outcome result")
        ),
        user_id=user_id,
        outcome_id=outcome_id,
        alignment=alignment,
        # links.assignment (newer Canvas) is authoritative when present; else the alignment
        assignment_id=assignment_id_of(assignment_link) or assignment_id_of(alignment),
        score=_opt_float(d.get("score"), "result score"),
        possible=_opt_float(d.get("possible"), "result possible"),
        percent=_opt_float(d.get("percent"), "result percent"),
        mastery=_opt_bool(d.get("mastery"), "result mastery"),
        hidden=_bool(d.get("hidden"), "result hidden"),
        hide_points=_bool(d.get("hide_points"), "result hide_points"),
        submitted_or_assessed_at=at,
    )


@dataclass(frozen=True)
class Alignment:
    id: str  # asset string, e.g. "assignment_53"
    name: str | None


@dataclass(frozen=True)
class Linked:
    """The `linked` block of outcome_results / rollups (present only when include[] was sent)."""

    outcomes: tuple[Outcome, ...] = ()
    users: tuple[CanvasUser, ...] = ()
    alignments: tuple[Alignment, ...] = ()


def parse_linked(data: object) -> Linked:
    if data is None:
        return Linked()
    d = _obj(data, "linked")
    return Linked(
        outcomes=tuple(parse_outcome(o) for o in _list(d.get("outcomes"), "linked outcomes")),
        users=tuple(parse_user(u) for u in _list(d.get("users"), "linked users")),
        alignments=tuple(
            Alignment(
                id=_str(_obj(a, "alignment").get("id"), "alignment id"),
                name=_opt_str(a.get("name"), "alignment name"),
            )
            for a in _list(d.get("alignments"), "linked alignments")
        ),
    )


@dataclass(frozen=True)
class OutcomeResultsPage:
    results: tuple[OutcomeResult, ...]
    linked: Linked = field(default_factory=Linked)


def parse_outcome_results_page(data: object) -> OutcomeResultsPage:
    d = _obj(data, "outcome results page")
    if "outcome_results" not in d:
        raise BadPayload("Canvas sent an outcome results page without outcome_results")
    return OutcomeResultsPage(
        results=tuple(
            parse_outcome_result(r) for r in _list(d["outcome_results"], "outcome results")
        ),
        linked=parse_linked(d.get("linked")),
    )


@dataclass(frozen=True)
class RollupScore:
    outcome_id: str
    score: float | None
    count: int
    title: str | None = None
    submitted_at: datetime | None = None
    hide_points: bool = False


def parse_rollup_score(data: object) -> RollupScore:
    d = _obj(data, "rollup score")
    return RollupScore(
        outcome_id=_id(_obj(d.get("links"), "rollup score links").get("outcome"), "outcome"),
        score=_opt_float(d.get("score"), "rollup score"),
        count=_opt_int(d.get("count"), "rollup count") or 0,
        title=_opt_str(d.get("title"), "rollup title"),
        submitted_at=_opt_time(d.get("submitted_at"), "rollup time"),
        hide_points=_bool(d.get("hide_points"), "rollup hide_points"),
    )


@dataclass(frozen=True)
class Rollup:
    """One row per (user, section): multi-section students appear once per section."""

    user_id: str
    section_id: str | None
    status: str | None
    scores: tuple[RollupScore, ...]


def parse_rollup(data: object) -> Rollup:
    d = _obj(data, "rollup")
    links = _obj(d.get("links"), "rollup links")
    return Rollup(
        user_id=_id(links.get("user"), "rollup user"),
        section_id=_opt_id(links.get("section"), "rollup section"),
        status=_opt_str(links.get("status"), "rollup status"),
        scores=tuple(parse_rollup_score(s) for s in _list(d.get("scores"), "rollup scores")),
    )


def dedupe_rollups(rollups: Sequence[Rollup]) -> list[Rollup]:
    """One rollup per user (the first seen): Canvas repeats a student per section
    (docs/canvas.md §1.2)."""
    seen: set[str] = set()
    unique = []
    for rollup in rollups:
        if rollup.user_id not in seen:
            seen.add(rollup.user_id)
            unique.append(rollup)
    return unique


# --- assignments, rubrics, submissions, progress ------------------------------------------


@dataclass(frozen=True)
class CriterionRating:
    id: str | None
    points: float
    description: str


@dataclass(frozen=True)
class Criterion:
    id: str
    description: str
    points: float
    learning_outcome_id: str | None = None
    mastery_points: float | None = None
    ratings: tuple[CriterionRating, ...] = ()


def parse_criterion(data: object) -> Criterion:
    d = _obj(data, "rubric criterion")
    # Assignment JSON names the outcome "outcome_id"; the rubric create response
    # "learning_outcome_id".
    outcome = d.get("outcome_id", d.get("learning_outcome_id"))
    return Criterion(
        id=_id(d.get("id"), "criterion"),
        description=_opt_str(d.get("description"), "criterion description") or "",
        points=_float(d.get("points"), "criterion points"),
        learning_outcome_id=_opt_id(outcome, "criterion outcome"),
        mastery_points=_opt_float(d.get("mastery_points"), "criterion mastery points"),
        ratings=tuple(
            CriterionRating(
                id=_opt_id(_obj(r, "criterion rating").get("id"), "rating"),
                points=_float(r.get("points"), "rating points"),
                description=_opt_str(r.get("description"), "rating description") or "",
            )
            for r in _list(d.get("ratings"), "criterion ratings")
        ),
    )


def _criteria(value: object) -> tuple[Criterion, ...]:
    # Canvas sends a list; tolerate the index-keyed object form some endpoints echo back.
    items = list(value.values()) if isinstance(value, Mapping) else _list(value, "criteria")
    return tuple(parse_criterion(c) for c in items)


@dataclass(frozen=True)
class Assignment:
    id: str
    name: str
    published: bool
    points_possible: float | None
    grading_type: str | None
    omit_from_final_grade: bool
    rubric: tuple[Criterion, ...] = ()
    rubric_settings: Mapping[str, Any] | None = None
    use_rubric_for_grading: bool = False
    description: str | None = None


def parse_assignment(data: object) -> Assignment:
    d = _obj(data, "assignment")
    settings = d.get("rubric_settings")
    return Assignment(
        id=_id(d.get("id"), "assignment"),
        name=_str(d.get("name"), "assignment name"),
        published=_bool(d.get("published"), "assignment published"),
        points_possible=_opt_float(d.get("points_possible"), "assignment points"),
        grading_type=_opt_str(d.get("grading_type"), "grading type"),
        omit_from_final_grade=_bool(d.get("omit_from_final_grade"), "omit from final grade"),
        rubric=_criteria(d.get("rubric")),
        rubric_settings=None if settings is None else dict(_obj(settings, "rubric settings")),
        use_rubric_for_grading=_bool(d.get("use_rubric_for_grading"), "use rubric for grading"),
        description=_opt_str(d.get("description"), "assignment description"),
    )


@dataclass(frozen=True)
class RubricCreated:
    rubric_id: str
    association_id: str | None
    criteria: tuple[Criterion, ...]


def parse_rubric_created(data: object) -> RubricCreated:
    d = _obj(data, "rubric response")
    rubric = _obj(d.get("rubric"), "rubric")
    association = d.get("rubric_association")
    return RubricCreated(
        rubric_id=_id(rubric.get("id"), "rubric"),
        association_id=None
        if association is None
        else _id(_obj(association, "rubric association").get("id"), "rubric association"),
        criteria=_criteria(rubric.get("criteria", rubric.get("data"))),
    )


@dataclass(frozen=True)
class RubricAssociation:
    id: str
    association_id: str
    association_type: str
    purpose: str | None


def parse_rubric_associations(data: object) -> tuple[RubricAssociation, ...]:
    """The ``associations`` of a rubric fetched with ``include[]=associations``."""
    rubric = _obj(data, "rubric")
    return tuple(
        RubricAssociation(
            id=_id(a.get("id"), "rubric association"),
            association_id=_id(a.get("association_id"), "association target"),
            association_type=_str(a.get("association_type"), "association type"),
            purpose=_opt_str(a.get("purpose"), "association purpose"),
        )
        for a in (
            _obj(item, "rubric association")
            for item in _list(rubric.get("associations", []), "rubric associations")
        )
    )


@dataclass(frozen=True)
class Submission:
    id: str
    user_id: str
    assignment_id: str
    rubric_assessment: dict[str, dict[str, Any]] | None
    workflow_state: str | None


def parse_submission(data: object) -> Submission:
    d = _obj(data, "submission")
    assessment = d.get("rubric_assessment")
    return Submission(
        id=_id(d.get("id"), "submission"),
        user_id=_id(d.get("user_id"), "submission user"),
        assignment_id=_id(d.get("assignment_id"), "submission assignment"),
        rubric_assessment=None
        if assessment is None
        else {
            str(k): dict(_obj(v, "rubric assessment row"))
            for k, v in _obj(assessment, "rubric assessment").items()
        },
        workflow_state=_opt_str(d.get("workflow_state"), "submission state"),
    )


@dataclass(frozen=True)
class Progress:
    id: str
    workflow_state: str
    completion: float | None
    message: str | None = None
    url: str | None = None

    @property
    def done(self) -> bool:
        return self.workflow_state in ("completed", "failed")


def parse_progress(data: object) -> Progress:
    d = _obj(data, "progress")
    return Progress(
        id=_id(d.get("id"), "progress"),
        workflow_state=_str(d.get("workflow_state"), "progress state"),
        completion=_opt_float(d.get("completion"), "progress completion"),
        message=_opt_str(d.get("message"), "progress message"),
        url=_opt_str(d.get("url"), "progress url"),
    )


# --- write specs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSpec:
    points: float
    description: str
    id: str | None = None


@dataclass(frozen=True)
class CriterionSpec:
    """One rubric row to create. Canvas derives the row's points from the highest rating."""

    description: str
    ratings: Sequence[RatingSpec]
    learning_outcome_id: str | None = None
    mastery_points: float | None = None
    id: str | None = None
    ignore_for_scoring: bool = False
