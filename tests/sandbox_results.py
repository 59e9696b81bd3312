"""How the tool names a sandbox result: Canvas's id, or for a New Quizzes result (sent with
``"id": null``) the key the client derives from student, outcome and quiz."""

from __future__ import annotations

from typing import Any

from lti_app.canvas.client.types import outcomes_service_result_id


def canvas_result_id(row: Any) -> str:
    """`row`: a canvas_sandbox LearningOutcomeResult."""
    if row.from_outcomes_service:
        return outcomes_service_result_id(
            str(row.user_id), str(row.outcome_id), f"assignment_{row.assignment_id}"
        )
    return str(row.id)
