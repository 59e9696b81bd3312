"""The teacher's class grid: every student x target cell, kept between requests until the
data of that cell changes (a sync, a policy, or the tool's own evidence of that pair)."""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_app.grading import canvas_parity, own_records
from lti_app.grading.canvas_parity import bytewise, epoch_of, whole_second
from lti_app.grading.course_mastery import course_row
from lti_app.mastery.calculation import (
    Basis,
    Evidence,
    Policy,
    SourceKind,
    compute,
    current_level,
    ordered,
    ruby_round2,
)
from lti_app.mastery.canvas_rollup import CanvasScoring, ScoredResult
from lti_app.mastery.mapping import AnyMapping
from lti_app.mastery.own_evidence import OwnRecord, own_item
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcomeResult,
    CourseSection,
    CourseStudent,
    canvas_id_key,
    outcomes_in_outline,
)

Key = tuple[str, str]


class UnknownPair(LookupError):
    """The student or the target is not part of this synced course."""


@dataclass(frozen=True, slots=True)
class GridStudent:
    canvas_user_id: str
    name: str
    sortable_name: str
    section_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GridTarget:
    canvas_outcome_id: str
    title: str
    group: str
    """The outcome group path joined with " / " ("" for outcomes at the course root)."""
    name: str = ""
    """Code and title ("RL.7.2: Theme and summary", ``target_name``); "" where not read."""

    @property
    def full(self) -> str:
        return self.name or self.title


@dataclass(frozen=True, slots=True)
class GridCell:
    level: float | None
    level_index: int | None
    """Index into ``scale.levels`` of the level ``level`` falls in (floor), None for no level."""
    mastered: bool
    evidence_count: int
    change: float | None
    """Growth since the first evidence (None without a current level)."""
    overridden: bool
    canvas_differs: bool = False
    """Canvas's own Learning Mastery Gradebook score differs from the tool's Canvas-method
    score for the same results (``canvas_parity.canvas_shows``)."""
    canvas_shows: float | None = None
    """Canvas's score where it differs (None: Canvas shows nothing there)."""


@dataclass(frozen=True)
class Grid:
    course: CanvasCourse
    sections: list[tuple[str, str]]
    students: list[GridStudent]
    targets: list[GridTarget]
    cells: dict[tuple[str, str], GridCell]


def grid_targets(db: Session, course_pk: int) -> list[GridTarget]:
    return [
        GridTarget(o.canvas_outcome_id, o.title, " / ".join(o.group_path), o.name)
        for o in outcomes_in_outline(db, course_pk)
    ]


def canvas_evidence(
    db: Session,
    course_pk: int,
    mapping: AnyMapping,
    canvas_user_id: str | None = None,
    canvas_outcome_id: str | None = None,
) -> dict[tuple[str, str], list[Evidence]]:
    """:func:`evidence_of` reading only the columns it needs (the grid reads thousands of rows)."""
    query = select(
        CourseOutcomeResult.canvas_result_id,
        CourseOutcomeResult.canvas_user_id,
        CourseOutcomeResult.canvas_outcome_id,
        CourseOutcomeResult.score,
        CourseOutcomeResult.possible,
        CourseOutcomeResult.submitted_or_assessed_at,
    ).where(
        CourseOutcomeResult.course_pk == course_pk,
        CourseOutcomeResult.hidden.is_(False),
        CourseOutcomeResult.from_carrier.is_(False),
        CourseOutcomeResult.score.is_not(None),
        CourseOutcomeResult.submitted_or_assessed_at.is_not(None),
    )
    if canvas_user_id is not None:
        query = query.where(CourseOutcomeResult.canvas_user_id == canvas_user_id)
    if canvas_outcome_id is not None:
        query = query.where(CourseOutcomeResult.canvas_outcome_id == canvas_outcome_id)
    rows = sorted(db.execute(query).all(), key=lambda r: canvas_id_key(r[0]))
    out: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    to_level = mapping.to_level
    for rid, uid, oid, score, possible, at in rows:
        if score is None or at is None:  # filtered by the query; the types do not know
            continue
        level = to_level(score, possible)
        if level is not None:
            out[(uid, oid)].append(Evidence(level, at, id=f"canvas:{rid}"))
    return out


