"""LearningOutcomeResults: the delayed write after an assessment, and the read query
(docs/canvas.md §1.3, §3.12).

Canvas writes results in a background job a little after the rubric assessment. The sandbox
models that lazily and deterministically: an assessment schedules a ``PendingResult`` due
``result_delay_ms`` later, and every read first materialises the ones whose time has come.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from canvas_sandbox.state import LearningOutcomeResult, PendingResult, SandboxState


def _key(result: LearningOutcomeResult) -> tuple[int, int, int]:
    return (result.alignment_id, result.association_id, result.user_id)


def schedule(state: SandboxState, result: LearningOutcomeResult) -> None:
    """Queue a result write (one result per alignment, association and user).

    The caller runs ``materialize`` once it has queued an assessment's results (with no
    delay they land at once)."""
    with state.lock:
        # The job runs result_delay_ms after the save it follows (``assessed_at`` holds the
        # save time until the job stamps its own).
        due = result.assessed_at + timedelta(milliseconds=state.result_delay_ms)
        state.pending_results.append(PendingResult(due, result))


def materialize(state: SandboxState, *, everything: bool = False) -> None:
    """Run the 'jobs' that are due (``everything``: all queued, for history written by the
    seed): insert new results, update (re-version) existing ones."""
    with state.lock:
        if not state.pending_results:
            return
        now = max(p.due for p in state.pending_results) if everything else state.now()
        due = [p for p in state.pending_results if p.due <= now]
        if not due:
            return
        state.pending_results = [p for p in state.pending_results if p.due > now]
        for pending in due:
            new = pending.result
            # create_outcome_result: assessed_at = Time.zone.now when the job runs.
            new.assessed_at = pending.due
            assoc = state.rubric_associations.get(new.association_id)
            if assoc is None or assoc.workflow_state != "active":
                continue  # the association was destroyed before the job ran
            existing = state.result_keys.get(_key(new))
            if existing is not None and existing in state.results:
                new.id = existing
            else:
                new.id = state.next_id("learning_outcome_result", 1)
            state.results[new.id] = new
            state.result_keys[_key(new)] = new.id
        state.result_generation += 1


def delete_for_association(state: SandboxState, association_id: int) -> int:
    """``destroy_all`` of an association's results (the uniqueness trap, docs/canvas.md §3.6)."""
    with state.lock:
        doomed = [r.id for r in state.results.values() if r.association_id == association_id]
        for result_id in doomed:
            state.result_keys.pop(_key(state.results[result_id]), None)
            del state.results[result_id]
        state.pending_results = [
            p for p in state.pending_results if p.result.association_id != association_id
        ]
        state.result_generation += 1
        return len(doomed)


def course_results(
    state: SandboxState,
    course_id: int,
    *,
    user_ids: Iterable[int] | None = None,
    outcome_ids: Iterable[int] | None = None,
    include_hidden: bool = False,
) -> list[LearningOutcomeResult]:
    """Active results with an active alignment, ordered as Canvas orders them
    (docs/canvas.md §1.3)."""
    materialize(state)
    users = set(user_ids) if user_ids is not None else None
    outcomes = set(outcome_ids) if outcome_ids is not None else None
    with state.lock:
        rows = [
            r
            for r in state.results.values()
            if r.course_id == course_id
            and r.workflow_state == "active"
            and (users is None or r.user_id in users)
            and (outcomes is None or r.outcome_id in outcomes)
            and (include_hidden or not r.hidden)
            and r.alignment_id in state.alignments
            and state.alignments[r.alignment_id].workflow_state == "active"
        ]

        names = {uid: state.users[uid].sortable_name for uid in {r.user_id for r in rows}}
        # Outcomes Service (New Quizzes) results have no id: after the stored ones.
        return sorted(
            rows,
            key=lambda r: (
                names[r.user_id],
                r.user_id,
                r.outcome_id,
                r.from_outcomes_service,
                r.id,
            ),
        )


def _still_listed(state: SandboxState, result: LearningOutcomeResult, include_hidden: bool) -> bool:
    alignment = state.alignments.get(result.alignment_id)
    return (
        state.results.get(result.id) is result
        and result.workflow_state == "active"
        and (include_hidden or not result.hidden)
        and alignment is not None
        and alignment.workflow_state == "active"
    )


def course_results_cached(
    state: SandboxState,
    course_id: int,
    *,
    user_ids: Sequence[int],
    outcome_ids: Sequence[int],
    include_hidden: bool = False,
) -> list[LearningOutcomeResult]:
    """``course_results`` memoised for paging through one big list (docs/canvas.md §1.1).

    Walking N results page by page would otherwise filter and sort everything N/per_page
    times. The key covers the filters (recomputed per request from the roster and links),
    the result generation (bumped by every write here) and the table sizes; ``page_is_current``
    re-checks the rows actually served, so results deleted behind the cache's back are caught.
    """
    materialize(state)
    with state.lock:
        key = (
            course_id,
            tuple(user_ids),
            tuple(outcome_ids),
            include_hidden,
            state.result_generation,
            len(state.results),
            len(state.alignments),
        )
        cached = state.result_cache.get(key)
        if cached is None:
            cached = course_results(
                state,
                course_id,
                user_ids=user_ids,
                outcome_ids=outcome_ids,
                include_hidden=include_hidden,
            )
            if len(state.result_cache) >= 8:
                state.result_cache.clear()
            state.result_cache[key] = cached
        rows: list[LearningOutcomeResult] = cached
        return rows


def page_is_current(
    state: SandboxState, rows: Sequence[LearningOutcomeResult], include_hidden: bool
) -> bool:
    """Whether every served row is still listable (else the caller recomputes)."""
    return all(_still_listed(state, r, include_hidden) for r in rows)


def forget_cache(state: SandboxState) -> None:
    with state.lock:
        state.result_cache.clear()
