"""New Quizzes results: they live in the Outcomes Service, not in LearningOutcomeResults.

canvas-lms merges them into ``outcome_results`` and rollups as unsaved records
(``OutcomesServiceAuthoritativeResultsHelper#json_to_outcome_result``): their ``id`` is null
(docs/canvas.md §1.1). The sandbox stores them beside the others, flagged, under an internal key.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from canvas_sandbox import outcomes as om
from canvas_sandbox import rubrics
from canvas_sandbox.state import Assignment, LearningOutcomeResult, SandboxState


def add_new_quiz(
    state: SandboxState,
    course_id: int,
    title: str,
    outcome_ids: Sequence[int],
    students: Sequence[int],
    *,
    at: datetime,
    rng: random.Random,
    points_possible: float = 4.0,
) -> Assignment:
    """A New Quiz aligned to ``outcome_ids`` with one Outcomes Service result per student and
    outcome (percent of the quiz's points for that outcome's questions)."""
    with state.lock:
        quiz = rubrics.create_assignment(
            state,
            course_id,
            title,
            points_possible=points_possible,
            submission_types=("external_tool",),
            due_at=at,
        )
        quiz.new_quiz = True
        for outcome_id in outcome_ids:
            alignment = om.align(state, course_id, quiz.id, outcome_id)
            for student in students:
                score = float(rng.randint(1, int(points_possible)))
                result = LearningOutcomeResult(
                    id=state.next_id("learning_outcome_result", 1),
                    course_id=course_id,
                    user_id=student,
                    outcome_id=outcome_id,
                    alignment_id=alignment.id,
                    association_id=0,  # no rubric association: the quiz itself
                    assignment_id=quiz.id,
                    title=f"{state.users[student].name}, {title}",
                    score=score,
                    possible=points_possible,
                    percent=score / points_possible,
                    mastery=score / points_possible >= 0.75,
                    submitted_at=at,
                    assessed_at=at,
                    from_outcomes_service=True,
                )
                state.results[result.id] = result
        state.result_generation += 1
        return quiz