def grid(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
    now: datetime,
) -> Grid:
    """Every student x target of a synced course (tenant-scoped) with level and growth.

    The Canvas side (roster, targets, every Canvas-only cell) is computed once per sync and
    policy (see :func:`_base_key`) and kept in a small per-process cache. The tool's own
    evidence (demonstrations, observations, overrides) is as fresh as a full read on every
    request, re-reading only the pairs changed since (``own_records``); a pair's cell with it
    is kept beside the Canvas side together with the records it was computed from, and
    computed again only when the records it is given differ. So a
    teacher's override recomputes one cell, whichever process stored it, and no pair's cell is
    ever older than the records just read.
    """
    course = course_row(db, platform_id, canvas_course_id)
    records = own_records.course_records(db, platform_id, canvas_course_id)
    key = _base_key(db, course, scale, policy, mapping)
    with _GRID_LOCK:
        base = _GRID_CACHE.get(key)
        if base is not None:
            _GRID_CACHE.move_to_end(key)
    if base is None:
        base = _compute_base(db, course, scale, policy, mapping)
        with _GRID_LOCK:
            _GRID_CACHE[key] = base
            while len(_GRID_CACHE) > GRID_CACHE_SIZE:
                _GRID_CACHE.popitem(last=False)
    last = base.merged[0]
    if last is not None and last[0] is records:
        cells = last[1]  # nothing changed since the last request: the same cells
    else:
        cells = _merge(base, records, last, scale, policy, mapping)
        base.merged[0] = (records, cells)
    return Grid(course, base.sections, base.students, base.targets, cells)


def _merge(
    base: _Base,
    records: own_records.Records,
    last: tuple[own_records.Records, dict[Key, GridCell]] | None,
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
) -> dict[Key, GridCell]:
    """Every cell: the Canvas side with the tool's own evidence merged in. From the last merge
    when there is one: kept records are the same objects (``own_records``), so only pairs
    whose records object changed, or which lost their records, are looked at again."""
    known = base.known_students, base.known_targets
    if last is None:
        cells = dict(base.cells)
        changed: Iterable[tuple[Key, tuple[OwnRecord, ...]]] = records.items()
    else:
        before, cells = last[0], dict(last[1])
        changed = [(p, own) for p, own in records.items() if before.get(p) is not own]
        for pair in before.keys() - records.keys():  # its records are gone: Canvas's alone
            if pair in base.cells:
                cells[pair] = base.cells[pair]
            else:
                cells.pop(pair, None)
    for pair, own in changed:
        if pair[0] in known[0] and pair[1] in known[1]:
            cells[pair] = _own_cell(base, pair, own, scale, policy, mapping)
    return cells


def _own_cell(
    base: _Base,
    pair: Key,
    own: tuple[OwnRecord, ...],
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
) -> GridCell:
    """The cell of a pair with the tool's own evidence ``own`` (just read) merged into its
    Canvas evidence: the kept one when it was computed from equal records, else computed now.

    A cell is a function of the base (its key fixes the synced rows, scale, policy and
    mapping) and of the pair's records alone, so equal records give an equal cell: exact, and
    blind to which process or thread wrote them. Threads of one process may compute the same
    cell at once; each stores its own records with its cell, so a slower thread storing older
    records only costs a recomputation later, never a wrong cell."""
    kept = base.own_cells.get(pair)
    if kept is not None and kept[0] == own:
        return kept[1]
    tool = [own_item(*record) for record in own]
    if policy.basis is Basis.CANVAS:
        cell = _canvas_cells(base, {pair: tool}, scale, policy, mapping)[pair]
    else:
        cell = _mixed_cell(base, pair, tool, scale, policy)
    was = base.cells.get(pair)  # Canvas's own score is about its results alone
    if was is not None and was.canvas_differs:
        cell = replace(cell, canvas_differs=True, canvas_shows=was.canvas_shows)
    base.own_cells[pair] = (own, cell)
    return cell


@dataclass(frozen=True)
class _Base:
    """A course's grid from its Canvas evidence alone, as of one sync."""

    sections: list[tuple[str, str]]
    students: list[GridStudent]
    targets: list[GridTarget]
    known_students: frozenset[str]
    known_targets: frozenset[str]
    canvas: dict[tuple[str, str], list[float]]
    """Levels per (user, outcome) in Canvas order."""
    seconds: dict[tuple[str, str], list[Any]]
    """Each level's whole second, as the database returned it (``canvas_parity.epoch_of``)."""
    cells: dict[tuple[str, str], GridCell]
    """The Canvas-only cell of every known pair with Canvas evidence."""
    rows: dict[tuple[str, str], list[tuple[str, ScoredResult]]] = field(default_factory=dict)
    """The "as Canvas" basis: each pair's Canvas results as Canvas scores them."""
    scorings: dict[str, CanvasScoring] = field(default_factory=dict)
    """The "as Canvas" basis: what Canvas's rollup uses per outcome."""
    own_cells: dict[Key, tuple[tuple[OwnRecord, ...], GridCell]] = field(default_factory=dict)
    """Cells of pairs with the tool's own evidence, each with the records it was computed from
    (:func:`_own_cell`); at most one per known pair, and dropped with the base (LRU)."""
    merged: list[tuple[own_records.Records, dict[Key, GridCell]] | None] = field(
        default_factory=lambda: [None]
    )
    """The last merge (:func:`_merge`): the records it took and the cells it gave (the only
    field written after the base is made; one tuple, swapped whole)."""


