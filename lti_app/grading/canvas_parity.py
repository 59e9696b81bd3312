"""A synced course as Canvas computes it: each outcome's scoring, the tool's Canvas-method
scores, Canvas's own rollups read at the last sync, and levels in the "as Canvas" basis.

The one place that turns stored rows into ``mastery.canvas_rollup`` / ``mastery.canvas_basis``
inputs, so the grid, the drill-down, the student pages and the export agree.

Two scores, two uses:

* **canvas_score** (export, "Canvas shows X"): what Canvas's Learning Mastery Gradebook would
  show: Canvas's own method for the outcome over every visible Canvas result, the tool's
  carrier results included (Canvas counts them);
* **the level in the "as Canvas" basis**: the policy's method over the Canvas results (not the
  carrier ones: that evidence is the tool's own) and the tool's own evidence, as points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_app.mastery.calculation import Evidence, Policy
from lti_app.mastery.canvas_basis import CanvasBasisLevel, canvas_basis_level, canvas_basis_quick
from lti_app.mastery.canvas_rollup import (
    CanvasScoring,
    ScoredResult,
    canvas_rollup,
    scored_result,
    scoring_in_force,
)
from lti_app.mastery.mapping import AnyMapping
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    CourseOutcomeResult,
    CourseRollup,
)

Pair = tuple[str, str]
COURSE_SCALE = "course_proficiency"  # lti_app.sync.snapshot.SCALE_COURSE, as stored


def scorings(
    db: Session, course: CanvasCourse, canvas_outcome_id: str | None = None
) -> dict[str, CanvasScoring]:
    """What Canvas's rollup uses for each outcome of the course (or the one asked for), as
    read at the last sync."""
    outcomes = select(CourseOutcome).where(CourseOutcome.course_pk == course.id)
    if canvas_outcome_id is not None:
        outcomes = outcomes.where(CourseOutcome.canvas_outcome_id == canvas_outcome_id)
    scale = None
    if course.scale_source == COURSE_SCALE and course.mastery_scale:
        scale = [(float(r["points"]), r.get("mastery")) for r in course.mastery_scale]
    return {
        o.canvas_outcome_id: scoring_in_force(
            method=o.calculation_method,
            calculation_int=o.calculation_int,
            points_possible=o.points_possible,
            mastery_points=o.mastery_points,
            course_scale=scale,
            new_decaying_average=course.new_decaying_average,
        )
        for o in db.scalars(outcomes)
    }


def whole_second(db: Session, column: Any) -> Any:
    """A UTC datetime column truncated to the whole second, by the database (Canvas orders
    results by whole seconds; parsing thousands of SQLite datetime strings in Python costs more
    than the rest of the grid). SQLite stores UTC as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, so
    the first 19 characters order as the whole seconds do."""
    if db.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 19)
    return func.date_trunc("second", column)


def epoch_of(value: Any) -> int:
    """Epoch seconds of what :func:`whole_second` returned (text on SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return int(value.timestamp())


def bytewise(db: Session, column: Any) -> Any:
    """Digits compared byte by byte: PostgreSQL's locale collation is needlessly slow here."""
    return column if db.get_bind().dialect.name == "sqlite" else column.collate("C")


def canvas_results(
    db: Session,
    course_pk: int,
    *,
    with_carriers: bool,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
) -> dict[Pair, list[tuple[str, ScoredResult]]]:
    """Visible results per pair in the stored (Canvas) order, as ``("canvas:<id>", result)``,
    each dated to its whole second (all Canvas's order uses). Plain columns, ordered by the
    database: a grid reads thousands of rows."""
    t = CourseOutcomeResult.__table__
    second = whole_second(db, t.c.submitted_or_assessed_at)
    query = (
        select(
            t.c.canvas_result_id,
            t.c.canvas_user_id,
            t.c.canvas_outcome_id,
            t.c.score,
            t.c.possible,
            t.c.percent,
            second,
            t.c.alignment,
            t.c.canvas_assignment_id,
        )
        .where(t.c.course_pk == course_pk, t.c.hidden.is_(False), t.c.score.is_not(None))
        # Canvas ids are integers written as text without leading zeros: (length, text) is
        # their numeric order (canvas_id_key) on every database; New Quizzes keys come last.
        .order_by(func.length(t.c.canvas_result_id), bytewise(db, t.c.canvas_result_id))
    )
    if not with_carriers:
        query = query.where(t.c.from_carrier.is_(False))
    if canvas_user_id is not None:
        query = query.where(t.c.canvas_user_id == canvas_user_id)
    if canvas_outcome_id is not None:
        query = query.where(t.c.canvas_outcome_id == canvas_outcome_id)
    out: dict[Pair, list[tuple[str, ScoredResult]]] = defaultdict(list)
    moments: dict[Any, datetime | None] = {None: None}  # few distinct times
    for rid, uid, oid, score, possible, percent, at, alignment, assignment in (
        db.connection().execute(query).all()
    ):
        moment = moments.get(at)
        if moment is None and at is not None:
            moment = moments[at] = datetime.fromtimestamp(epoch_of(at), UTC)
        out[(uid, oid)].append(
            (
                f"canvas:{rid}",
                scored_result(
                    score=score,
                    possible=possible,
                    percent=percent,
                    at=moment,
                    alignment=alignment,
                    assignment_id=assignment,
                ),
            )
        )
    return out


def canvas_scores(
    db: Session,
    course: CanvasCourse,
    *,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
) -> dict[Pair, float | None]:
    """The tool's Canvas-method score per pair (two decimals, None where Canvas shows none)."""
    scoring = scorings(db, course, canvas_outcome_id)
    rows = canvas_results(
        db,
        course.id,
        with_carriers=True,
        canvas_user_id=canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
    )
    return {
        pair: canvas_rollup([r for _, r in items], scoring[pair[1]])
        for pair, items in rows.items()
        if pair[1] in scoring
    }


def stored_rollups(
    db: Session,
    course_pk: int,
    *,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
) -> dict[Pair, float | None]:
    """Canvas's own scores as read at the last sync."""
    query = select(
        CourseRollup.canvas_user_id, CourseRollup.canvas_outcome_id, CourseRollup.score
    ).where(CourseRollup.course_pk == course_pk)
    if canvas_user_id is not None:
        query = query.where(CourseRollup.canvas_user_id == canvas_user_id)
    if canvas_outcome_id is not None:
        query = query.where(CourseRollup.canvas_outcome_id == canvas_outcome_id)
    return {(u, o): s for u, o, s in db.execute(query).all()}


def canvas_shows(
    mine: Mapping[Pair, float | None], theirs: Mapping[Pair, float | None]
) -> dict[Pair, float | None]:
    """Where Canvas's own score differs from the tool's for the same results: Canvas's score
    (None: Canvas shows nothing there)."""
    pairs = {p for p, v in mine.items() if v is not None} | {
        p for p, v in theirs.items() if v is not None
    }
    return {p: theirs.get(p) for p in pairs if mine.get(p) != theirs.get(p)}


def differences(
    db: Session,
    course: CanvasCourse,
    *,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
) -> dict[Pair, float | None]:
    """:func:`canvas_shows` for the course (or one student, or one pair); empty when the last
    sync stored no Canvas scores (an older sync, or an API key without the rollups scope)."""
    read = db.scalar(select(CourseRollup.id).where(CourseRollup.course_pk == course.id).limit(1))
    if read is None:
        return {}
    only = {"canvas_user_id": canvas_user_id, "canvas_outcome_id": canvas_outcome_id}
    return canvas_shows(canvas_scores(db, course, **only), stored_rollups(db, course.id, **only))


def basis_levels(
    db: Session,
    course: CanvasCourse,
    policy: Policy,
    mapping: AnyMapping,
    tool: Mapping[Pair, Sequence[Evidence]],
    *,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
    explain: bool = False,
) -> dict[Pair, CanvasBasisLevel]:
    """Levels in the "as Canvas" basis for every pair with evidence (of one student or one
    pair when asked); ``explain``: with the calculation in words for every pair."""
    rows = canvas_results(
        db,
        course.id,
        with_carriers=False,
        canvas_user_id=canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
    )
    wanted = {
        p: items
        for p, items in tool.items()
        if (canvas_user_id is None or p[0] == canvas_user_id)
        and (canvas_outcome_id is None or p[1] == canvas_outcome_id)
    }
    scoring = scorings(db, course, canvas_outcome_id)
    return basis_levels_from(rows, scoring, wanted, policy, mapping, explain=explain)


def basis_levels_from(
    rows: Mapping[Pair, Sequence[tuple[str, ScoredResult]]],
    scoring: Mapping[str, CanvasScoring],
    tool: Mapping[Pair, Sequence[Evidence]],
    policy: Policy,
    mapping: AnyMapping,
    *,
    explain: bool = False,
) -> dict[Pair, CanvasBasisLevel]:
    """:func:`basis_levels` over rows already read (the export reads them once per course).
    Pairs with Canvas results alone take the quick path unless ``explain`` (the drill-down
    shows the calculation in words)."""
    pairs = set(rows) | {p for p, items in tool.items() if items}
    out: dict[Pair, CanvasBasisLevel] = {}
    for pair in pairs:
        if pair[1] not in scoring:
            continue
        own = tool.get(pair, ())
        canvas = rows.get(pair, ())
        if own or explain:
            out[pair] = canvas_basis_level(canvas, own, scoring[pair[1]], policy, mapping)
        else:
            out[pair] = canvas_basis_quick(
                [r for _, r in canvas], scoring[pair[1]], policy, mapping
            )
    return out
