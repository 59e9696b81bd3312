"""The demonstration lifecycle: choose, propose, submit, score, reassess, withdraw; each
change authorized and audited (a demonstration_event in the same transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.context import Conflict, CourseContext, Forbidden, Invalid, NotFound
from lti_app.mastery import pathways as rules
from lti_app.mastery.pathways import Action, PathwayKind, State
from lti_app.models.pathways import (
    Demonstration,
    DemonstrationEvent,
    PathwayMenuItem,
)
from lti_app.pathways.actor import clock_now, require_student, require_teacher
from lti_app.pathways.menus import effective_menu
from lti_app.policies.store import effective_policy
from lti_app.translatable import _l
from lti_app.writeback import outbox


def _load(
    db: Session, actor: CourseContext, demonstration_id: int, lock: bool = False
) -> Demonstration:
    query = select(Demonstration).where(
        Demonstration.id == demonstration_id,
        Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
    )
    if not actor.is_teacher:
        query = query.where(Demonstration.canvas_user_id == actor.canvas_user_id)
    if lock:
        # Two teachers acting on one demonstration at once: the second waits, then sees the
        # new state and is refused by the state machine (PostgreSQL; SQLite serialises writers).
        query = query.with_for_update()
    row = db.scalars(query).one_or_none()
    if row is None:
        raise NotFound(_l("There is no such demonstration."))
    return row


def demonstration(db: Session, actor: CourseContext, demonstration_id: int) -> Demonstration:
    """One demonstration with its events: the student's own, or any of the teacher's course."""
    return _load(db, actor, demonstration_id)


def _event(
    db: Session,
    actor: CourseContext,
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
            at=clock_now(),
            from_state=before,
            to_state=demo.state,
            note=note.strip() or None,
            details=details,
        )
    )


def _transition(
    db: Session,
    actor: CourseContext,
    demonstration_id: int,
    action: Action,
    note: str = "",
    guard: Callable[[Demonstration], None] | None = None,
) -> tuple[Demonstration, str]:
    """Load (locked), check role, state and ``guard``, then move the state; returns the row
    and the old state. Nothing is changed when a check fails."""
    if rules.role_for(action) is not actor.role:
        raise Forbidden(_l("Only a %(role)s can do that.", role=rules.role_for(action).value))
    demo = _load(db, actor, demonstration_id, lock=True)
    before = demo.state
    try:
        after = rules.transition(action, State(before), actor.role, PathwayKind(demo.kind), note)
    except rules.TransitionError as exc:
        raise Conflict(_l("That cannot be done now: %(why)s.", why=exc.args[0])) from exc
    if guard is not None:
        guard(demo)
    demo.state = after.value
    demo.open_slot = 1 if rules.is_open(after) else None
    demo.updated_at = clock_now()
    return demo, before


def _menu_item(db: Session, demo: Demonstration) -> PathwayMenuItem | None:
    return db.get(PathwayMenuItem, demo.menu_item_id) if demo.menu_item_id else None


def _attempts_used(db: Session, actor: CourseContext, canvas_outcome_id: str, kind: str) -> int:
    return (
        db.scalar(
            select(func.count(Demonstration.id)).where(
                Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
                Demonstration.canvas_user_id == actor.canvas_user_id,
                Demonstration.canvas_outcome_id == canvas_outcome_id,
                Demonstration.kind == kind,
                Demonstration.state != State.WITHDRAWN.value,
            )
        )
        or 0
    )


def _open_demonstration(
    db: Session, actor: CourseContext, canvas_user_id: str, canvas_outcome_id: str
) -> Demonstration | None:
    open_states = [s.value for s in State if rules.is_open(s)]
    return db.scalars(
        select(Demonstration).where(
            Demonstration.in_course(actor.platform_id, actor.canvas_course_id),
            Demonstration.canvas_user_id == canvas_user_id,
            Demonstration.canvas_outcome_id == canvas_outcome_id,
            Demonstration.state.in_(open_states),
        )
    ).first()


_ALREADY_OPEN = _l(
    "You already have a demonstration under way for this target; finish or withdraw it first."
)


def choose(db: Session, actor: CourseContext, canvas_outcome_id: str, kind: str) -> Demonstration:
    """The student picks a pathway of the target's menu; one open demonstration per target."""
    require_student(actor)
    entries, _ = effective_menu(db, actor, canvas_outcome_id)
    entry = next((e for e in entries if e.kind.value == kind), None)
    if entry is None:
        raise NotFound(_l("That pathway is not on this target's menu."))
    if _open_demonstration(db, actor, actor.canvas_user_id, canvas_outcome_id) is not None:
        raise Conflict(_ALREADY_OPEN)
    used = _attempts_used(db, actor, canvas_outcome_id, kind)
    if entry.attempt_limit is not None and used >= entry.attempt_limit:
        raise Conflict(
            _l("You have used all %(limit)s attempts of this pathway.", limit=entry.attempt_limit)
        )
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