GRID_CACHE_SIZE = 16
_GRID_CACHE: OrderedDict[tuple[Any, ...], _Base] = OrderedDict()
_GRID_LOCK = threading.Lock()


def clear_grid_cache() -> None:
    with _GRID_LOCK:
        _GRID_CACHE.clear()
    own_records.forget_all()


def _base_key(
    db: Session, course: CanvasCourse, scale: Scale, policy: Policy, mapping: AnyMapping
) -> tuple[Any, ...]:
    """Everything the Canvas side of a grid depends on. The synced rows (roster, sections,
    targets, results) only change through a completed sync, which always sets a new
    ``last_sync_run_id`` and ``last_synced_at`` (lti_app.sync.apply); the policy, scale and
    mapping are immutable values. The tool's own evidence is not part of it: it is applied
    per request (:func:`grid`)."""
    return (
        str(db.get_bind().engine.url),
        course.id,
        course.last_sync_run_id,
        course.last_synced_at,
        scale,
        policy,
        mapping,
    )


def course_roster(
    db: Session, course_pk: int, canvas_user_id: str | None = None
) -> tuple[list[tuple[str, str]], list[GridStudent]]:
    """The course's sections (by name) and students (Canvas's sortable-name order), or only
    the one student asked for."""
    sections = sorted(
        (
            (sid, name)
            for sid, name in db.execute(
                select(CourseSection.canvas_section_id, CourseSection.name).where(
                    CourseSection.course_pk == course_pk
                )
            )
        ),
        key=lambda s: (s[1].casefold(), s[0]),
    )
    query = (
        select(
            CourseStudent.canvas_user_id,
            CourseStudent.name,
            CourseStudent.sortable_name,
            CourseStudent.section_ids,
        )
        .where(CourseStudent.course_pk == course_pk)
        .order_by(CourseStudent.sortable_name, CourseStudent.canvas_user_id)
    )
    if canvas_user_id is not None:
        query = query.where(CourseStudent.canvas_user_id == canvas_user_id)
    students = [
        GridStudent(uid, name, sortable, tuple(section_ids))
        for uid, name, sortable, section_ids in db.execute(query)
    ]
    return sections, students


def _compute_base(
    db: Session,
    course: CanvasCourse,
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
) -> _Base:
    sections, students = course_roster(db, course.id)
    targets = grid_targets(db, course.id)
    known_students = frozenset(st.canvas_user_id for st in students)
    known_targets = frozenset(t.canvas_outcome_id for t in targets)
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    values = scale.values
    method, param, minimum = policy.method, policy.effective_parameter, policy.minimum_evidence
    cells: dict[tuple[str, str], GridCell] = {}
    canvas, seconds = _canvas_levels(db, course.id, mapping)
    for key, scores in canvas.items():
        if key[0] not in known_students or key[1] not in known_targets:
            continue  # a dropped student or an unlinked outcome
        # Fast path (Canvas evidence only): exactly current_level() without building Evidence
        # objects; the scores are in Canvas order already.
        count = len(scores)
        level = None if count < minimum else compute(method, scores, param, threshold, lo, hi)
        cells[key] = _grid_cell(values, threshold, level, scores[0], count, False)
    base = _Base(sections, students, targets, known_students, known_targets, canvas, seconds, cells)
    if policy.basis is Basis.CANVAS:
        base = replace(
            base,
            rows=canvas_parity.canvas_results(db, course.id, with_carriers=False),
            scorings=canvas_parity.scorings(db, course),
        )
        base.cells.clear()
        base.cells.update(_canvas_cells(base, {}, scale, policy, mapping))
    for key, theirs in canvas_parity.differences(db, course).items():
        if key[0] in known_students and key[1] in known_targets:
            was = base.cells.get(key, _EMPTY)
            base.cells[key] = replace(was, canvas_differs=True, canvas_shows=theirs)
    return base


_EMPTY = GridCell(None, None, False, 0, None, False)


