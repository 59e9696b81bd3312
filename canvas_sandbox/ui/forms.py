"""The rating forms of the Outcomes page and the account page: rows as typed (so a bad save
shows them again), parsed into what the model functions take."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from canvas_sandbox.state import OutcomeRating, ProficiencyRating

MAX_ROWS = 20
BLANK_ROWS = 2
COLOR = re.compile(r"#?[0-9a-fA-F]{6}")


class FormError(Exception):
    """Bad input: the form is shown again with this message."""


@dataclass
class RatingRow:
    description: str = ""
    points: str = ""
    mastery: bool = False
    color: str = ""

    @property
    def blank(self) -> bool:
        return not self.description.strip() and not self.points.strip()

    @property
    def color_value(self) -> str:
        """For ``<input type="color">``: ``#rrggbb``, black when unset or invalid."""
        return "#" + self.color.lstrip("#").lower() if COLOR.fullmatch(self.color) else "#000000"


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def outcome_rows(ratings: Sequence[OutcomeRating]) -> list[RatingRow]:
    rows = [RatingRow(r.description, number(r.points)) for r in ratings]
    return rows + [RatingRow() for _ in range(BLANK_ROWS)]


def scale_rows(ratings: Sequence[ProficiencyRating] | None) -> list[RatingRow]:
    rows = [RatingRow(r.description, number(r.points), r.mastery, r.color) for r in ratings or []]
    return rows + [RatingRow() for _ in range(BLANK_ROWS)]


def rows_from_form(form: MultiDict[str, str]) -> list[RatingRow]:
    """The rows as posted: ``description``, ``points`` (and ``color``) repeated per row,
    ``mastery`` the index of the mastery row."""
    descriptions, points, colors = (form.getlist(n) for n in ("description", "points", "color"))
    count = max(len(descriptions), len(points))
    mastery = form.get("mastery", "")

    def at(values: list[str], i: int) -> str:
        return values[i] if i < len(values) else ""

    return [
        RatingRow(at(descriptions, i), at(points, i), mastery == str(i), at(colors, i))
        for i in range(count)
    ]


def points(text: str, what: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise FormError(f"{what}: “{text}” is not a number.") from None
    if not math.isfinite(value):
        raise FormError(f"{what}: “{text}” is not a number.")
    return value


def _filled(rows: Sequence[RatingRow]) -> list[tuple[int, RatingRow]]:
    if len(rows) > MAX_ROWS:
        raise FormError(f"At most {MAX_ROWS} ratings.")
    filled = [(i + 1, row) for i, row in enumerate(rows) if not row.blank]
    if not filled:
        raise FormError("Add at least one rating.")
    for number, row in filled:
        if not row.description.strip():
            raise FormError(f"Rating {number} needs a description.")
    return filled


def outcome_ratings(rows: Sequence[RatingRow]) -> list[tuple[str, float]]:
    return [
        (row.description.strip(), points(row.points, f"Rating {number} points"))
        for number, row in _filled(rows)
    ]


def mastery_points(text: str) -> float | None:
    """Empty: the top rating's points (as the API does without ``mastery_points``)."""
    return None if not text.strip() else points(text, "Mastery points")


def scale_ratings(rows: Sequence[RatingRow]) -> list[ProficiencyRating]:
    if any(row.mastery and row.blank for row in rows):
        raise FormError("The mastery rating needs a description and points.")
    ratings = []
    for number, row in _filled(rows):
        color = row.color.strip()
        if not COLOR.fullmatch(color):
            raise FormError(f"Rating {number} colour: “{color}” is not a #rrggbb colour.")
        ratings.append(
            ProficiencyRating(
                row.description.strip(),
                points(row.points, f"Rating {number} points"),
                row.mastery,
                color.lstrip("#").upper(),
            )
        )
    return sorted(ratings, key=lambda r: -r.points)  # om.store_scale checks the rest


def rewritten(count: int) -> str:
    if count == 0:
        return "No rubric was rewritten."
    return f"{count} unused rubric{'' if count == 1 else 's'} rewritten with the new ratings."
