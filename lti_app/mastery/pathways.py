"""Demonstration pathways: the kinds, the lifecycle and the input rules (pure, stdlib only).

A student demonstrates a learning target through one item of the target's menu. Its life:

    chosen --propose--> proposed --approve--> approved --submit--> submitted --score--> scored
              (own proposal only)  \\--return_proposal--> proposal_returned --propose--> ...
    chosen --submit--> submitted   (every kind but a proposal of the student's own)
    submitted --return_submission--> returned --submit--> submitted
    scored --request_reassessment--> reassessment_requested
        --approve_reassessment--> reassessed (this attempt keeps its score; a new attempt starts
                                              as "approved")
        --decline_reassessment--> scored
    chosen, proposed, proposal_returned, approved, returned --withdraw--> withdrawn

Each transition names the one role that may make it. A scored attempt stays evidence for good
(``scored``, ``reassessment_requested`` and ``reassessed`` all carry their score).

Validation functions return ``{field: message}``: an empty dict means the input is fine.
Messages are written for the person who typed the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from enum import StrEnum
from urllib.parse import urlsplit

from lti_app.input_rules import bidi_control, codepoint, finite_number, whole_number
from lti_app.translatable import Text, _l

__all__ = [
    "ATTEMPT_LIMIT_MAX",
    "DEFAULT_KINDS",
    "EVIDENCE_MAX",
    "INSTRUCTIONS_MAX",
    "LINKS_MAX",
    "LINK_MAX",
    "NOTE_MAX",
    "PROPOSAL_MAX",
    "STATE_LABELS",
    "TITLE_MAX",
    "Action",
    "KindInfo",
    "MenuItemInput",
    "PathwayKind",
    "Role",
    "State",
    "TransitionError",
    "actions_for",
    "errors_text",
    "has_score",
    "is_open",
    "note_required",
    "parse_due",
    "parse_links",
    "role_for",
    "transition",
    "validate_feedback",
    "validate_menu_item",
    "validate_proposal",
    "validate_reflection",
    "validate_score",
    "validate_submission",
]

TITLE_MAX = 200
INSTRUCTIONS_MAX = 5000
PROPOSAL_MAX = 5000
EVIDENCE_MAX = 10000
NOTE_MAX = 2000
LINK_MAX = 2000
LINKS_MAX = 10
ATTEMPT_LIMIT_MAX = 10


class PathwayKind(StrEnum):
    TEST = "test"
    PROJECT = "project"
    PRESENTATION = "presentation"
    PORTFOLIO = "portfolio"
    PERFORMANCE_TASK = "performance_task"
    CONFERENCE = "conference"
    PROPOSAL = "proposal"


@dataclass(frozen=True)
class KindInfo:
    kind: PathwayKind
    title: str
    instructions: str


# The district library's defaults, in the order menus list them.
DEFAULT_KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        PathwayKind.TEST,
        "Test or quiz",
        "Take the test or quiz on this target when you feel ready.",
    ),
    KindInfo(
        PathwayKind.PROJECT,
        "Project",
        "Make something that shows the target in use, and explain how it does.",
    ),
    KindInfo(
        PathwayKind.PRESENTATION,
        "Presentation",
        "Present what you know about this target to the class or to your teacher.",
    ),
    KindInfo(
        PathwayKind.PORTFOLIO,
        "Portfolio piece",
        "Choose a piece of your work that shows this target, and say why you chose it.",
    ),
    KindInfo(
        PathwayKind.PERFORMANCE_TASK,
        "Performance task",
        "Complete the task as described, then submit what you made or did.",
    ),
    KindInfo(
        PathwayKind.CONFERENCE,
        "Conference",
        "Book a conversation with your teacher and bring your evidence.",
    ),
    KindInfo(
        PathwayKind.PROPOSAL,
        "A proposal of your own",
        "Describe how you would like to show this target; your teacher approves it first.",
    ),
)


class State(StrEnum):
    CHOSEN = "chosen"
    PROPOSED = "proposed"
    PROPOSAL_RETURNED = "proposal_returned"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    SCORED = "scored"
    REASSESSMENT_REQUESTED = "reassessment_requested"
    REASSESSED = "reassessed"
    WITHDRAWN = "withdrawn"


STATE_LABELS: dict[State, str] = {
    State.CHOSEN: "Chosen",
    State.PROPOSED: "Proposal waiting for approval",
    State.PROPOSAL_RETURNED: "Proposal returned with feedback",
    State.APPROVED: "Approved: ready to submit",
    State.SUBMITTED: "Submitted: waiting for a score",
    State.RETURNED: "Returned with feedback",
    State.SCORED: "Scored",
    State.REASSESSMENT_REQUESTED: "Reassessment requested",
    State.REASSESSED: "Reassessed (a new attempt followed)",
    State.WITHDRAWN: "Withdrawn",
}

_SCORED_STATES = frozenset({State.SCORED, State.REASSESSMENT_REQUESTED, State.REASSESSED})
_CLOSED_STATES = frozenset({State.SCORED, State.REASSESSED, State.WITHDRAWN})


def has_score(state: State) -> bool:
    """True for the states whose attempt carries a score (evidence for the mastery engine)."""
    return State(state) in _SCORED_STATES


def is_open(state: State) -> bool:
    """True while the attempt still needs someone to act (a student has one open per target)."""
    return State(state) not in _CLOSED_STATES


class Role(StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"


class Action(StrEnum):
    PROPOSE = "propose"
    APPROVE_PROPOSAL = "approve_proposal"
    RETURN_PROPOSAL = "return_proposal"
    SUBMIT = "submit"
    RETURN_SUBMISSION = "return_submission"
    SCORE = "score"
    REQUEST_REASSESSMENT = "request_reassessment"
    APPROVE_REASSESSMENT = "approve_reassessment"
    DECLINE_REASSESSMENT = "decline_reassessment"
    WITHDRAW = "withdraw"


@dataclass(frozen=True)
class _Rule:
    role: Role
    sources: frozenset[State]
    target: State
    note_required: bool = False


_RULES: dict[Action, _Rule] = {
    Action.PROPOSE: _Rule(
        Role.STUDENT, frozenset({State.CHOSEN, State.PROPOSAL_RETURNED}), State.PROPOSED
    ),
    Action.APPROVE_PROPOSAL: _Rule(Role.TEACHER, frozenset({State.PROPOSED}), State.APPROVED),
    Action.RETURN_PROPOSAL: _Rule(
        Role.TEACHER, frozenset({State.PROPOSED}), State.PROPOSAL_RETURNED, note_required=True
    ),
    Action.SUBMIT: _Rule(
        Role.STUDENT,
        frozenset({State.CHOSEN, State.APPROVED, State.RETURNED}),
        State.SUBMITTED,
    ),
    Action.RETURN_SUBMISSION: _Rule(
        Role.TEACHER, frozenset({State.SUBMITTED}), State.RETURNED, note_required=True
    ),
    Action.SCORE: _Rule(Role.TEACHER, frozenset({State.SUBMITTED}), State.SCORED),
    Action.REQUEST_REASSESSMENT: _Rule(
        Role.STUDENT, frozenset({State.SCORED}), State.REASSESSMENT_REQUESTED, note_required=True
    ),
    Action.APPROVE_REASSESSMENT: _Rule(
        Role.TEACHER, frozenset({State.REASSESSMENT_REQUESTED}), State.REASSESSED
    ),
    Action.DECLINE_REASSESSMENT: _Rule(
        Role.TEACHER, frozenset({State.REASSESSMENT_REQUESTED}), State.SCORED, note_required=True
    ),
    Action.WITHDRAW: _Rule(
        Role.STUDENT,
        frozenset(
            {
                State.CHOSEN,
                State.PROPOSED,
                State.PROPOSAL_RETURNED,
                State.APPROVED,
                State.RETURNED,
            }
        ),
        State.WITHDRAWN,
    ),
}


class TransitionError(ValueError):
    """The action is not allowed: wrong role, wrong state, or a proposal not yet approved."""


def transition(
    action: Action, state: State, role: Role, kind: PathwayKind, note: str = ""
) -> State:
    """The state after ``action``, or :class:`TransitionError` saying why it is refused."""
    rule = _RULES[Action(action)]
    state = State(state)
    if Role(role) is not rule.role:
        raise TransitionError(
            _l(
                "only the %(role)s may %(action)s",
                role=rule.role.value,
                action=Action(action).value,
            )
        )
    if state not in rule.sources:
        raise TransitionError(
            _l(
                "cannot %(action)s a demonstration that is %(state)s",
                action=Action(action).value,
                state=STATE_LABELS[state].lower(),
            )
        )
    kind = PathwayKind(kind)
    if action is Action.PROPOSE and kind is not PathwayKind.PROPOSAL:
        raise TransitionError(_l("only a proposal of the student's own is proposed first"))
    if action is Action.SUBMIT and kind is PathwayKind.PROPOSAL and state is State.CHOSEN:
        # An own proposal needs the teacher's approval before any evidence is submitted.
        raise TransitionError(_l("a proposal must be approved before evidence is submitted"))
    if rule.note_required and not note.strip():
        raise TransitionError(_l("%(action)s needs a note", action=Action(action).value))
    return rule.target


def role_for(action: Action) -> Role:
    """The one role that may take ``action``."""
    return _RULES[Action(action)].role


def note_required(action: Action) -> bool:
    return _RULES[Action(action)].note_required


def actions_for(state: State, role: Role, kind: PathwayKind) -> list[Action]:
    """Every action ``role`` may take now (for buttons; the service re-checks on submit)."""
    out = []
    for action, rule in _RULES.items():
        try:
            transition(action, state, role, kind, note="x" if rule.note_required else "")
        except TransitionError:
            continue
        out.append(action)
    return out


# --------------------------------------------------------------------------------------------
# Input rules
# --------------------------------------------------------------------------------------------


def _length(errors: dict[str, str], key: str, value: str, limit: int, what: Text) -> None:
    if len(value) > limit:
        errors[key] = _l(
            "%(what)s is %(length)s characters long; the limit is %(limit)s.",
            what=what,
            length=len(value),
            limit=limit,
        )
    elif "\x00" in value:  # PostgreSQL text cannot hold NUL; no keyboard types it
        errors[key] = _l("%(what)s contains a character that cannot be stored (NUL).", what=what)


@dataclass(frozen=True)
class MenuItemInput:
    """A menu item as parsed from a form (``due_at`` is UTC, ``attempt_limit`` None = no limit)."""

    kind: PathwayKind
    title: str
    instructions: str
    due_at: datetime | None
    attempt_limit: int | None


def parse_due(raw: str) -> datetime:
    """``YYYY-MM-DD`` (due at the end of that day) or ``YYYY-MM-DDTHH:MM``, taken as UTC."""
    text = raw.strip()
    if "T" in text or " " in text:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    day = datetime.strptime(text, "%Y-%m-%d").date()
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


def validate_menu_item(
    kind: str,
    title: str,
    instructions: str,
    due: str,
    attempt_limit: str,
    now: datetime,
    previous_due: datetime | None = None,
) -> tuple[MenuItemInput | None, dict[str, str]]:
    """Check one menu row. A due date may stay in the past only if it was already saved so."""
    errors: dict[str, str] = {}
    try:
        parsed_kind = PathwayKind(kind)
    except ValueError:
        errors["kind"] = _l("Choose a pathway kind from the district library.")
        parsed_kind = PathwayKind.PROPOSAL
    title = title.strip()
    instructions = instructions.strip()
    if not title:
        errors["title"] = _l("Give the pathway a title.")
    _length(errors, "title", title, TITLE_MAX, _l("The title"))
    if not instructions:
        errors["instructions"] = _l("Write instructions so students know what to do.")
    _length(errors, "instructions", instructions, INSTRUCTIONS_MAX, _l("The instructions"))
    due_at: datetime | None = None
    if due.strip():
        try:
            due_at = parse_due(due)
        except (ValueError, OverflowError):
            errors["due"] = _l("Write the due date as YYYY-MM-DD (for example 2026-12-18).")
        else:
            if due_at < now and due_at != previous_due:
                errors["due"] = _l(
                    "The due date is in the past; choose a later date or leave it blank."
                )
    limit: int | None = None
    if attempt_limit.strip():
        limit = whole_number(attempt_limit, 1, ATTEMPT_LIMIT_MAX)
        if limit is None:
            errors["attempt_limit"] = _l(
                "The attempt limit is a whole number from 1 to %(most)s, or blank for no limit.",
                most=ATTEMPT_LIMIT_MAX,
            )
    if errors:
        return None, errors
    return MenuItemInput(parsed_kind, title, instructions, due_at, limit), {}


def validate_proposal(text: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not text.strip():
        errors["proposal"] = _l("Describe how you would like to show this target.")
    _length(errors, "proposal", text.strip(), PROPOSAL_MAX, _l("The proposal"))
    return errors


def parse_links(raw: str) -> tuple[list[str], dict[str, str]]:
    """Links, one per line (blank lines ignored); each must be an http(s) address."""
    links = [line.strip() for line in raw.splitlines() if line.strip()]
    errors: dict[str, str] = {}
    if len(links) > LINKS_MAX:
        errors["links"] = _l(
            "Give at most %(most)s links (%(given)s given).", most=LINKS_MAX, given=len(links)
        )
        return links, errors
    for number, link in enumerate(links, start=1):
        if len(link) > LINK_MAX:
            errors["links"] = _l(
                "Link %(number)s is longer than %(most)s characters.", number=number, most=LINK_MAX
            )
            break
        try:
            parts = urlsplit(link)
            host = parts.hostname
        except ValueError:  # e.g. a broken IPv6 literal "http://[::1"
            host = None
        spaced = any(c.isspace() or ord(c) < 32 for c in link)
        if host is None or parts.scheme.lower() not in ("http", "https") or spaced:
            errors["links"] = _l(
                "Link %(number)s (%(link)s) is not a web address; it must start with https:// or "
                "http://.",
                number=number,
                link=link[:60],
            )
            break
        if (char := bidi_control(link)) is not None:
            # It would make the link read as another address to the teacher.
            errors["links"] = _l(
                "Link %(number)s contains an invisible character (%(char)s) that changes the "
                "direction of the text around it; remove it.",
                number=number,
                char=codepoint(char),
            )
            break
    return links, errors


def validate_submission(evidence: str, links: str) -> tuple[list[str], dict[str, str]]:
    """Evidence text and/or links: at least one of them, each within its limits."""
    parsed, errors = parse_links(links)
    _length(errors, "evidence", evidence.strip(), EVIDENCE_MAX, _l("The evidence text"))
    if not evidence.strip() and not parsed and "links" not in errors:
        errors["evidence"] = _l("Write about your evidence or give at least one link to it.")
    return parsed, errors


def validate_reflection(text: str, links: str) -> tuple[list[str], dict[str, str]]:
    """A reassessment request: a reflection (required) and optional practice-evidence links."""
    parsed, errors = parse_links(links)
    if not text.strip():
        errors["reflection"] = _l("Say what you have learned or practised since the last score.")
    _length(errors, "reflection", text.strip(), NOTE_MAX, _l("The reflection"))
    return parsed, errors


def validate_feedback(note: str, required: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if required and not note.strip():
        errors["note"] = _l("Write feedback so the student knows what to change.")
    _length(errors, "note", note.strip(), NOTE_MAX, _l("The feedback"))
    return errors


def validate_score(raw: str, values: Iterable[float]) -> tuple[float | None, dict[str, str]]:
    """A level value of the district scale (``values``), as sent by the radio buttons."""
    allowed = sorted(set(values))
    value = finite_number(raw)
    if value is None or value not in allowed:
        return None, {"score": _l("Choose a level of the scale.")}
    return value, {}


def errors_text(errors: Mapping[str, str]) -> str:
    return " ".join(errors.values())
