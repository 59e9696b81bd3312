"""Demonstration pathways: every operation a page performs, authorized and audited here.

Each operation takes an :class:`CourseContext` (built from the launch session: tenant, course, user,
role) and checks it before touching anything: a student acts only on their own demonstrations,
a teacher only in the launched course, and every query is scoped by platform and course, so a
guessed id of another student, course or tenant is simply "not found". Every state change writes
a ``demonstration_event`` in the same transaction (the caller's: views commit at the request
boundary). The rules themselves (who may do what when, input limits) are the pure
``lti_app.mastery.pathways``.

Until a teacher saves a menu for a target, the target offers the district default menu: the
enabled kinds of the district library with the library's instructions.

For the student pages (``actor = CourseContext.from_session(row)``; each raises a ``DomainError``
subclass whose ``status`` is the HTTP status and whose ``errors`` maps form fields to messages):

- ``student_view(db, actor)``: every target with its menu, the current demonstration, the
  actions allowed now, and the history (each demonstration's ``events`` hold the feedback;
  ``teacher_feedback(demo)`` picks the teachers' notes);
- ``choose(db, actor, outcome_id, kind)``, ``propose(db, actor, demo_id, text)``,
  ``submit(db, actor, demo_id, evidence, links)`` (links: one per line),
  ``request_reassessment(db, actor, demo_id, reflection, links)``, ``withdraw(db, actor, id)``;
- ``demonstration(db, actor, demo_id)``: one of the student's own (404 for anyone else's).

The operations live in one module per concern (actor, targets, menus, lifecycle, review,
student, evidence); this module is the one place the views and other domains import them from.
"""

from __future__ import annotations

from lti_app.context import (
    Conflict,
    CourseContext,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    NotSynced,
)
from lti_app.pathways.evidence import (
    clear_override,
    override_evidence,
    override_rows,
    scored_rows,
    set_override,
)
from lti_app.pathways.lifecycle import (
    approve_proposal,
    approve_reassessment,
    bulk_approve,
    choose,
    decline_reassessment,
    demonstration,
    propose,
    request_reassessment,
    return_proposal,
    return_submission,
    score,
    submit,
    withdraw,
)
from lti_app.pathways.menus import MenuEntry, MenuRow, copy_menu, effective_menu, save_menu
from lti_app.pathways.review import (
    choice_analytics,
    queue_counts,
    review_queue,
    roster_names,
    waiting_count,
)
from lti_app.pathways.student import StudentTarget, student_view, teacher_feedback
from lti_app.pathways.targets import (
    ENTRY_TEXT_LIMITS,
    LibraryRow,
    library,
    save_library,
    targets,
)

__all__ = [
    "ENTRY_TEXT_LIMITS",
    "Conflict",
    "CourseContext",
    "DomainError",
    "Forbidden",
    "Invalid",
    "LibraryRow",
    "MenuEntry",
    "MenuRow",
    "NotFound",
    "NotSynced",
    "StudentTarget",
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
    "override_rows",
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
    "scored_rows",
    "set_override",
    "student_view",
    "submit",
    "targets",
    "teacher_feedback",
    "waiting_count",
    "withdraw",
]
