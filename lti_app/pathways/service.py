"""Demonstration pathways: every operation a page performs, authorized and audited here.

Each operation takes an :class:`Actor` (built from the launch session: tenant, course, user,
role) and checks it before touching anything: a student acts only on their own demonstrations,
a teacher only in the launched course, and every query is scoped by platform and course, so a
guessed id of another student, course or tenant is simply "not found". Every state change writes
a ``demonstration_event`` in the same transaction (the caller's: views commit at the request
boundary). The rules themselves (who may do what when, input limits) are the pure
``lti_app.mastery.pathways``.

Until a teacher saves a menu for a target, the target offers the district default menu: the
enabled kinds of the district library with the library's instructions.

For the student pages (``actor = Actor.from_session(row)``; each raises a ``DomainError``
subclass whose ``status`` is the HTTP status and whose ``errors`` maps form fields to messages):

- ``student_view(db, actor)``: every target with its menu, the current demonstration, the
  actions allowed now, and the history (each demonstration's ``events`` hold the feedback;
  ``teacher_feedback(demo)`` picks the teachers' notes);
- ``choose(db, actor, outcome_id, kind)``, ``propose(db, actor, demo_id, text)``,
  ``submit(db, actor, demo_id, evidence, links)`` (links: one per line),
  ``request_reassessment(db, actor, demo_id, reflection, links)``, ``withdraw(db, actor, id)``;
- ``demonstration(db, actor, demo_id)``: one of the student's own (404 for anyone else's).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.context import Conflict, DomainError, Forbidden, Invalid, NotFound, NotSynced
from lti_app.lti.roles import CourseRole
from lti_app.mastery import pathways as rules
from lti_app.mastery.calculation import Evidence, SourceKind
from lti_app.mastery.pathways import Action, PathwayKind, Role, State
from lti_app.models.canvas import (
    CanvasCourse,
    CourseOutcome,
    CourseStudent,
    outline_key,
    synced_course,
)
from lti_app.models.launch import LaunchSession
from lti_app.models.pathways import (
    Demonstration,
    DemonstrationEvent,
    MasteryOverride,
    PathwayLibraryKind,
    PathwayMenuItem,
)
from lti_app.policies.store import effective_policy
from lti_app.writeback import outbox

__all__ = [
    "Actor",
    "Conflict",
    "DomainError",
    "Forbidden",
    "Invalid",
    "LibraryRow",
    "MenuEntry",
    "MenuRow",
    "NotFound",
    "NotSynced",
    "approve_proposal",
    "approve_reassessment",
    "bulk_approve",
    "choice_analytics",
    "choose",
    "clear_override",
    "copy_menu",
    "decline_reassessment",
    "demonstration",
    "effective_menu",
    "library",
    "override_evidence",
    "propose",
    "queue_counts",
    "request_reassessment",
    "return_proposal",
    "return_submission",
    "review_queue",
    "roster_names",
    "save_library",
    "save_menu",
    "score",
    "scored_evidence",
    "set_override",
    "student_view",
    "submit",
    "targets",
    "teacher_feedback",
    "withdraw",
]


# --------------------------------------------------------------------------------------------
# Errors and the actor
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    platform_id: int
    canvas_course_id: str
    canvas_user_id: str
    role: Role

    @classmethod
    def from_session(cls, row: LaunchSession) -> Actor:
        """The launch's tenant, course, user and role; Forbidden without a course role."""
        course_role = CourseRole(row.course_role)
        if course_role.is_teacher:
            role = Role.TEACHER
        elif course_role is CourseRole.LEARNER:
            role = Role.STUDENT
        else:
            raise Forbidden("Pathways are for the students and teachers of this course.")
        if not row.canvas_course_id or not row.canvas_user_id:
            raise Forbidden("Open Mastery Pathways from the course navigation in Canvas.")
        return cls(row.deployment.platform_id, row.canvas_course_id, row.canvas_user_id, role)

    @property
    def is_teacher(self) -> bool:
        return self.role is Role.TEACHER


def _require_teacher(actor: Actor) -> None:
    if not actor.is_teacher:
        raise Forbidden("This is for the course's teachers.")


def _require_student(actor: Actor) -> None:
    if actor.is_teacher:
        raise Forbidden("Only students choose and submit demonstrations.")


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# Course targets and the district library
# --------------------------------------------------------------------------------------------


