"""How the tool names a sandbox result: Canvas's id, or for a New Quizzes result (sent with
``"id": null``) the key the client derives from what Canvas sends for it."""

from __future__ import annotations

from typing import Any

from canvas_sandbox.serializers import outcome_result_json
from lti_app.canvas.client.types import parse_outcome_result


def canvas_result_id(row: Any) -> str:
    """`row`: a canvas_sandbox LearningOutcomeResult, named as the client reads it."""
    return parse_outcome_result(outcome_result_json(row)).id
