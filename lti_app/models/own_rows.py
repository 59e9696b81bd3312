"""The tool's own evidence records (scored demonstrations, observations, overrides) as plain
rows of one shape, ``(id, canvas_user_id, canvas_outcome_id, level, at, reason)``, so one query
can read them all (``grading.course_mastery.tool_records``); ``mastery.own_evidence`` turns
them into evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import QueryableAttribute

from lti_app.models.key_columns import StudentTargetRow

Column = QueryableAttribute[Any] | ColumnElement[Any]
OwnRows = Select[int, str, str, float | None, datetime | None, str | None]


def own_rows(
    model: type[StudentTargetRow],
    level: Column,
    at: Column,
    reason: Column,
    platform_id: int,
    canvas_course_id: str,
    canvas_user_id: str | None,
    *conditions: ColumnElement[bool],
) -> OwnRows:
    """The rows of ``model`` for the course (or one student) meeting ``conditions``, unordered;
    only the columns evidence needs."""
    query = select(
        model.id,
        model.canvas_user_id,
        model.canvas_outcome_id,
        level.label("level"),
        at.label("at"),
        reason.label("reason"),
    ).where(model.platform_id == platform_id, model.canvas_course_id == canvas_course_id)
    if conditions:
        query = query.where(*conditions)
    if canvas_user_id is not None:
        query = query.where(model.canvas_user_id == canvas_user_id)
    rows: OwnRows = query
    return rows


def oldest_first(query: OwnRows) -> OwnRows:
    """Ordered as evidence is given: by time, then row id."""
    columns = query.selected_columns
    return query.order_by(columns.at, columns.id)
