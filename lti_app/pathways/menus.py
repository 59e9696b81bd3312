"""Each target's menu of pathways (the district default until a teacher saves one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.context import CourseContext, Invalid
from lti_app.mastery import pathways as rules
from lti_app.mastery.district_text import localized_text
from lti_app.mastery.pathways import PathwayKind
from lti_app.models.pathways import (
    PathwayLibraryKind,
    PathwayMenuItem,
)
from lti_app.pathways.actor import clock_now, require_teacher
from lti_app.pathways.targets import course_target, entry_translation_errors, library
from lti_app.policies.district_texts import Translations, stored


@dataclass(frozen=True)
class MenuEntry:
    """One way to demonstrate a target; ``item_id`` None for a district default entry."""

    kind: PathwayKind
    title: str
    instructions: str
    due_at: datetime | None
    attempt_limit: int | None
    item_id: int | None
    #: The title and instructions in other languages (``localized_text`` reads them).
    translations: Translations | None = field(default=None, hash=False)

    def in_language(self, language: str) -> MenuEntry:
        """The entry with its title and instructions in ``language`` where they were written
        (else the district's or teacher's own)."""
        return replace(
            self,
            title=localized_text(self.title, self.translations, language, "title"),
            instructions=localized_text(
                self.instructions, self.translations, language, "instructions"
            ),
        )


def _saved_menu(db: Session, actor: CourseContext, canvas_outcome_id: str) -> list[PathwayMenuItem]:
    return list(
        db.scalars(
            select(PathwayMenuItem)
            .where(
                PathwayMenuItem.in_course(actor.platform_id, actor.canvas_course_id),
                PathwayMenuItem.canvas_outcome_id == canvas_outcome_id,
            )
            .order_by(PathwayMenuItem.position, PathwayMenuItem.id)
        )
    )


def effective_menu(
    db: Session, actor: CourseContext, canvas_outcome_id: str
) -> tuple[list[MenuEntry], bool]:
    """The target's menu and whether it is the district default (no menu saved yet)."""
    course_target(db, actor, canvas_outcome_id)
    return menu_of(
        _saved_menu(db, actor, canvas_outcome_id), lambda: library(db, actor.platform_id)
    )


def menu_of(
    saved: Sequence[PathwayMenuItem], kinds: Callable[[], list[PathwayLibraryKind]]
) -> tuple[list[MenuEntry], bool]:
    if saved:
        return [
            MenuEntry(
                PathwayKind(i.kind),
                i.title,
                i.instructions,
                i.due_at,
                i.attempt_limit,
                i.id,
                i.translations,
            )
            for i in saved
        ], False
    return [
        MenuEntry(PathwayKind(k.kind), k.title, k.instructions, None, None, None, k.translations)
        for k in kinds()
        if k.enabled
    ], True


@dataclass(frozen=True)
class MenuRow:
    """One row of the menu editor as typed (strings), for one library kind."""

    kind: str
    offered: bool
    title: str = ""
    instructions: str = ""
    due: str = ""
    attempt_limit: str = ""
    translations: Translations = field(default_factory=dict)


def save_menu(
    db: Session, actor: CourseContext, canvas_outcome_id: str, rows: Sequence[MenuRow]
) -> list[PathwayMenuItem]:
    """Replace the target's menu with the offered rows; Invalid ("<kind>-<field>": message).

    A due date already saved in the past may stay; a new or changed one must be in the future.
    Demonstrations already under way keep their kind and title if their item is removed.
    """
    require_teacher(actor)
    course_target(db, actor, canvas_outcome_id)
    existing = {i.kind: i for i in _saved_menu(db, actor, canvas_outcome_id)}
    # Enabled library kinds, and any kind the menu already offers (kept if later disabled).
    kinds = {k.kind for k in library(db, actor.platform_id) if k.enabled} | set(existing)
    now = clock_now()
    errors: dict[str, str] = {}
    parsed: list[rules.MenuItemInput] = []
    texts: dict[str, Translations | None] = {}
    seen: set[str] = set()
    for row in rows:
        if not row.offered:
            continue
        if row.kind not in kinds or row.kind in seen:
            errors[f"{row.kind}-kind"] = (
                "Choose each enabled pathway kind of the district library at most once."
            )
            continue
        seen.add(row.kind)
        previous = existing.get(row.kind)
        item, item_errors = rules.validate_menu_item(
            row.kind,
            row.title,
            row.instructions,
            row.due,
            row.attempt_limit,
            now,
            previous_due=previous.due_at if previous else None,
        )
        item_errors |= entry_translation_errors(row.translations)
        texts[row.kind] = stored(row.translations)
        errors |= {f"{row.kind}-{key}": message for key, message in item_errors.items()}
        if item is not None:
            parsed.append(item)
    if not errors and not parsed:
        errors["menu"] = "Offer at least one pathway."
    if errors:
        raise Invalid("The menu was not saved.", errors)
    return _replace_menu(db, actor, canvas_outcome_id, parsed, existing, texts)


def _replace_menu(
    db: Session,
    actor: CourseContext,
    canvas_outcome_id: str,
    items: Sequence[rules.MenuItemInput],
    existing: dict[str, PathwayMenuItem],
    texts: Mapping[str, Translations | None],
) -> list[PathwayMenuItem]:
    order = {info.kind: n for n, info in enumerate(rules.DEFAULT_KINDS)}
    keep = {i.kind.value for i in items}
    for kind, row in existing.items():
        if kind not in keep:
            db.delete(row)
    db.flush()
    out: list[PathwayMenuItem] = []
    for item in items:
        found = existing.get(item.kind.value)
        if found is None:
            row = PathwayMenuItem(
                platform_id=actor.platform_id,
                canvas_course_id=actor.canvas_course_id,
                canvas_outcome_id=canvas_outcome_id,
                kind=item.kind.value,
            )
            db.add(row)
        else:
            row = found
        row.title = item.title
        row.instructions = item.instructions
        row.translations = texts.get(item.kind.value)
        row.due_at = item.due_at
        row.attempt_limit = item.attempt_limit
        row.position = order[item.kind]
        out.append(row)
    db.flush()
    return sorted(out, key=lambda r: r.position)


def copy_menu(
    db: Session, actor: CourseContext, from_outcome_id: str, to_outcome_ids: Sequence[str]
) -> int:
    """Copy one target's menu (saved or district default) onto other targets of the course."""
    require_teacher(actor)
    entries, _ = effective_menu(db, actor, from_outcome_id)
    destinations = [o for o in dict.fromkeys(to_outcome_ids) if o != from_outcome_id]
    if not destinations:
        raise Invalid("Nothing was copied.", {"copy": "Choose at least one other target."})
    for oid in destinations:
        course_target(db, actor, oid)  # NotFound for a target outside this course
    items = [
        rules.MenuItemInput(e.kind, e.title, e.instructions, e.due_at, e.attempt_limit)
        for e in entries
    ]
    texts = {e.kind.value: e.translations for e in entries}
    for oid in destinations:
        existing = {i.kind: i for i in _saved_menu(db, actor, oid)}
        _replace_menu(db, actor, oid, items, existing, texts)
    return len(destinations)
