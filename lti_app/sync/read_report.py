"""The sync status in words: what the last complete sync read, kept, skipped and found.

Built from a run's stored summary (``ApplySummary.as_json``), so it never reads Canvas or the
course tables. Runs stored before these counts existed simply say less.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lti_app.sync.snapshot import (
    BASIS_ANSWER,
    BASIS_FLAG,
    BASIS_OUTCOMES,
    BASIS_ROLLUPS,
    SCALE_COURSE,
)

_HOW = {
    BASIS_FLAG: "read from the district's Canvas settings",
    BASIS_ROLLUPS: "inferred from Canvas's own Learning Mastery Gradebook scores",
    BASIS_OUTCOMES: "inferred: the outcomes are scored apart from the course scale",
    BASIS_ANSWER: "from the course's mastery scale answer (the district setting was not readable)",
}


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


# What a sync also met, said only when it happened: (the summary's count, the sentence for it).
_NOTES: tuple[tuple[str, Callable[[int, Mapping[str, Any]], str]], ...] = (
    (
        "other_alignment_results",
        lambda kept, _: (
            f"Kept {_n(kept, 'result')} aligned to something other than an "
            "assignment (a quiz, a discussion)."
        ),
    ),
    (
        "outcomes_linked_twice",
        lambda twice, _: (
            f"{_n(twice, 'outcome is', 'outcomes are')} linked in more than one "
            "group; each is shown once, under its first group."
        ),
    ),
    (
        "results_of_unlinked_outcomes",
        lambda unlinked, _: (
            f"Skipped {_n(unlinked, 'result')} of outcomes no longer in the "
            "course (deleted or unlinked)."
        ),
    ),
    (
        "students_who_left",
        lambda left, read: (
            f"{_n(left, 'student')} left the course during the sync: skipped "
            f"{_n(int(read.get('results_of_students_who_left', 0)), 'result')}."
        ),
    ),
    (
        "students_who_joined",
        lambda joined, _: (
            f"{_n(joined, 'student')} joined during the sync; their results "
            "arrive with the next sync."
        ),
    ),
)


def describe(summary: Mapping[str, Any] | None) -> list[str]:
    """Sentences for the sync page, most important first."""
    if not summary:
        return []
    counts: Mapping[str, int] = summary.get("counts") or {}
    read: Mapping[str, Any] = summary.get("read") or {}
    if not read:
        return []
    results = counts.get("results", 0)
    parts = [
        f"{read.get('hidden_results', 0):,} hidden from the Learning Mastery Gradebook "
        "(never counted)",
        f"{read.get('new_quizzes_results', 0):,} from New Quizzes",
        f"{counts.get('carrier_results', 0):,} on the tool's own evidence assignments",
    ]
    lines = [
        f"Read {_n(counts.get('outcomes', 0), 'learning target')}, "
        f"{_n(counts.get('students', 0), 'student')} and {_n(results, 'result')} "
        f"(of which {', '.join(parts)})."
    ]
    scale = (
        "the course's mastery scale"
        if read.get("scale_source") == SCALE_COURSE
        else "each outcome's own ratings and points"
    )
    lines.append(f"Canvas scores on {scale}: {_HOW.get(read.get('scale_basis', ''), 'unknown')}.")
    if read.get("decaying_basis") in (BASIS_FLAG, BASIS_ROLLUPS):
        formula = (
            "runs as a true decaying average"
            if read.get("new_decaying_average")
            else "runs as the legacy weighted formula"
        )
        lines.append(
            f"A stored standard decaying average {formula}: {_HOW[read['decaying_basis']]}."
        )
    if read.get("rollups_read"):
        differ = int(read.get("rollup_disagreements", 0))
        lines.append(
            f"Canvas's own scores were read for {_n(read.get('rollup_users', 0), 'student')}: "
            + (
                "the tool computes the same score for every one."
                if differ == 0
                else f"{_n(differ, 'score')} differ from what the tool computes from the same "
                "results (a Canvas setting the tool cannot see, such as a course-level "
                "calculation method or feature flag)."
            )
        )
    else:
        lines.append("Canvas's own scores could not be read (the API key lacks the scope).")
    lines.extend(say(count, read) for key, say in _NOTES if (count := int(read.get(key, 0))))
    return lines
