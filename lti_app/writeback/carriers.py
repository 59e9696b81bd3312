"""Carrier assignments and their one grading rubric: created on demand, found again after a
crash, extended in place, never given a second grading association (docs/canvas.md §3, §3.6)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.errors import CanvasError, CanvasUnavailable, NotFound
from lti_app.canvas.client.types import Assignment, Criterion, CriterionSpec, RatingSpec
from lti_app.db import session_scope
from lti_app.mastery.mapping import MappingError
from lti_app.models.canvas import CarrierAssignment
from lti_app.models.writeback import DELIVERED, PENDING, WritebackItem
from lti_app.policies.store import EffectivePolicy

MARKER_PREFIX = "mastery-pathways-carrier:"

_T = TypeVar("_T")


# How long a POST whose answer was lost may still be finished by Canvas: until then the tool
# only looks for what it asked for (and adopts it), never POSTs again (docs/canvas.md §3.15).
POST_GRACE = timedelta(minutes=2)
# The carrier's settings in Canvas: ``not_graded`` so that students see its results whatever
# the course's post policy (docs/canvas.md §3.17), no submissions, out of the final grade.
CARRIER_FIELDS: dict[str, object] = {
    "grading_type": "not_graded",
    "points_possible": 0.0,
    "submission_types": ["none"],
    "omit_from_final_grade": True,
    "published": True,
}


REWRITTEN = (
    "Canvas changed the carrier's rubric (its ratings or rows); the tool put it back in place."
)


class CarrierProblem(Exception):
    """A carrier is in a state the tool must not touch (e.g. its rubric is not the tool's)."""


class CarrierInFlight(Exception):
    """Canvas may still be creating what the tool asked for: look again later, never POST."""


@dataclass(frozen=True)
class Ratings:
    """The rubric ratings of every carrier criterion: one per district level, at the Canvas
    points the mapping writes for it, topped by the mapping's points possible so the
    criterion's ``possible`` is what the mapping reads back against (the round trip)."""

    specs: tuple[RatingSpec, ...]
    mastery_points: float | None
    digest: str


def ratings_for(eff: EffectivePolicy) -> Ratings:
    by_points: dict[float, str] = {}
    for level in sorted(eff.scale.levels, key=lambda lv: -lv.value):
        try:
            points = eff.mapping.to_canvas_points(level.value)
        except MappingError:
            continue
        by_points.setdefault(points, level.label)
    top = float(eff.mapping.points_possible)
    if top not in by_points:
        by_points[top] = max(eff.scale.levels, key=lambda lv: lv.value).label
    try:
        mastery: float | None = eff.mapping.to_canvas_points(eff.scale.mastery_level.value)
    except MappingError:
        mastery = None
    pairs = sorted(by_points.items(), reverse=True)
    digest = hashlib.sha256(json.dumps([pairs, mastery]).encode()).hexdigest()[:32]
    return Ratings(
        specs=tuple(RatingSpec(points=p, description=label[:255]) for p, label in pairs),
        mastery_points=mastery,
        digest=digest,
    )


def carrier_name(kind: str, round_: int) -> str:
    return f"Mastery Pathways evidence, round {round_}"


def _description(marker: str, round_: int) -> str:
    return (
        "<p>Evidence scored in Mastery Pathways, as rubric results: each student's results "
        f"in the order the tool recorded them (set {round_}). "
        "It is not graded and does not count toward the final grade. Please do not edit or "
        "delete its rubric; the tool keeps it up to date.</p>"
        f"<!-- {MARKER_PREFIX}{marker} -->"
    )


def criterion_specs(
    targets: Mapping[str, str], known: Mapping[str, str], ratings: Ratings
) -> list[CriterionSpec]:
    """One outcome-aligned row per target (outcome id -> title), keeping known criterion ids
    (an assessment's rows are keyed by them) and proposing stable ones for new rows."""
    specs = []
    for outcome_id, title in targets.items():
        criterion_id = known.get(outcome_id) or f"mp_{outcome_id}"
        specs.append(
            CriterionSpec(
                description=(title or f"Outcome {outcome_id}")[:255],
                ratings=[
                    RatingSpec(r.points, r.description, id=f"{criterion_id}_{i}")
                    for i, r in enumerate(ratings.specs)
                ],
                learning_outcome_id=outcome_id,
                mastery_points=ratings.mastery_points,
                id=criterion_id,
            )
        )
    return specs


def _criteria_map(criteria: Sequence[Criterion]) -> dict[str, str]:
    return {c.learning_outcome_id: c.id for c in criteria if c.learning_outcome_id is not None}


def rubric_differs(criteria: Sequence[Criterion], ratings: Ratings) -> bool:
    """Whether an outcome row of the carrier's rubric (as Canvas holds it) no longer has the
    tool's ratings: Canvas rewrites unassessed rubrics when an outcome's ratings or the mastery
    scale change (docs/canvas.md §3.18)."""
    want = [(float(r.points), r.description) for r in ratings.specs]
    for c in criteria:
        if c.learning_outcome_id is None:
            continue
        have = sorted(((float(r.points), r.description) for r in c.ratings), reverse=True)
        if have != want:
            return True
    return False


def _maybe_done(exc: CanvasError) -> bool:
    """Whether Canvas may have carried out a POST that failed this way: no answer at all (a
    timeout, a dropped connection) or a gateway's 502/504 while Canvas worked on. Refusals
    (throttling, 4xx) and Canvas's own error answers did not create anything
    (docs/canvas.md §3.15)."""
    return isinstance(exc, CanvasUnavailable) and exc.status in (None, 502, 504)


def _now() -> datetime:
    return datetime.now(UTC)


def _within_grace(posted_at: datetime | None) -> bool:
    if posted_at is None:
        return False
    if posted_at.tzinfo is None:  # SQLite hands back naive UTC
        posted_at = posted_at.replace(tzinfo=UTC)
    return _now() - posted_at < POST_GRACE


@dataclass(frozen=True)
class Carrier:
    id: int
    round: int
    assignment_id: str
    criteria: dict[str, str]  # outcome id -> criterion id
    new: bool = False  # created by this call: Canvas holds no result on it yet


@dataclass
class _Row:
    """The carrier row's values, read in one transaction."""

    assignment_id: str | None
    association_id: str | None
    rubric_id: str | None
    criteria: dict[str, str]
    digest: str | None
    marker: str
    name: str
    assignment_posted_at: datetime | None
    rubric_posted_at: datetime | None


class CarrierKeeper:
    """Makes sure a course's carriers exist in Canvas with a criterion for each needed target,
    as the tool made them (repairing in place what a teacher or Canvas changed).

    Every step that Canvas has done is committed before the next one starts, and every POST is
    recorded before it is sent, so a worker that dies anywhere, or a POST whose answer is lost,
    leaves a row the next worker continues from without creating twins.
    """

    def __init__(
        self,
        app: Flask,
        client: CanvasClient,
        platform_id: int,
        course_id: str,
        targets: Mapping[str, str],
        ratings: Ratings,
    ) -> None:
        self.app = app
        self.client = client
        self.platform_id = platform_id
        self.course_id = course_id
        self.targets = dict(targets)
        self.ratings = ratings
        # The course's assignments as one listing read them, when the caller read it (one
        # request for every carrier of a pass instead of one each).
        self.listed: dict[str, Assignment] | None = None
        self.made_rubric: set[str] = set()  # assignments given a rubric since the listing

    def list_assignments(self) -> None:
        self.listed = {a.id: a for a in self.client.assignments(self.course_id)}

    def ensure(self, kind: str, round_: int, needed: set[str]) -> Carrier:
        row_id, fresh = self._row(kind, round_)
        row = self._load(row_id)
        notes: list[str] = []
        new_assignment = False
        seen: Assignment | None = None  # the assignment as Canvas holds it, when read
        if row.assignment_id is not None and not fresh:
            seen = self._check_assignment(row_id, row, notes)
        if row.assignment_id is None:
            found = None if fresh else self._find_by_marker(row.marker)
            if found is None:
                found = self._post_assignment(row_id, row, round_)
                new_assignment = True
                if self.listed is not None:
                    self.listed[found.id] = found
            else:
                seen = found
            row.assignment_id = found.id
            self._save(row_id, canvas_assignment_id=found.id, assignment_posted_at=None)
            if seen is not None:
                seen = self._fix_settings(row_id, found, notes)
        assignment_id = row.assignment_id
        if row.association_id is None or (
            seen is not None and not seen.rubric_settings and assignment_id not in self.made_rubric
        ):
            adopted = None
            if not new_assignment:
                # A rubric created before a crash (or a lost answer) shows in the assignment
                # itself, with no include[] a scoped key could drop (docs/canvas.md §3.16).
                seen = seen or self.client.assignment(self.course_id, assignment_id)
                adopted = _adoptable(seen)
            if adopted is None:
                self._post_rubric(row_id, row, needed)
            else:
                assert seen is not None
                if rubric_differs(seen.rubric, self.ratings):
                    notes.append(REWRITTEN)
                row.rubric_id, row.criteria = adopted
                row.association_id = None
                row.digest = None  # unknown ratings: rewrite them once
                self._save(
                    row_id, rubric_id=row.rubric_id, criteria=row.criteria, rubric_posted_at=None
                )
        elif seen is not None and seen.rubric:
            canvas_criteria = _criteria_map(seen.rubric)
            if canvas_criteria != row.criteria or rubric_differs(seen.rubric, self.ratings):
                notes.append(REWRITTEN)
                row.criteria = canvas_criteria
                row.digest = None
        assert row.rubric_id is not None
        if (
            needed - row.criteria.keys()
            or row.digest != self.ratings.digest
            or row.association_id is None
        ):
            # In place, through the existing association: never a second grading one
            # (docs/canvas.md §3.6).
            updated = self.client.update_rubric(
                self.course_id,
                row.rubric_id,
                row.association_id,
                assignment_id,
                row.name,
                criterion_specs(self._wanted(row.criteria, needed), row.criteria, self.ratings),
            )
            row.criteria = _criteria_map(updated.criteria)
            row.association_id = updated.association_id or row.association_id
            if row.association_id is None:
                raise CarrierProblem("Canvas did not say which association the rubric has.")
            self._save(
                row_id,
                rubric_id=updated.rubric_id,  # Canvas forks a rubric used elsewhere
                rubric_association_id=row.association_id,
                criteria=row.criteria,
                ratings_digest=self.ratings.digest,
            )
            missing = needed - row.criteria.keys()
            if missing:
                raise CarrierProblem(
                    "Canvas did not keep the rubric rows for outcomes " + ", ".join(sorted(missing))
                )
        if notes:
            self._save(row_id, repair_note=" ".join(notes)[:2000])
        return Carrier(row_id, round_, assignment_id, dict(row.criteria), new=new_assignment)

    # --- the assignment ----------------------------------------------------------------------

    def _post_assignment(self, row_id: int, row: _Row, round_: int) -> Assignment:
        return self._post_once(
            row_id,
            "assignment_posted_at",
            row.assignment_posted_at,
            "the carrier assignment",
            lambda: self.client.create_assignment(
                self.course_id,
                row.name,
                description=_description(row.marker, round_),
                points_possible=0.0,
                grading_type=str(CARRIER_FIELDS["grading_type"]),
                submission_types=("none",),
                omit_from_final_grade=True,
                published=True,
            ),
        )

    def _check_assignment(self, row_id: int, row: _Row, notes: list[str]) -> Assignment | None:
        """Read the carrier as Canvas holds it; a carrier the teacher deleted is created again
        (a fresh row state), one renamed or unpublished is adopted and put right."""
        assert row.assignment_id is not None
        try:
            if self.listed is None:
                seen = self.client.assignment(self.course_id, row.assignment_id)
            elif row.assignment_id in self.listed:
                seen = self.listed[row.assignment_id]
            else:  # a listing leaves deleted assignments out
                raise NotFound("The carrier is not among the course's assignments.")
        except NotFound:
            notes.append(
                "The carrier assignment was deleted in Canvas, and its results with it; the "
                "tool created it again and sends those results again."
            )
            self._resend(row_id)
            row.assignment_id = row.association_id = row.rubric_id = None
            row.criteria, row.digest = {}, None
            row.marker = secrets.token_hex(8)
            self._save(
                row_id,
                canvas_assignment_id=None,
                rubric_association_id=None,
                rubric_id=None,
                criteria={},
                ratings_digest=None,
                marker=row.marker,
                assignment_posted_at=None,
                rubric_posted_at=None,
            )
            return None
        if seen.name != row.name:
            notes.append(
                f"The carrier was renamed in Canvas to \u201c{seen.name}\u201d; "
                "the tool kept that name."
            )
            row.name = seen.name[:255]
            self._save(row_id, name=row.name)
        return self._fix_settings(row_id, seen, notes)

    def _fix_settings(self, row_id: int, seen: Assignment, notes: list[str]) -> Assignment:
        changes: dict[str, object] = {}
        if not seen.published:
            changes["published"] = True
            notes.append("The carrier was unpublished in Canvas; the tool published it again.")
        if seen.grading_type != CARRIER_FIELDS["grading_type"]:
            changes["grading_type"] = CARRIER_FIELDS["grading_type"]
        if not seen.omit_from_final_grade:
            changes["omit_from_final_grade"] = True
        if not changes:
            return seen
        fixed = self.client.update_assignment(self.course_id, seen.id, changes)
        return fixed if fixed.rubric or not seen.rubric else seen

    def _find_by_marker(self, marker: str) -> Assignment | None:
        """A worker may have died after Canvas created the assignment but before the id was
        saved: find it by the marker in its description instead of creating a second one."""
        needle = MARKER_PREFIX + marker
        listed = self.listed.values() if self.listed is not None else None
        for assignment in listed or self.client.assignments(self.course_id):
            if assignment.description and needle in assignment.description:
                return assignment
        return None

    # --- the rubric --------------------------------------------------------------------------

    def _post_rubric(self, row_id: int, row: _Row, needed: set[str]) -> None:
        assignment_id = row.assignment_id
        assert assignment_id is not None
        created = self._post_once(
            row_id,
            "rubric_posted_at",
            row.rubric_posted_at,
            "the carrier's rubric",
            lambda: self.client.create_rubric(
                self.course_id,
                assignment_id,
                row.name,
                criterion_specs(self._wanted(row.criteria, needed), row.criteria, self.ratings),
            ),
        )
        if created.association_id is None:
            raise CarrierProblem("Canvas created the rubric without its association.")
        self.made_rubric.add(assignment_id)
        row.rubric_id, row.association_id = created.rubric_id, created.association_id
        row.criteria = _criteria_map(created.criteria)
        row.digest = self.ratings.digest
        self._save(
            row_id,
            rubric_id=row.rubric_id,
            rubric_association_id=row.association_id,
            criteria=row.criteria,
            ratings_digest=row.digest,
            rubric_posted_at=None,
        )

    def _wanted(self, criteria: Mapping[str, str], needed: set[str]) -> dict[str, str]:
        """Every course target, plus rows the carrier already has or needs (kept in order)."""
        wanted = dict(self.targets)
        for outcome_id in [*criteria, *sorted(needed)]:
            wanted.setdefault(outcome_id, f"Outcome {outcome_id}")
        return wanted

    # --- the row -----------------------------------------------------------------------------

    def _row(self, kind: str, round_: int) -> tuple[int, bool]:
        """The carrier's row, created (committed) before Canvas is asked for anything."""
        query = select(CarrierAssignment.id).where(
            CarrierAssignment.in_course(self.platform_id, self.course_id),
            CarrierAssignment.kind == kind,
            CarrierAssignment.round == round_,
        )
        with session_scope(self.app) as db:
            found = db.scalar(query)
            if found is not None:
                return int(found), False
        try:
            with session_scope(self.app) as db:
                row = CarrierAssignment(
                    platform_id=self.platform_id,
                    canvas_course_id=self.course_id,
                    kind=kind,
                    round=round_,
                    name=carrier_name(kind, round_),
                    marker=secrets.token_hex(8),
                    criteria={},
                )
                db.add(row)
                db.flush()
                return int(row.id), True
        except IntegrityError:
            with session_scope(self.app) as db:
                return int(db.scalars(query).one()), False

    def _load(self, row_id: int) -> _Row:
        with session_scope(self.app) as db:
            row = db.get(CarrierAssignment, row_id)
            assert row is not None
            return _Row(
                assignment_id=row.canvas_assignment_id,
                association_id=row.rubric_association_id,
                rubric_id=row.rubric_id,
                criteria=dict(row.criteria or {}),
                digest=row.ratings_digest,
                marker=row.marker,
                name=row.name,
                assignment_posted_at=row.assignment_posted_at,
                rubric_posted_at=row.rubric_posted_at,
            )

    def _resend(self, row_id: int) -> None:
        """The results that were on a deleted carrier are owed again (placed afresh)."""
        with session_scope(self.app) as db:
            db.execute(
                update(WritebackItem)
                .where(
                    WritebackItem.carrier_id == row_id,
                    WritebackItem.status.in_((PENDING, DELIVERED)),
                )
                .values(
                    status=PENDING,
                    carrier_id=None,
                    written_at=None,
                    delivered_at=None,
                    attempts=0,
                    next_attempt_at=_now(),
                )
            )

    def _post_once(
        self,
        row_id: int,
        mark: str,
        posted_at: datetime | None,
        what: str,
        create: Callable[[], _T],
    ) -> _T:
        """Ask Canvas to create ``what`` (``create``) once: CarrierInFlight while an earlier
        request may still be creating it; the request's time is recorded in the row's ``mark``
        column before it is sent, and cleared when it surely did not reach Canvas."""
        if _within_grace(posted_at):
            raise CarrierInFlight(
                f"Canvas may still be creating {what} the tool asked for; the tool will look "
                "for it again before asking a second time."
            )
        self._save(row_id, **{mark: _now()})
        try:
            return create()
        except CanvasError as exc:
            if not _maybe_done(exc):
                self._save(row_id, **{mark: None})
            raise

    def _save(self, row_id: int, **values: object) -> None:
        with session_scope(self.app) as db:
            row = db.get(CarrierAssignment, row_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)


def _adoptable(assignment: Assignment) -> tuple[str, dict[str, str]] | None:
    """The assignment's grading rubric, if it has one: Canvas lists ``rubric`` and
    ``rubric_settings`` only for an active grading association (``Api::V1::Assignment``), so
    POSTing another would destroy its results (docs/canvas.md §3.6)."""
    settings = assignment.rubric_settings or {}
    if not assignment.rubric or settings.get("id") is None:
        return None
    return str(settings["id"]), _criteria_map(assignment.rubric)