def _course(db: Session, actor: Actor) -> CanvasCourse:
    course = synced_course(db, actor.platform_id, actor.canvas_course_id)
    if course is None:
        raise NotSynced("This course has not been synced from Canvas yet.")
    return course


def _order_key(o: CourseOutcome) -> tuple[object, ...]:
    return outline_key(o.group_path, o.title, o.canvas_outcome_id)


def targets(db: Session, actor: Actor) -> list[CourseOutcome]:
    """The course's learning targets in Canvas's outline order."""
    course = _course(db, actor)
    rows = db.scalars(select(CourseOutcome).where(CourseOutcome.course_pk == course.id)).all()
    return sorted(rows, key=_order_key)


def _target(db: Session, actor: Actor, canvas_outcome_id: str) -> CourseOutcome:
    if len(canvas_outcome_id) > 64 or not canvas_outcome_id.isprintable():
        raise NotFound("This course has no such learning target.")  # not a Canvas id
    course = _course(db, actor)
    row = db.scalars(
        select(CourseOutcome).where(
            CourseOutcome.course_pk == course.id,
            CourseOutcome.canvas_outcome_id == canvas_outcome_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound("This course has no such learning target.")
    return row


def library(db: Session, platform_id: int) -> list[PathwayLibraryKind]:
    """The district's pathway library, seeded with the seven default kinds on first use."""
    rows = list(
        db.scalars(
            select(PathwayLibraryKind)
            .where(PathwayLibraryKind.platform_id == platform_id)
            .order_by(PathwayLibraryKind.position)
        )
    )
    if rows:
        return rows
    try:
        with db.begin_nested():
            for position, info in enumerate(rules.DEFAULT_KINDS):
                db.add(
                    PathwayLibraryKind(
                        platform_id=platform_id,
                        kind=info.kind.value,
                        title=info.title,
                        instructions=info.instructions,
                        enabled=True,
                        position=position,
                    )
                )
    except IntegrityError:
        pass  # a concurrent first use seeded it: read theirs
    return list(
        db.scalars(
            select(PathwayLibraryKind)
            .where(PathwayLibraryKind.platform_id == platform_id)
            .order_by(PathwayLibraryKind.position)
        )
    )


@dataclass(frozen=True)
class LibraryRow:
    """One kind of the district library as typed on the admin page."""

    kind: str
    enabled: bool
    title: str
    instructions: str


def save_library(
    db: Session, platform_id: int, rows: Sequence[LibraryRow]
) -> list[PathwayLibraryKind]:
    """The district admin's edit of the library (caller checks the admin role).

    A disabled kind is no longer offered by default menus nor addable to a menu; menus that
    already offer it keep it. Invalid ("<kind>-<field>": message) leaves everything unchanged.
    """
    current = {k.kind: k for k in library(db, platform_id)}
    errors: dict[str, str] = {}
    for row in rows:
        if row.kind not in current:
            errors[f"{row.kind}-kind"] = "That is not a kind of the district library."
            continue
        _, item_errors = rules.validate_menu_item(
            row.kind, row.title, row.instructions, "", "", _now()
        )
        errors |= {f"{row.kind}-{key}": message for key, message in item_errors.items()}
    if not any(r.enabled for r in rows):
        errors["library"] = "Keep at least one kind enabled."
    if errors:
        raise Invalid("The library was not saved.", errors)
    for row in rows:
        kind = current[row.kind]
        kind.enabled = row.enabled
        kind.title = row.title.strip()
        kind.instructions = row.instructions.strip()
    db.flush()
    return library(db, platform_id)


# --------------------------------------------------------------------------------------------
# Menus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuEntry:
    """One way to demonstrate a target; ``item_id`` None for a district default entry."""

    kind: PathwayKind
    title: str
    instructions: str
    due_at: datetime | None
    attempt_limit: int | None
    item_id: int | None


def _saved_menu(db: Session, actor: Actor, canvas_outcome_id: str) -> list[PathwayMenuItem]:
    return list(
        db.scalars(
            select(PathwayMenuItem)
            .where(
                PathwayMenuItem.platform_id == actor.platform_id,
                PathwayMenuItem.canvas_course_id == actor.canvas_course_id,
                PathwayMenuItem.canvas_outcome_id == canvas_outcome_id,
            )
            .order_by(PathwayMenuItem.position, PathwayMenuItem.id)
        )
    )


def effective_menu(
    db: Session, actor: Actor, canvas_outcome_id: str
) -> tuple[list[MenuEntry], bool]:
    """The target's menu and whether it is the district default (no menu saved yet)."""
    _target(db, actor, canvas_outcome_id)
    return _menu_of(
        _saved_menu(db, actor, canvas_outcome_id), lambda: library(db, actor.platform_id)
    )


def _menu_of(
    saved: Sequence[PathwayMenuItem], kinds: Callable[[], list[PathwayLibraryKind]]
) -> tuple[list[MenuEntry], bool]:
    if saved:
        return [
            MenuEntry(PathwayKind(i.kind), i.title, i.instructions, i.due_at, i.attempt_limit, i.id)
            for i in saved
        ], False
    return [
        MenuEntry(PathwayKind(k.kind), k.title, k.instructions, None, None, None)
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


def save_menu(
    db: Session, actor: Actor, canvas_outcome_id: str, rows: Sequence[MenuRow]
) -> list[PathwayMenuItem]:
    """Replace the target's menu with the offered rows; Invalid ("<kind>-<field>": message).

    A due date already saved in the past may stay; a new or changed one must be in the future.
    Demonstrations already under way keep their kind and title if their item is removed.
    """
    _require_teacher(actor)
    _target(db, actor, canvas_outcome_id)
    existing = {i.kind: i for i in _saved_menu(db, actor, canvas_outcome_id)}
    # Enabled library kinds, and any kind the menu already offers (kept if later disabled).
    kinds = {k.kind for k in library(db, actor.platform_id) if k.enabled} | set(existing)
    now = _now()
    errors: dict[str, str] = {}
    parsed: list[rules.MenuItemInput] = []
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
        errors |= {f"{row.kind}-{key}": message for key, message in item_errors.items()}
        if item is not None:
            parsed.append(item)
    if not errors and not parsed:
        errors["menu"] = "Offer at least one pathway."
    if errors:
        raise Invalid("The menu was not saved.", errors)
    return _replace_menu(db, actor, canvas_outcome_id, parsed, existing)


def _replace_menu(
    db: Session,
    actor: Actor,
    canvas_outcome_id: str,
    items: Sequence[rules.MenuItemInput],
    existing: dict[str, PathwayMenuItem],
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
        row.due_at = item.due_at
        row.attempt_limit = item.attempt_limit
        row.position = order[item.kind]
        out.append(row)
    db.flush()
    return sorted(out, key=lambda r: r.position)


def copy_menu(
    db: Session, actor: Actor, from_outcome_id: str, to_outcome_ids: Sequence[str]
) -> int:
    """Copy one target's menu (saved or district default) onto other targets of the course."""
    _require_teacher(actor)
    entries, _ = effective_menu(db, actor, from_outcome_id)
    destinations = [o for o in dict.fromkeys(to_outcome_ids) if o != from_outcome_id]
    if not destinations:
        raise Invalid("Nothing was copied.", {"copy": "Choose at least one other target."})
    for oid in destinations:
        _target(db, actor, oid)  # NotFound for a target outside this course
    items = [
        rules.MenuItemInput(e.kind, e.title, e.instructions, e.due_at, e.attempt_limit)
        for e in entries
    ]
    for oid in destinations:
        existing = {i.kind: i for i in _saved_menu(db, actor, oid)}
        _replace_menu(db, actor, oid, items, existing)
    return len(destinations)


# --------------------------------------------------------------------------------------------
# Demonstrations: the lifecycle
# --------------------------------------------------------------------------------------------


def _load(db: Session, actor: Actor, demonstration_id: int, lock: bool = False) -> Demonstration:
    query = select(Demonstration).where(
        Demonstration.id == demonstration_id,
        Demonstration.platform_id == actor.platform_id,
        Demonstration.canvas_course_id == actor.canvas_course_id,
    )
    if not actor.is_teacher:
        query = query.where(Demonstration.canvas_user_id == actor.canvas_user_id)
    if lock:
        # Two teachers acting on one demonstration at once: the second waits, then sees the
        # new state and is refused by the state machine (PostgreSQL; SQLite serialises writers).
        query = query.with_for_update()
    row = db.scalars(query).one_or_none()
    if row is None:
        raise NotFound("There is no such demonstration.")
    return row


def demonstration(db: Session, actor: Actor, demonstration_id: int) -> Demonstration:
    """One demonstration with its events: the student's own, or any of the teacher's course."""
    return _load(db, actor, demonstration_id)


def _event(
    db: Session,
    actor: Actor,
    demo: Demonstration,
    before: str | None,
    note: str = "",
    details: dict[str, object] | None = None,
) -> None:
    db.add(
        DemonstrationEvent(
            demonstration=demo,
            actor_canvas_user_id=actor.canvas_user_id,
            actor_role=actor.role.value,
            at=_now(),
            from_state=before,
            to_state=demo.state,
            note=note.strip() or None,
            details=details,
        )
    )


def _transition(
    db: Session,
    actor: Actor,
    demonstration_id: int,
    action: Action,
    note: str = "",
    guard: Callable[[Demonstration], None] | None = None,
) -> tuple[Demonstration, str]:
    """Load (locked), check role, state and ``guard``, then move the state; returns the row
    and the old state. Nothing is changed when a check fails."""
    if rules.role_for(action) is not actor.role:
        raise Forbidden(f"Only a {rules.role_for(action).value} can do that.")
    demo = _load(db, actor, demonstration_id, lock=True)
    before = demo.state
    try:
        after = rules.transition(action, State(before), actor.role, PathwayKind(demo.kind), note)
    except rules.TransitionError as exc:
        raise Conflict(f"That cannot be done now: {exc}.") from exc
    if guard is not None:
        guard(demo)
    demo.state = after.value
    demo.open_slot = 1 if rules.is_open(after) else None
    demo.updated_at = _now()
    return demo, before


def _menu_item(db: Session, demo: Demonstration) -> PathwayMenuItem | None:
    return db.get(PathwayMenuItem, demo.menu_item_id) if demo.menu_item_id else None


def _attempts_used(db: Session, actor: Actor, canvas_outcome_id: str, kind: str) -> int:
    return (
        db.scalar(
            select(func.count(Demonstration.id)).where(
                Demonstration.platform_id == actor.platform_id,
                Demonstration.canvas_course_id == actor.canvas_course_id,
                Demonstration.canvas_user_id == actor.canvas_user_id,
                Demonstration.canvas_outcome_id == canvas_outcome_id,
                Demonstration.kind == kind,
                Demonstration.state != State.WITHDRAWN.value,
            )
        )
        or 0
    )


def _open_demonstration(
    db: Session, actor: Actor, canvas_user_id: str, canvas_outcome_id: str
) -> Demonstration | None:
    open_states = [s.value for s in State if rules.is_open(s)]
    return db.scalars(
        select(Demonstration).where(
            Demonstration.platform_id == actor.platform_id,
            Demonstration.canvas_course_id == actor.canvas_course_id,
            Demonstration.canvas_user_id == canvas_user_id,
            Demonstration.canvas_outcome_id == canvas_outcome_id,
            Demonstration.state.in_(open_states),
        )
    ).first()


_ALREADY_OPEN = (
    "You already have a demonstration under way for this target; finish or withdraw it first."
)


def choose(db: Session, actor: Actor, canvas_outcome_id: str, kind: str) -> Demonstration:
    """The student picks a pathway of the target's menu; one open demonstration per target."""
    _require_student(actor)
    entries, _ = effective_menu(db, actor, canvas_outcome_id)
    entry = next((e for e in entries if e.kind.value == kind), None)
    if entry is None:
        raise NotFound("That pathway is not on this target's menu.")
    if _open_demonstration(db, actor, actor.canvas_user_id, canvas_outcome_id) is not None:
        raise Conflict(_ALREADY_OPEN)
    used = _attempts_used(db, actor, canvas_outcome_id, kind)
    if entry.attempt_limit is not None and used >= entry.attempt_limit:
        raise Conflict(f"You have used all {entry.attempt_limit} attempts of this pathway.")
    demo = Demonstration(
        platform_id=actor.platform_id,
        canvas_course_id=actor.canvas_course_id,
        canvas_user_id=actor.canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
        menu_item_id=entry.item_id,
        kind=entry.kind.value,
        title=entry.title,
        state=State.CHOSEN.value,
        open_slot=1,
        attempt=used + 1,
        links=[],
        reflection_links=[],
    )
    try:
        with db.begin_nested():
            db.add(demo)
            db.flush()
    except IntegrityError:
        # A concurrent request (a double click) opened one first.
        raise Conflict(_ALREADY_OPEN) from None
    _event(db, actor, demo, None)
    db.flush()
    return demo


def propose(db: Session, actor: Actor, demonstration_id: int, text: str) -> Demonstration:
    errors = rules.validate_proposal(text)
    if errors:
        raise Invalid("The proposal was not sent.", errors)
    demo, before = _transition(db, actor, demonstration_id, Action.PROPOSE)
    demo.proposal_text = text.strip()
    _event(db, actor, demo, before)
    return demo


def _teacher_note(
    db: Session, actor: Actor, demonstration_id: int, action: Action, note: str
) -> Demonstration:
    errors = rules.validate_feedback(note, required=rules.note_required(action))
    if errors:
        raise Invalid("Nothing was changed.", errors)
    demo, before = _transition(db, actor, demonstration_id, action, note)
    _event(db, actor, demo, before, note)
    return demo


def approve_proposal(
    db: Session, actor: Actor, demonstration_id: int, note: str = ""
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.APPROVE_PROPOSAL, note)


def return_proposal(db: Session, actor: Actor, demonstration_id: int, note: str) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.RETURN_PROPOSAL, note)


def return_submission(db: Session, actor: Actor, demonstration_id: int, note: str) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.RETURN_SUBMISSION, note)


def decline_reassessment(
    db: Session, actor: Actor, demonstration_id: int, note: str
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.DECLINE_REASSESSMENT, note)


def submit(
    db: Session, actor: Actor, demonstration_id: int, evidence: str, links: str
) -> Demonstration:
    parsed, errors = rules.validate_submission(evidence, links)
    if errors:
        raise Invalid("Your evidence was not submitted.", errors)
    demo, before = _transition(db, actor, demonstration_id, Action.SUBMIT)
    demo.evidence_text = evidence.strip() or None
    demo.links = parsed
    demo.submitted_at = _now()
    _event(db, actor, demo, before, details={"links": len(parsed)})
    return demo


def score(
    db: Session, actor: Actor, demonstration_id: int, level: str, comment: str = ""
) -> Demonstration:
    """Score a submission on the course's district scale (the version in force is recorded)."""
    _require_teacher(actor)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    value, errors = rules.validate_score(level, eff.scale.values)
    errors |= rules.validate_feedback(comment, required=False)
    if errors or value is None:
        raise Invalid("The score was not saved.", errors)
    demo, before = _transition(db, actor, demonstration_id, Action.SCORE)
    now = _now()
    demo.score = value
    demo.scale_version_id = eff.scale_version_id
    demo.comment = comment.strip() or None
    demo.scored_by = actor.canvas_user_id
    demo.scored_at = now
    label = eff.scale.level(value).label
    _event(db, actor, demo, before, comment, details={"score": value, "label": label})
    # Owed to Canvas, committed with the score itself (a worker delivers it after commit).
    outbox.enqueue_demonstration(db, demo, eff)
    return demo


def _check_attempts_left(db: Session, demo: Demonstration) -> None:
    item = _menu_item(db, demo)
    if item is not None and item.attempt_limit is not None and demo.attempt >= item.attempt_limit:
        raise Conflict(f"All {item.attempt_limit} attempts of this pathway are used.")


def request_reassessment(
    db: Session, actor: Actor, demonstration_id: int, reflection: str, links: str = ""
) -> Demonstration:
    parsed, errors = rules.validate_reflection(reflection, links)
    if errors:
        raise Invalid("The request was not sent.", errors)
    demo, before = _transition(
        db,
        actor,
        demonstration_id,
        Action.REQUEST_REASSESSMENT,
        reflection,
        guard=lambda d: _check_attempts_left(db, d),
    )
    demo.reflection_text = reflection.strip()
    demo.reflection_links = parsed
    _event(db, actor, demo, before, reflection)
    return demo


def approve_reassessment(
    db: Session, actor: Actor, demonstration_id: int, note: str = ""
) -> Demonstration:
    """The scored attempt becomes "reassessed" (its score stays evidence); a new attempt
    starts as approved. Returns the new attempt."""
    errors = rules.validate_feedback(note, required=False)
    if errors:
        raise Invalid("Nothing was changed.", errors)
    demo, before = _transition(
        db,
        actor,
        demonstration_id,
        Action.APPROVE_REASSESSMENT,
        guard=lambda d: _check_attempts_left(db, d),
    )
    _event(db, actor, demo, before, note)
    db.flush()  # closes this attempt's open slot before the next attempt takes it
    nxt = Demonstration(
        platform_id=demo.platform_id,
        canvas_course_id=demo.canvas_course_id,
        canvas_user_id=demo.canvas_user_id,
        canvas_outcome_id=demo.canvas_outcome_id,
        menu_item_id=demo.menu_item_id,
        kind=demo.kind,
        title=demo.title,
        state=State.APPROVED.value,
        open_slot=1,
        attempt=demo.attempt + 1,
        previous_id=demo.id,
        proposal_text=demo.proposal_text,
        links=[],
        reflection_links=[],
    )
    db.add(nxt)
    _event(db, actor, nxt, None, note, details={"reassessment_of": demo.id})
    db.flush()
    return nxt


def withdraw(db: Session, actor: Actor, demonstration_id: int) -> Demonstration:
    demo, before = _transition(db, actor, demonstration_id, Action.WITHDRAW)
    _event(db, actor, demo, before)
    return demo


def bulk_approve(db: Session, actor: Actor, demonstration_ids: Sequence[int]) -> tuple[int, int]:
    """Approve every selected proposal and reassessment request; others are skipped.

    Returns (approved, skipped). Ids outside the teacher's course raise NotFound (nothing of a
    bulk request is applied then: the request's transaction rolls back).
    """
    _require_teacher(actor)
    approved = skipped = 0
    for demo_id in dict.fromkeys(demonstration_ids):
        demo = _load(db, actor, demo_id)
        if demo.state == State.PROPOSED.value:
            approve_proposal(db, actor, demo_id)
        elif demo.state == State.REASSESSMENT_REQUESTED.value:
            try:
                approve_reassessment(db, actor, demo_id)
            except Conflict:
                skipped += 1
                continue
        else:
            skipped += 1
            continue
        approved += 1
    return approved, skipped


# --------------------------------------------------------------------------------------------
# Teacher views: review queue and choice analytics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    demo: Demonstration
    student_name: str
    target_title: str
    due_at: datetime | None = None

    @property
    def late(self) -> bool:
        """Submitted after the menu item's due date (shown, never refused)."""
        submitted = self.demo.submitted_at
        return bool(self.due_at and submitted and submitted > self.due_at)


@dataclass
class ReviewQueue:
    proposals: list[QueueItem] = field(default_factory=list)
    submissions: list[QueueItem] = field(default_factory=list)
    reassessments: list[QueueItem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.proposals) + len(self.submissions) + len(self.reassessments)


_QUEUE_STATES = {
    State.PROPOSED.value: "proposals",
    State.SUBMITTED.value: "submissions",
    State.REASSESSMENT_REQUESTED.value: "reassessments",
}


def _names(db: Session, course: CanvasCourse) -> dict[str, str]:
    return {
        s.canvas_user_id: s.name
        for s in db.scalars(select(CourseStudent).where(CourseStudent.course_pk == course.id))
    }


def roster_names(db: Session, actor: Actor) -> dict[str, str]:
    """Student names of the course by Canvas user id (teachers only)."""
    _require_teacher(actor)
    return _names(db, _course(db, actor))


def review_queue(db: Session, actor: Actor) -> ReviewQueue:
    """What waits for the teacher, oldest first."""
    _require_teacher(actor)
    course = _course(db, actor)
    names = _names(db, course)
    titles = {o.canvas_outcome_id: o.title for o in targets(db, actor)}
    dues = {
        i.id: i.due_at
        for i in db.scalars(
            select(PathwayMenuItem).where(
                PathwayMenuItem.platform_id == actor.platform_id,
                PathwayMenuItem.canvas_course_id == actor.canvas_course_id,
                PathwayMenuItem.due_at.is_not(None),
            )
        )
    }
    queue = ReviewQueue()
    rows = db.scalars(
        select(Demonstration)
        .where(
            Demonstration.platform_id == actor.platform_id,
            Demonstration.canvas_course_id == actor.canvas_course_id,
            Demonstration.state.in_(list(_QUEUE_STATES)),
        )
        .order_by(Demonstration.updated_at, Demonstration.id)
    )
    for demo in rows:
        item = QueueItem(
            demo,
            names.get(demo.canvas_user_id, f"Student {demo.canvas_user_id}"),
            titles.get(demo.canvas_outcome_id, f"Target {demo.canvas_outcome_id}"),
            dues.get(demo.menu_item_id) if demo.menu_item_id else None,
        )
        getattr(queue, _QUEUE_STATES[demo.state]).append(item)
    return queue


def queue_counts(db: Session, platform_id: int, canvas_course_id: str) -> dict[str, int]:
    """Waiting items per queue (for the tab's count), without loading any rows."""
    counts = dict.fromkeys(_QUEUE_STATES.values(), 0)
    rows = db.execute(
        select(Demonstration.state, func.count(Demonstration.id))
        .where(
            Demonstration.platform_id == platform_id,
            Demonstration.canvas_course_id == canvas_course_id,
            Demonstration.state.in_(list(_QUEUE_STATES)),
        )
        .group_by(Demonstration.state)
    )
    for state, count in rows:
        counts[_QUEUE_STATES[state]] = count
    counts["total"] = sum(counts.values())
    return counts


@dataclass(frozen=True)
class KindChoices:
    kind: PathwayKind
    title: str
    students: int
    scored: int
    levels: list[tuple[str, int]]  # (level label, scored attempts), scale order
    mean: float | None


@dataclass(frozen=True)
class TargetChoices:
    canvas_outcome_id: str
    title: str
    kinds: list[KindChoices]
    students: int


def choice_analytics(db: Session, actor: Actor) -> list[TargetChoices]:
    """Per target: which pathways students chose, and the levels scored attempts reached."""
    _require_teacher(actor)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    kind_titles = {k.kind: k.title for k in library(db, actor.platform_id)}
    demos = db.scalars(
        select(Demonstration).where(
            Demonstration.platform_id == actor.platform_id,
            Demonstration.canvas_course_id == actor.canvas_course_id,
            Demonstration.state != State.WITHDRAWN.value,
        )
    ).all()
    by_target: dict[str, dict[str, list[Demonstration]]] = defaultdict(lambda: defaultdict(list))
    for d in demos:
        by_target[d.canvas_outcome_id][d.kind].append(d)
    out = []
    for target in targets(db, actor):
        per_kind = by_target.get(target.canvas_outcome_id, {})
        kinds = []
        for info in rules.DEFAULT_KINDS:
            rows = per_kind.get(info.kind.value, [])
            if not rows:
                continue
            scores = [d.score for d in rows if d.score is not None]
            labels = Counter(
                (lvl.label if (lvl := eff.scale.level_for(s)) else str(s)) for s in scores
            )
            levels = [(lv.label, labels[lv.label]) for lv in eff.scale.levels if labels[lv.label]]
            kinds.append(
                KindChoices(
                    info.kind,
                    kind_titles.get(info.kind.value, info.title),
                    len({d.canvas_user_id for d in rows}),
                    len(scores),
                    levels,
                    round(sum(scores) / len(scores), 2) if scores else None,
                )
            )
        students = len({d.canvas_user_id for rows in per_kind.values() for d in rows})
        out.append(TargetChoices(target.canvas_outcome_id, target.title, kinds, students))
    return out


# --------------------------------------------------------------------------------------------
# Student view (for the student pages)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentTarget:
    canvas_outcome_id: str
    title: str
    description: str | None
    menu: list[MenuEntry]
    current: Demonstration | None
    """The open demonstration, else the latest scored one, else None."""
    actions: list[Action]
    """What the student may do with ``current`` now."""
    history: list[Demonstration]
    """Every demonstration of this target, newest first (events loaded: feedback is there)."""


def student_view(db: Session, actor: Actor) -> list[StudentTarget]:
    """Every target of the course with its menu and the student's own demonstrations."""
    _require_student(actor)
    mine = db.scalars(
        select(Demonstration)
        .where(
            Demonstration.platform_id == actor.platform_id,
            Demonstration.canvas_course_id == actor.canvas_course_id,
            Demonstration.canvas_user_id == actor.canvas_user_id,
        )
        .order_by(Demonstration.id.desc())
    ).all()
    by_target: dict[str, list[Demonstration]] = defaultdict(list)
    for d in mine:
        by_target[d.canvas_outcome_id].append(d)
    # Two queries for every menu of the course, however many targets it has.
    menus: dict[str, list[PathwayMenuItem]] = defaultdict(list)
    for item in db.scalars(
        select(PathwayMenuItem)
        .where(
            PathwayMenuItem.platform_id == actor.platform_id,
            PathwayMenuItem.canvas_course_id == actor.canvas_course_id,
        )
        .order_by(PathwayMenuItem.position, PathwayMenuItem.id)
    ):
        menus[item.canvas_outcome_id].append(item)
    kinds = library(db, actor.platform_id)
    out = []
    for target in targets(db, actor):
        history = by_target.get(target.canvas_outcome_id, [])
        current = next((d for d in history if rules.is_open(State(d.state))), None)
        if current is None:
            current = next((d for d in history if d.state == State.SCORED.value), None)
        actions = (
            rules.actions_for(State(current.state), Role.STUDENT, PathwayKind(current.kind))
            if current
            else []
        )
        menu, _ = _menu_of(menus.get(target.canvas_outcome_id, []), lambda: kinds)
        out.append(
            StudentTarget(
                target.canvas_outcome_id,
                target.title,
                target.description,
                menu,
                current,
                actions,
                history,
            )
        )
    return out


def teacher_feedback(demo: Demonstration) -> list[DemonstrationEvent]:
    """The teachers' notes on a demonstration, oldest first (what the student should read)."""
    return [e for e in demo.events if e.actor_role == Role.TEACHER.value and e.note]


# --------------------------------------------------------------------------------------------
# Evidence for the mastery engine, and teacher overrides
# --------------------------------------------------------------------------------------------


def scored_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Every scored attempt of the course (or of one student) as evidence, per
    (canvas_user_id, outcome id); only the columns evidence needs are read."""
    out: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    query = select(
        Demonstration.id,
        Demonstration.canvas_user_id,
        Demonstration.canvas_outcome_id,
        Demonstration.score,
        Demonstration.scored_at,
    ).where(
        Demonstration.platform_id == platform_id,
        Demonstration.canvas_course_id == canvas_course_id,
        Demonstration.score.is_not(None),
        Demonstration.scored_at.is_not(None),
    )
    if canvas_user_id is not None:
        query = query.where(Demonstration.canvas_user_id == canvas_user_id)
    for demo_id, uid, oid, score, at in db.execute(
        query.order_by(Demonstration.scored_at, Demonstration.id)
    ):
        if score is None or at is None:  # excluded by the query; the column types allow None
            continue
        out[(uid, oid)].append(
            Evidence(score, at, kind=SourceKind.DEMONSTRATION, id=f"demo:{demo_id}")
        )
    return dict(out)


def override_evidence(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str | None = None
) -> dict[tuple[str, str], list[Evidence]]:
    """Every override in force (not cleared) of the course (or of one student), per
    (canvas_user_id, outcome id)."""
    out: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    query = select(MasteryOverride).where(
        MasteryOverride.platform_id == platform_id,
        MasteryOverride.canvas_course_id == canvas_course_id,
        MasteryOverride.cleared_at.is_(None),
    )
    if canvas_user_id is not None:
        query = query.where(MasteryOverride.canvas_user_id == canvas_user_id)
    for o in db.scalars(query.order_by(MasteryOverride.created_at, MasteryOverride.id)):
        out[(o.canvas_user_id, o.canvas_outcome_id)].append(
            Evidence(
                o.level,
                o.created_at,
                kind=SourceKind.OVERRIDE,
                reason=o.reason,
                id=f"override:{o.id}",
            )
        )
    return dict(out)


def set_override(
    db: Session,
    actor: Actor,
    canvas_user_id: str,
    canvas_outcome_id: str,
    level: str,
    reason: str,
) -> MasteryOverride:
    """A teacher override on the course's scale; the reason (shown to the student) is required."""
    _require_teacher(actor)
    _target(db, actor, canvas_outcome_id)
    course = _course(db, actor)
    if canvas_user_id not in _names(db, course):
        raise NotFound("This course has no such student.")
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    value, errors = rules.validate_score(level, eff.scale.values)
    if not reason.strip():
        errors["reason"] = "Give a reason; the student sees it."
    elif problem := rules.validate_feedback(reason, required=True).get("note"):
        errors["reason"] = problem.replace("The feedback", "The reason")
    if errors or value is None:
        raise Invalid("The override was not saved.", errors)
    row = MasteryOverride(
        platform_id=actor.platform_id,
        canvas_course_id=actor.canvas_course_id,
        canvas_user_id=canvas_user_id,
        canvas_outcome_id=canvas_outcome_id,
        level=value,
        reason=reason.strip(),
        teacher_canvas_user_id=actor.canvas_user_id,
        created_at=_now(),
    )
    db.add(row)
    db.flush()
    return row


def clear_override(db: Session, actor: Actor, override_id: int) -> MasteryOverride:
    _require_teacher(actor)
    row = db.scalars(
        select(MasteryOverride).where(
            MasteryOverride.id == override_id,
            MasteryOverride.platform_id == actor.platform_id,
            MasteryOverride.canvas_course_id == actor.canvas_course_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such override.")
    if row.cleared_at is None:
        row.cleared_at = _now()
        row.cleared_by = actor.canvas_user_id
    return row