def propose(db: Session, actor: CourseContext, demonstration_id: int, text: str) -> Demonstration:
    errors = rules.validate_proposal(text)
    if errors:
        raise Invalid(_l("The proposal was not sent."), errors)
    demo, before = _transition(db, actor, demonstration_id, Action.PROPOSE)
    demo.proposal_text = text.strip()
    _event(db, actor, demo, before)
    return demo


def _teacher_note(
    db: Session, actor: CourseContext, demonstration_id: int, action: Action, note: str
) -> Demonstration:
    errors = rules.validate_feedback(note, required=rules.note_required(action))
    if errors:
        raise Invalid(_l("Nothing was changed."), errors)
    demo, before = _transition(db, actor, demonstration_id, action, note)
    _event(db, actor, demo, before, note)
    return demo


def approve_proposal(
    db: Session, actor: CourseContext, demonstration_id: int, note: str = ""
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.APPROVE_PROPOSAL, note)


def return_proposal(
    db: Session, actor: CourseContext, demonstration_id: int, note: str
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.RETURN_PROPOSAL, note)


def return_submission(
    db: Session, actor: CourseContext, demonstration_id: int, note: str
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.RETURN_SUBMISSION, note)


def decline_reassessment(
    db: Session, actor: CourseContext, demonstration_id: int, note: str
) -> Demonstration:
    return _teacher_note(db, actor, demonstration_id, Action.DECLINE_REASSESSMENT, note)


def submit(
    db: Session, actor: CourseContext, demonstration_id: int, evidence: str, links: str
) -> Demonstration:
    parsed, errors = rules.validate_submission(evidence, links)
    if errors:
        raise Invalid(_l("Your evidence was not submitted."), errors)
    demo, before = _transition(db, actor, demonstration_id, Action.SUBMIT)
    demo.evidence_text = evidence.strip() or None
    demo.links = parsed
    demo.submitted_at = clock_now()
    _event(db, actor, demo, before, details={"links": len(parsed)})
    return demo


def score(
    db: Session, actor: CourseContext, demonstration_id: int, level: str, comment: str = ""
) -> Demonstration:
    """Score a submission on the course's district scale (the version in force is recorded)."""
    require_teacher(actor)
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    value, errors = rules.validate_score(level, eff.scale.values)
    errors |= rules.validate_feedback(comment, required=False)
    if errors or value is None:
        raise Invalid(_l("The score was not saved."), errors)
    demo, before = _transition(db, actor, demonstration_id, Action.SCORE)
    now = clock_now()
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
        raise Conflict(
            _l("All %(limit)s attempts of this pathway are used.", limit=item.attempt_limit)
        )


def request_reassessment(
    db: Session, actor: CourseContext, demonstration_id: int, reflection: str, links: str = ""
) -> Demonstration:
    parsed, errors = rules.validate_reflection(reflection, links)
    if errors:
        raise Invalid(_l("The request was not sent."), errors)
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
    db: Session, actor: CourseContext, demonstration_id: int, note: str = ""
) -> Demonstration:
    """The scored attempt becomes "reassessed" (its score stays evidence); a new attempt
    starts as approved. Returns the new attempt."""
    errors = rules.validate_feedback(note, required=False)
    if errors:
        raise Invalid(_l("Nothing was changed."), errors)
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
        **demo.student_target(),
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


def withdraw(db: Session, actor: CourseContext, demonstration_id: int) -> Demonstration:
    demo, before = _transition(db, actor, demonstration_id, Action.WITHDRAW)
    _event(db, actor, demo, before)
    return demo


def bulk_approve(
    db: Session, actor: CourseContext, demonstration_ids: Sequence[int]
) -> tuple[int, int]:
    """Approve every selected proposal and reassessment request; others are skipped.

    Returns (approved, skipped). Ids outside the teacher's course raise NotFound (nothing of a
    bulk request is applied then: the request's transaction rolls back).
    """
    require_teacher(actor)
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
