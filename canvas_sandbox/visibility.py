"""Which outcome results a student may see of their own (docs/canvas.md §1.6).

``Outcomes::ResultAnalytics#find_outcome_results`` applies
``LearningOutcomeResult.exclude_muted_associations`` to callers without ``manage_grades`` /
``view_all_grades``: a result stays visible when its submission is posted, the assignment is
``not_graded``, or the assignment's post policy is automatic.
"""

from __future__ import annotations

from canvas_sandbox.state import LearningOutcomeResult, SandboxState


def visible_to_student(state: SandboxState, result: LearningOutcomeResult) -> bool:
    assignment = state.assignments.get(result.assignment_id)
    if assignment is None or assignment.grading_type == "not_graded":
        return True
    if not assignment.post_manually:
        return True
    return any(
        s.assignment_id == result.assignment_id
        and s.user_id == result.user_id
        and s.posted_at is not None
        for s in state.submissions.values()
    )
