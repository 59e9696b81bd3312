"""A course's own-evidence records kept between requests, re-read only where they changed.

The class grid needs every pair's records (``course_mastery.tool_records``) on every request,
and under teachers' writes a full read of a busy course is most of the grid's database time.
Each write stamps the pairs it changed with the course's next version, in commit order
(``lti_app.models.evidence_version``), so a reader that kept the records as of version ``c``
and now sees version ``v`` re-reads exactly the pairs stamped after ``c`` (the version and
those pairs come from one statement). The records kept are those of version ``v`` or newer
(the version is read first): a write that lands between the reads is read again next time,
never missed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from lti_app.grading.course_mastery import tool_records
from lti_app.mastery.own_evidence import OwnRecord
from lti_app.models.evidence_version import changes_since, course_version

Records = dict[tuple[str, str], tuple[OwnRecord, ...]]

COURSES_KEPT = 32
#: More changed pairs than this since the kept version: one full read costs less.
MOST_PAIRS_REREAD = 400

_KEPT: OrderedDict[tuple[Any, ...], tuple[int, Records]] = OrderedDict()
_LOCK = threading.Lock()


def forget_all() -> None:
    with _LOCK:
        _KEPT.clear()


def course_records(db: Session, platform_id: int, canvas_course_id: str) -> Records:
    """Every pair's records of the course, as fresh as a full read (treat as read-only)."""
    key = (str(db.get_bind().engine.url), platform_id, canvas_course_id)
    with _LOCK:
        kept = _KEPT.get(key)
    if kept is None:
        version, changed = course_version(db, platform_id, canvas_course_id), None
    else:
        version, changed = changes_since(db, platform_id, canvas_course_id, kept[0])
        if kept[0] == version:
            with _LOCK:
                if key in _KEPT:
                    _KEPT.move_to_end(key)
            return kept[1]
    records: Records | None = None
    if (
        kept is not None
        and changed is not None
        and kept[0] < version
        and len(changed) <= MOST_PAIRS_REREAD
    ):
        fresh = tool_records(db, platform_id, canvas_course_id, pairs=changed)
        records = {p: r for p, r in kept[1].items() if p not in changed}
        records.update(fresh)
    if records is None:
        records = tool_records(db, platform_id, canvas_course_id)
    with _LOCK:
        now = _KEPT.get(key)
        if now is None or now[0] <= version:  # a slower request never replaces newer records
            _KEPT[key] = (version, records)
            _KEPT.move_to_end(key)
            while len(_KEPT) > COURSES_KEPT:
                _KEPT.popitem(last=False)
    return records
