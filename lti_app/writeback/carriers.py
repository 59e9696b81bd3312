"""Carrier assignments and their one grading rubric: created on demand, found again after a
crash, extended in place, never given a second grading association (docs/canvas.md §3, §3.6)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.types import Assignment, Criterion, CriterionSpec, RatingSpec
from lti_app.db import session_scope
from lti_app.mastery.mapping import MappingError
from lti_app.models.canvas import CarrierAssignment
from lti_app.policies.store import EffectivePolicy

MARKER_PREFIX = "mastery-pathways-carrier:"


class CarrierProblem(Exception):
    """A carrier is in a state the tool must not touch (e.g. its rubric is not the tool's)."""


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
        "<p>Evidence scored in Mastery Pathways: each student's "
        f"demonstration number {round_} of each learning target, as a rubric result. "
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


@dataclass(frozen=True)
class Carrier:
    id: int
    round: int
    assignment_id: str
    criteria: dict[str, str]  # outcome id -> criterion id
    new: bool = False  # created by this call: Canvas holds no result on it yet


class CarrierKeeper:
    """Makes sure a course's carriers exist in Canvas with a criterion for each needed target.

    Every step that Canvas has done is committed before the next one starts, so a worker that
    dies anywhere leaves a row the next worker can continue from without creating twins.
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

    def ensure(self, kind: str, round_: int, needed: set[str]) -> Carrier:
        row_id, fresh = self._row(kind, round_)
        with session_scope(self.app) as db:
            row = db.get(CarrierAssignment, row_id)
            assert row is not None
            assignment_id = row.canvas_assignment_id
            association_id = row.rubric_association_id
            rubric_id = row.rubric_id
            criteria = dict(row.criteria or {})
            digest = row.ratings_digest
            marker, name = row.marker, row.name
        new_assignment = False
        if assignment_id is None:
            found = None if fresh else self._find_by_marker(marker)
            if found is None:
                found = self.client.create_assignment(
                    self.course_id,
                    name,
                    description=_description(marker, round_),
                    points_possible=0.0,
                    grading_type="points",
                    submission_types=("none",),
                    omit_from_final_grade=True,
                    published=True,
                )
                new_assignment = True
            assignment_id = found.id
            self._save(row_id, canvas_assignment_id=assignment_id)
        if association_id is None:
            adopted = None if new_assignment else self._adopt_rubric(assignment_id)
            if adopted is None:
                created = self.client.create_rubric(
                    self.course_id,
                    assignment_id,
                    name,
                    criterion_specs(self._wanted(criteria, needed), criteria, self.ratings),
                )
                rubric_id, association_id = created.rubric_id, created.association_id
                criteria = _criteria_map(created.criteria)
                digest = self.ratings.digest
                if association_id is None:
                    raise CarrierProblem("Canvas created the rubric without its association.")
            else:
                rubric_id, association_id, criteria = adopted
                digest = None  # unknown ratings: rewrite them once
            self._save(
                row_id,
                rubric_id=rubric_id,
                rubric_association_id=association_id,
                criteria=criteria,
                ratings_digest=digest,
            )
        assert rubric_id is not None
        if needed - criteria.keys() or digest != self.ratings.digest:
            # In place, through the existing association: never a second grading one
            # (docs/canvas.md §3.6).
            updated = self.client.update_rubric(
                self.course_id,
                rubric_id,
                association_id,
                assignment_id,
                name,
                criterion_specs(self._wanted(criteria, needed), criteria, self.ratings),
            )
            criteria = _criteria_map(updated.criteria)
            self._save(
                row_id,
                rubric_id=updated.rubric_id,  # Canvas forks a rubric used elsewhere
                criteria=criteria,
                ratings_digest=self.ratings.digest,
            )
            missing = needed - criteria.keys()
            if missing:
                raise CarrierProblem(
                    "Canvas did not keep the rubric rows for outcomes " + ", ".join(sorted(missing))
                )
        return Carrier(row_id, round_, assignment_id, criteria, new=new_assignment)

    def _wanted(self, criteria: Mapping[str, str], needed: set[str]) -> dict[str, str]:
        """Every course target, plus rows the carrier already has or needs (kept in order)."""
        wanted = dict(self.targets)
        for outcome_id in [*criteria, *sorted(needed)]:
            wanted.setdefault(outcome_id, f"Outcome {outcome_id}")
        return wanted

    def _row(self, kind: str, round_: int) -> tuple[int, bool]:
        """The carrier's row, created (committed) before Canvas is asked for anything."""
        query = select(CarrierAssignment.id).where(
            CarrierAssignment.platform_id == self.platform_id,
            CarrierAssignment.canvas_course_id == self.course_id,
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

    def _save(self, row_id: int, **values: object) -> None:
        with session_scope(self.app) as db:
            row = db.get(CarrierAssignment, row_id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)

    def _find_by_marker(self, marker: str) -> Assignment | None:
        """A worker may have died after Canvas created the assignment but before the id was
        saved: find it by the marker in its description instead of creating a second one."""
        needle = MARKER_PREFIX + marker
        for assignment in self.client.assignments(self.course_id):
            if assignment.description and needle in assignment.description:
                return assignment
        return None

    def _adopt_rubric(self, assignment_id: str) -> tuple[str, str, dict[str, str]] | None:
        """The assignment's existing grading rubric (created before a crash), or None.

        POSTing a rubric to an assignment that already has one would destroy its results.
        """
        assignment = self.client.assignment(self.course_id, assignment_id)
        settings = assignment.rubric_settings or {}
        if not assignment.rubric or settings.get("id") is None:
            return None
        rubric_id = str(settings["id"])
        for assoc in self.client.rubric_associations(self.course_id, rubric_id):
            if (
                assoc.association_type == "Assignment"
                and assoc.association_id == assignment_id
                and assoc.purpose == "grading"
            ):
                return rubric_id, assoc.id, _criteria_map(assignment.rubric)
        raise CarrierProblem(
            "The carrier assignment has a rubric that is not attached for grading; "
            "the tool will not replace it."
        )
