"""The tool's own records as evidence: scored demonstrations, observations, teacher overrides.

Every source reads the same plain row, ``(row id, student, target, level, time, reason)``, so
one query can read them all (``grading.course_mastery.tool_records``) and the rows themselves
can stand for the evidence they make (the grid keeps a cell while its rows are unchanged).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from lti_app.mastery.calculation import Evidence, SourceKind

Pair = tuple[str, str]
OwnRow = tuple[int, str, str, float | None, datetime | None, str | None]
"""Row id, student (canvas_user_id), target (canvas_outcome_id), level, time, reason; the
level and time are never None (the queries leave such rows out; some columns allow it)."""
OwnRecord = tuple[SourceKind, int, float, datetime, str | None]
"""One pair's row: its kind, row id, level, time and reason."""

ID_PREFIX = {
    SourceKind.DEMONSTRATION: "demo",
    SourceKind.OBSERVATION: "obs",
    SourceKind.OVERRIDE: "override",
}
"""Evidence ids name the record: "demo:<id>" (the drill-down links it), "obs:<id>",
"override:<id>" (clearing an override finds its row)."""


def own_item(
    kind: SourceKind, row_id: int, level: float, at: datetime, reason: str | None
) -> Evidence:
    return Evidence(level, at, kind=kind, reason=reason, id=f"{ID_PREFIX[kind]}:{row_id}")


def by_pair(kind: SourceKind, rows: Iterable[OwnRow]) -> dict[Pair, list[Evidence]]:
    """Rows of one source, in the order given, as evidence per (student, target)."""
    out: dict[Pair, list[Evidence]] = defaultdict(list)
    for row_id, uid, oid, level, at, reason in rows:
        if level is not None and at is not None:
            out[(uid, oid)].append(own_item(kind, row_id, level, at, reason))
    return dict(out)