def _canvas_cells(
    base: _Base,
    tool: dict[tuple[str, str], list[Evidence]],
    scale: Scale,
    policy: Policy,
    mapping: AnyMapping,
) -> dict[tuple[str, str], GridCell]:
    """Cells in the "as Canvas" basis: every known pair with Canvas results (``tool`` empty),
    or the pairs ``tool`` names with the tool's own evidence merged."""
    rows = base.rows if not tool else {p: base.rows.get(p, []) for p in tool}
    levels = canvas_parity.basis_levels_from(rows, base.scorings, tool, policy, mapping)
    cells: dict[tuple[str, str], GridCell] = {}
    for key, level in levels.items():
        if key[0] not in base.known_students or key[1] not in base.known_targets:
            continue
        result = level.result
        first = level.first_level if level.first_level is not None else result.value
        cells[key] = _grid_cell(
            scale.values,
            scale.mastery_threshold,
            result.value,
            first if first is not None else 0.0,
            result.evidence_count,
            result.overridden,
        )
    return cells


def _mixed_cell(
    base: _Base, key: tuple[str, str], tool: list[Evidence], scale: Scale, policy: Policy
) -> GridCell:
    """One cell with the tool's own evidence merged into its Canvas evidence."""
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold
    values = scale.values
    timed = list(
        zip(
            base.canvas.get(key, ()),
            [epoch_of(at) for at in base.seconds.get(key, ())],
            strict=True,
        )
    )
    if all(e.kind is not SourceKind.OVERRIDE for e in tool):
        # Demonstrations are plain scores: the fast path on (score, whole second), sorted
        # stably as ordered() does (Canvas order first, then the tool's own).
        timed += [(e.score, math.floor(e.at.timestamp())) for e in tool]
        timed.sort(key=itemgetter(1))
        scores = [score for score, _ in timed]
        count = len(scores)
        method, param = policy.method, policy.effective_parameter
        minimum = policy.minimum_evidence
        level = None if count < minimum else compute(method, scores, param, threshold, lo, hi)
        return _grid_cell(values, threshold, level, scores[0], count, False)
    own = [Evidence(level, datetime.fromtimestamp(second, UTC)) for level, second in timed]
    items = ordered([*own, *tool])  # stable: Canvas order, then the tool's own
    result = current_level(items, policy, lo, hi, threshold)
    return _grid_cell(
        values, threshold, result.value, items[0].score, len(items), result.overridden
    )


def _grid_cell(
    values: tuple[float, ...],
    threshold: float,
    level: float | None,
    first: float,
    count: int,
    overridden: bool,
) -> GridCell:
    if level is None:
        return GridCell(None, None, False, count, None, False)
    # The same figures as growth(): change since the first evidence, mastery at the threshold.
    change = ruby_round2(level - ruby_round2(first))
    return GridCell(
        level, level_index(values, level), level >= threshold, count, change, overridden
    )


def level_index(values: tuple[float, ...], level: float) -> int | None:
    """The level ``level`` falls in (floor, as Canvas rates a rollup, see Scale.level_for)."""
    i = bisect_right(values, level) - 1  # values ascend (a Scale guarantees it)
    return i if i >= 0 else None


def _canvas_levels(
    db: Session, course_pk: int, mapping: AnyMapping
) -> tuple[dict[Key, list[float]], dict[Key, list[Any]]]:
    """Levels per (user, outcome) in Canvas order (whole second, then result id): the rules
    of :func:`evidence_of`, with the ordering done by the database and only plain columns read
    (a grid reads thousands of rows). Also each level's whole second as the database returned
    it, unparsed (:func:`canvas_parity.epoch_of` turns the few merged with the tool's evidence
    into numbers)."""
    t = CourseOutcomeResult.__table__
    second = whole_second(db, t.c.submitted_or_assessed_at)
    query = (
        select(t.c.canvas_user_id, t.c.canvas_outcome_id, t.c.score, t.c.possible, second)
        .where(
            t.c.course_pk == course_pk,
            t.c.hidden.is_(False),
            t.c.from_carrier.is_(False),
            t.c.score.is_not(None),
            t.c.submitted_or_assessed_at.is_not(None),
        )
        # Canvas ids are integers written as text without leading zeros, so (length, text) is
        # their numeric order (canvas_id_key) on every database.
        .order_by(
            second,
            func.length(t.c.canvas_result_id),
            bytewise(db, t.c.canvas_result_id),
        )
    )
    out: dict[Key, list[float]] = defaultdict(list)
    seconds: dict[Key, list[Any]] = defaultdict(list)
    levels: dict[tuple[float, float | None], float | None] = {}  # few distinct scores
    to_level = mapping.to_level
    for uid, oid, score, possible, at in db.connection().execute(query).all():  # one fetch
        pair = (score, possible)
        if pair in levels:
            level = levels[pair]
        else:
            level = levels[pair] = to_level(score, possible)
        if level is not None:
            key = (uid, oid)
            out[key].append(level)
            seconds[key].append(at)
    return out, seconds
