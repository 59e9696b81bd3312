"""Recording observations: checked all together, stored all or nothing, owed to Canvas.

Every entry point (the page, the CSV upload, the CLI) hands :func:`record` a list of rows as
typed. Each row is checked against the course (a student of its roster, one of its targets),
the district scale (a level's value or short label), the note's limits and the date; any bad
row refuses the whole lot with every problem by row, and nothing is stored.

The evidence is dated when it is recorded, not on the day observed: Canvas dates the result the
tool writes when it is assessed, so it is always Canvas's newest result, and dating it alike
keeps the tool's order of a student's evidence equal to Canvas's (docs/canvas.md §3.14). The day
observed is kept and shown with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from lti_app.context import Invalid, NotSynced
from lti_app.input_rules import bidi_control, control_character, finite_number
from lti_app.mastery.pathways import NOTE_MAX
from lti_app.mastery.scales import Scale
from lti_app.models.canvas import CanvasApiToken, CourseOutcome, CourseStudent, SyncRun
from lti_app.models.canvas import synced_course as synced_course_row
from lti_app.models.observation import Observation
from lti_app.models.own_rows import OwnRows, own_rows
from lti_app.policies.store import EffectivePolicy, effective_policy
from lti_app.writeback.outbox import OwedResult, enqueue_results

# Canvas's row comment names where the result came from; the note may be private, so never it.
COMMENT = "Observed by the teacher on {day}: {label} (Mastery Pathways)"
EARLIEST = date(2000, 1, 1)
# What a date input and a spreadsheet send (fromisoformat alone also takes "2026-W49-5").
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Scope:
    """Whose course: the tenant, the Canvas course, and who records (their Canvas user id)."""

    platform_id: int
    canvas_course_id: str
    recorded_by: str
    writer: str | None = None
    """Whose Canvas connection writes the results (default: who records)."""


@dataclass(frozen=True)
class Row:
    """One observation as typed; ``where`` names it in a refusal ("line 4", or a student)."""

    where: str
    canvas_user_id: str
    canvas_outcome_id: str
    level: str
    note: str = ""
    observed_on: str = ""


class Refused(Invalid):
    """Nothing was stored: ``problems`` lists (where, what is wrong) for every bad row."""

    def __init__(self, message: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(message, {where: what for where, what in problems})
        self.problems = problems


def today() -> date:
    return datetime.now(UTC).date()


def parse_level(raw: str, scale: Scale) -> float | None:
    """A level of the scale from its value ("3", "3.0") or its short label ("P"), else None."""
    text = raw.strip()
    value = finite_number(text)
    if value is not None:
        return value if scale.has_value(value) else None
    wanted = text.casefold()
    found = [lv.value for lv in scale.levels if lv.short_label.strip().casefold() == wanted]
    return found[0] if len(found) == 1 else None


def parse_day(raw: str, now: date) -> tuple[date | None, str | None]:
    """The day observed (YYYY-MM-DD; empty is today), or the reason it is not one."""
    text = raw.strip()
    if not text:
        return now, None
    try:
        day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        return None, f"the date observed “{text[:20]}” is not a date like 2026-11-20"
    # A day ahead of UTC is still "today" somewhere.
    if day > now + timedelta(days=1):
        return None, f"the date observed {text} is in the future"
    if day < EARLIEST:
        return None, f"the date observed {text} is before {EARLIEST.isoformat()}"
    return day, None


def note_problem(note: str) -> str | None:
    if control_character(note) is not None or bidi_control(note) is not None:
        return "the note contains control characters"
    if len(note) > NOTE_MAX:
        return f"the note is longer than {NOTE_MAX} characters"
    return None


def _synced_pairs(
    db: Session,
    platform_id: int,
    canvas_course_id: str,
    course_pk: InstrumentedAttribute[int],
    key: InstrumentedAttribute[str],
    value: InstrumentedAttribute[str],
) -> dict[str, str]:
    """``key -> value`` of every row of the synced course's table whose ``course_pk`` column
    is given (NotSynced when the course has not been synced)."""
    course = synced_course_row(db, platform_id, canvas_course_id)
    if course is None:
        raise NotSynced("This course has not been synced from Canvas yet.")
    return {k: v for k, v in db.execute(select(key, value).where(course_pk == course.id))}


def roster(db: Session, platform_id: int, canvas_course_id: str) -> dict[str, str]:
    student = CourseStudent
    return _synced_pairs(
        db, platform_id, canvas_course_id, student.course_pk, student.canvas_user_id, student.name
    )


def target_titles(db: Session, platform_id: int, canvas_course_id: str) -> dict[str, str]:
    outcome = CourseOutcome
    return _synced_pairs(
        db,
        platform_id,
        canvas_course_id,
        outcome.course_pk,
        outcome.canvas_outcome_id,
        outcome.title,
    )


@dataclass(frozen=True)
class _Checked:
    row: Row
    level: float
    day: date
    note: str


def _check(
    db: Session, scope: Scope, rows: list[Row], eff: EffectivePolicy
) -> tuple[list[_Checked], list[tuple[str, str]]]:
    students = roster(db, scope.platform_id, scope.canvas_course_id)
    targets = target_titles(db, scope.platform_id, scope.canvas_course_id)
    now = today()
    seen: dict[tuple[str, str, date], str] = {}
    already = _recorded(db, scope)
    good: list[_Checked] = []
    problems: list[tuple[str, str]] = []
    for row in rows:
        wrong: list[str] = []
        uid, oid = row.canvas_user_id.strip(), row.canvas_outcome_id.strip()
        if uid not in students:
            wrong.append(f"no student {uid[:20] or '(empty)'} in this course")
        if oid not in targets:
            wrong.append(f"no learning target {oid[:20] or '(empty)'} in this course")
        level = parse_level(row.level, eff.scale)
        if level is None:
            shown = row.level.strip()[:20] or "(empty)"
            wrong.append(f"the level “{shown}” is not on the scale “{eff.scale.name}”")
        day, bad_day = parse_day(row.observed_on, now)
        if bad_day:
            wrong.append(bad_day)
        note = row.note.strip()
        if problem := note_problem(note):
            wrong.append(problem)
        if day is not None and not wrong:
            key = (uid, oid, day)
            if key in seen:
                wrong.append(f"the same student, target and date as {seen[key]}")
            else:
                seen[key] = row.where
            if level is not None and (uid, oid, day, level) in already:
                wrong.append("already recorded (same student, target, date and level)")
        if wrong:
            problems.append((row.where, "; ".join(wrong)))
        elif level is not None and day is not None:
            good.append(_Checked(row, level, day, note))
    return good, problems


def _recorded(db: Session, scope: Scope) -> set[tuple[str, str, date, float]]:
    return {
        (uid, oid, day, level)
        for uid, oid, day, level in db.execute(
            select(
                Observation.canvas_user_id,
                Observation.canvas_outcome_id,
                Observation.observed_on,
                Observation.level,
            ).where(
                Observation.in_course(scope.platform_id, scope.canvas_course_id),
            )
        )
    }


def _line_order(problem: tuple[str, str]) -> int:
    number = problem[0].removeprefix("line ")
    return int(number) if number.isdigit() else 0


def record(
    db: Session,
    scope: Scope,
    rows: list[Row],
    via: str,
    unreadable: list[tuple[str, str]] | None = None,
) -> list[Observation]:
    """Store every row as an observation with its write-back item, in the caller's
    transaction; :class:`Refused` (nothing stored) when any row is bad, when ``unreadable``
    names lines that were not rows at all, or when there is nothing to record."""
    eff = effective_policy(db, scope.platform_id, scope.canvas_course_id)
    if not rows and not unreadable:
        raise Refused(
            "Nothing was recorded.", [("levels", "Choose a level for at least one student.")]
        )
    good, problems = _check(db, scope, rows, eff)
    problems = sorted([*(unreadable or []), *problems], key=_line_order)
    if problems:
        total = len(rows) + len(unreadable or [])
        raise Refused(
            f"Nothing was recorded: {len(problems)} of {total} rows need fixing.", problems
        )
    now = datetime.now(UTC)
    stored = [
        Observation(
            platform_id=scope.platform_id,
            canvas_course_id=scope.canvas_course_id,
            canvas_user_id=c.row.canvas_user_id.strip(),
            canvas_outcome_id=c.row.canvas_outcome_id.strip(),
            level=c.level,
            scale_version_id=eff.scale_version_id,
            note=c.note or None,
            observed_on=c.day,
            recorded_at=now,
            recorded_by=scope.recorded_by,
            via=via,
        )
        for c in good
    ]
    db.add_all(stored)
    db.flush()  # ids for the write-back keys
    writer = scope.recorded_by if scope.writer is None else scope.writer
    enqueue_results(
        db,
        eff,
        [
            OwedResult.of(
                obs,
                obs.level,
                key=f"obs:{obs.id}",
                comment=COMMENT.format(
                    day=obs.observed_on.isoformat(), label=eff.scale.level(obs.level).label
                ),
                teacher_canvas_user_id=writer,
            )
            for obs in stored
        ],
    )
    return stored


def connected_teacher(db: Session, platform_id: int, canvas_course_id: str) -> str:
    """Whose stored Canvas connection writes what the CLI imports: the latest teacher who
    synced the course and is still connected ("" when none is, so delivery says so)."""
    requesters = db.scalars(
        select(SyncRun.requested_by)
        .where(SyncRun.platform_id == platform_id, SyncRun.canvas_course_id == canvas_course_id)
        .order_by(SyncRun.created_at.desc(), SyncRun.id.desc())
    )
    for uid in dict.fromkeys(requesters):
        found = db.scalar(
            select(CanvasApiToken.id).where(
                CanvasApiToken.platform_id == platform_id, CanvasApiToken.canvas_user_id == uid
            )
        )
        if found is not None:
            return uid
    return ""


def observation_rows(
    platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> OwnRows:
    """Every observation of the course (or of one student) as an ``own_rows`` row; the note is
    the evidence's ``reason`` (shown with it). ``grading.course_mastery.tool_evidence`` makes
    it evidence."""
    return own_rows(
        Observation,
        Observation.level,
        Observation.recorded_at,
        Observation.note,
        platform_id,
        canvas_course_id,
        canvas_user_id,
    )


def observed_days(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str, outcome_id: str
) -> list[Observation]:
    """One student's observations on one target, oldest first (drill-down, student page)."""
    return list(
        db.scalars(
            select(Observation)
            .where(
                Observation.in_course(platform_id, canvas_course_id),
                Observation.canvas_user_id == canvas_user_id,
                Observation.canvas_outcome_id == outcome_id,
            )
            .order_by(Observation.recorded_at, Observation.id)
        )
    )
