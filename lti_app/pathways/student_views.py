"""The student's own pages: "My learning targets", one target, and the pathway forms.

Everything under /s/<handle>/me, for the launch's Learner only, and only ever about that
student: the course and the student come from the launch, never from the URL, and every
demonstration id in a URL goes through ``pathways_service`` (which finds only the student's own,
so a guessed id of a classmate is "not found"). Levels are computed by ``course_mastery`` for
the launch's own user id, exactly as the teacher's drill-down computes them.

A refused form is rendered again (4xx: the request's transaction rolls back) with what was typed
and a message per field; a successful one redirects (post/redirect/get) to the target page.

The same pages, read-only, serve a launch's observer (a parent or guardian) under
/s/<handle>/family/<student id>/: ``pathways.observers`` says which students Canvas lets them
see (anyone else is "not found"), the pages say it in their words, and no form is rendered
(every POST above refuses them: ``CourseContext.from_session`` has no role for an observer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from sqlalchemy.orm import Session

from lti_app.context import DomainError
from lti_app.db import get_session
from lti_app.evidence.observations import observed_days
from lti_app.grading import drill as drill_model
from lti_app.grading import grid as grid_model
from lti_app.grading.charts import CHART_FRAME, Chart, chart_of, fmt, levels_spec
from lti_app.languages import current_language
from lti_app.lti.launch_session import CSRF_FIELD
from lti_app.mastery import pathways as rules
from lti_app.mastery import student_words as words
from lti_app.mastery.district_text import localized_scale
from lti_app.mastery.growth import GrowthStatus
from lti_app.mastery.pathways import Action, PathwayKind, State
from lti_app.mastery.scales import Level, Scale
from lti_app.models.canvas import CourseOutcome, target_name
from lti_app.models.launch import LaunchSession
from lti_app.models.pathways import Demonstration
from lti_app.pathways import family_words
from lti_app.pathways import observers as family
from lti_app.pathways import service as svc
from lti_app.policies.store import EffectivePolicy, effective_policy
from lti_app.translatable import Text, _l
from lti_app.web.access import refuse, session_required

bp = Blueprint("student", __name__, url_prefix="/s/<handle>/me")

# What each state means, said to a 12-year-old.
STATE_TEXT: dict[State, Text] = {
    State.CHOSEN: _l("You chose this pathway. When your work is ready, hand it in below."),
    State.PROPOSED: _l("Your idea is waiting for your teacher to say yes."),
    State.PROPOSAL_RETURNED: _l(
        "Your teacher sent your idea back with a note. Change it and send it again."
    ),
    State.APPROVED: _l("Your teacher said yes. When your work is ready, hand it in below."),
    State.SUBMITTED: _l("You handed in your work. Your teacher will score it."),
    State.RETURNED: _l(
        "Your teacher sent your work back with a note. Improve it and hand it in again."
    ),
    State.SCORED: _l("Your teacher scored this work."),
    State.REASSESSMENT_REQUESTED: _l("You asked to try again. Your teacher will answer soon."),
    State.REASSESSED: _l("You tried again after this one."),
    State.WITHDRAWN: _l("You stopped this pathway."),
}
# Short names of the states for the list of tries (the teachers' pages say it their way).
STATE_NAMES: dict[State, Text] = {
    State.CHOSEN: _l("Chosen"),
    State.PROPOSED: _l("Idea sent"),
    State.PROPOSAL_RETURNED: _l("Idea sent back"),
    State.APPROVED: _l("Idea approved"),
    State.SUBMITTED: _l("Handed in"),
    State.RETURNED: _l("Sent back to improve"),
    State.SCORED: _l("Scored"),
    State.REASSESSMENT_REQUESTED: _l("Asked to try again"),
    State.REASSESSED: _l("Scored, then tried again"),
    State.WITHDRAWN: _l("Stopped"),
}
GROWTH_TEXT: dict[GrowthStatus, Text] = {
    GrowthStatus.NO_EVIDENCE: _l("There is no work scored on this target yet."),
    GrowthStatus.NOT_ENOUGH_EVIDENCE: _l(
        "You need a little more scored work before you get a level."
    ),
    GrowthStatus.MASTERED: _l("You have reached proficiency. Well done!"),
    GrowthStatus.NOT_ON_TRACK_YET: _l(
        "Your scores are not going up yet. Pick a pathway below and show what you have learned."
    ),
}


def on_track_text(projected: datetime) -> Text:
    return _l(
        "You are growing. If you keep going like this, you could reach proficiency around "
        "%(date)s.",
        date=projected,
    )


NOTICES: dict[str, Text] = {
    "chosen": _l("You chose a pathway."),
    "proposed": _l("Your idea was sent to your teacher."),
    "submitted": _l("Your work was handed in. Your teacher will score it."),
    "reassess": _l("Your request to try again was sent to your teacher."),
    "withdrawn": _l("You stopped that pathway. You can choose another one now."),
}
FORM_ACTIONS = {  # URL word -> the service action (the page's forms)
    "propose": Action.PROPOSE,
    "submit": Action.SUBMIT,
    "reassess": Action.REQUEST_REASSESSMENT,
    "withdraw": Action.WITHDRAW,
}
# The text limits the forms show and count (the service enforces the same constants).
TEXT_LIMITS = {
    "proposal": rules.PROPOSAL_MAX,
    "evidence": rules.EVIDENCE_MAX,
    "reflection": rules.NOTE_MAX,
}
# Field names of the service's messages -> the ids of the form fields they belong to.
FIELD_IDS = {
    "proposal": "f-proposal",
    "evidence": "f-evidence",
    "links": "f-links",
    "reflection": "f-reflection",
    "state": "f-state",
}


# --------------------------------------------------------------------------------------------
# Who may look
# --------------------------------------------------------------------------------------------


def _student(row: LaunchSession) -> svc.CourseContext:
    actor = svc.CourseContext.from_session(row)
    if actor.is_teacher:
        raise svc.Forbidden(_l("These pages are for students."))
    return actor


def _refusal(
    exc: DomainError, not_ready: tuple[Text, Text], advice: dict[int, Text], otherwise: Text
) -> Response:
    """The page for a refused request: "not ready yet" before the first sync, else the
    service's message with the advice for its status."""
    if isinstance(exc, svc.NotSynced):
        return refuse(409, *not_ready, tone="info")
    return refuse(exc.status, exc.message, advice.get(exc.status, otherwise))


def student_refusal(exc: DomainError) -> Response:
    return _refusal(
        exc,
        (
            _l("Your learning targets are not ready yet."),
            _l("Your teacher has to connect this course first. Please check again later."),
        ),
        {
            403: _l("Teachers: open the class mastery grid from the course overview."),
            404: _l("Go back to My learning targets and choose again."),
        },
        _l("Go back to My learning targets and try again."),
    )


bp.register_error_handler(DomainError, student_refusal)


# --------------------------------------------------------------------------------------------
# What a page shows about one target
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCard:
    target: svc.StudentTarget
    group: str
    name: str
    """The title with Canvas's friendly name ("RL.7.2: Theme and summary") when it has one."""
    level: Level | None
    level_index: int | None
    value: float | None
    mastered: bool
    growth_text: str
    chart: Chart | None
    next_level: Level | None
    next_text: str
    to_go: float | None
    """How far the current level is below proficiency (None when there is no level yet)."""
    goal_text: str
    """What the proficient level means (for this target, if the scale says)."""
    show_description: bool
    """False when Canvas's description only repeats the name."""
    override_reason: str | None = None
    """The teacher's reason when a teacher override sets the level (the student sees it)."""
    counted_text: str = ""
    """How the scores made the level, in a student's words."""
    next_step_text: str = ""
    """What the next score would need to be to reach the next level."""
    for_family: bool = False
    """Said to an observer (a parent or guardian) rather than to the student."""

    @property
    def state_text(self) -> str:
        current = self.target.current
        if current is None:
            return ""
        state = State(current.state)
        return (family_words.STATE_TEXT if self.for_family else STATE_TEXT)[state]


def next_text(scale: Scale, keys: tuple[str, ...], level: Level | None) -> str:
    """The scale's words for ``level`` on this target (a descriptor names the target by its
    Canvas id or its title), else the level's description in a student's words."""
    if level is None:
        return ""
    for key in keys:
        if text := scale.descriptor(key, level.value):
            return text
    return level.for_students


def my_drills(
    db: Session,
    actor: svc.CourseContext,
    eff: EffectivePolicy,
    targets: dict[str, CourseOutcome],
    now: datetime,
) -> dict[str, drill_model.Drill]:
    """Every target's drill-down for the launch's own student (never another's: the id comes
    from the launch). tests/pathways/test_student_levels.py checks it against the teacher's."""
    return drill_model.student_drills(
        db,
        actor.platform_id,
        actor.canvas_course_id,
        actor.canvas_user_id,
        [
            grid_model.GridTarget(oid, o.title, " / ".join(o.group_path), o.name)
            for oid, o in targets.items()
        ],
        eff.scale,
        eff.policy,
        eff.mapping,
        now,
    )


def _explained(
    card: TargetCard, drill: drill_model.Drill | None, eff: EffectivePolicy, now: datetime
) -> TargetCard:
    """The card with the calculation and the next step in a student's words."""
    if drill is None or not drill.evidence:
        return card
    counted = ""
    if not drill.result.overridden:
        scores = [row.evidence.score for row in drill.evidence if row.counts]
        counted = (
            words.how_it_counted(
                eff.policy, scores, drill.result.value, eff.scale.mastery_threshold
            )
            or ""
        )
    step = words.next_step(
        [row.evidence for row in drill.evidence], eff.policy, eff.scale, drill.result, now
    )
    return replace(card, counted_text=counted, next_step_text=step.words() if step else "")


def _card(
    scale: Scale,
    target: svc.StudentTarget,
    outcome: CourseOutcome | None,
    drill: drill_model.Drill | None,
    for_family: bool = False,
) -> TargetCard:
    def growth_words(status: GrowthStatus) -> Text:
        said = family_words.GROWTH_TEXT if for_family else GROWTH_TEXT
        return said.get(status, GROWTH_TEXT[status])

    group = " / ".join(outcome.group_path) if outcome else ""
    name = target_name(target.title, outcome.display_name if outcome else None)
    keys = (target.canvas_outcome_id, target.title)
    goal = next_text(scale, keys, scale.mastery_level)
    plain = re.sub(r"<[^>]*>", " ", target.description or "")
    plain = " ".join(plain.split()).rstrip(".").casefold()
    show_description = bool(plain) and plain not in name.casefold()
    if drill is None or drill.level_index is None or drill.result.value is None:
        status = (
            GrowthStatus.NOT_ENOUGH_EVIDENCE
            if drill is not None and drill.evidence
            else GrowthStatus.NO_EVIDENCE
        )
        return TargetCard(
            target,
            group,
            name,
            None,
            None,
            None,
            False,
            growth_words(status),
            chart_of(drill, scale) if drill is not None else None,
            None,  # no level yet: the goal is proficiency itself
            "",
            None,
            goal,
            show_description,
            for_family=for_family,
        )
    value = drill.result.value
    g = drill.growth
    nxt = scale.next_level_above(value)
    # growth() dates every ON_TRACK (never a sentence with a blank date).
    if g.status is GrowthStatus.ON_TRACK and g.projected_date is not None:
        text = (family_words.on_track_text if for_family else on_track_text)(g.projected_date)
    else:
        text = growth_words(
            GrowthStatus.NOT_ON_TRACK_YET if g.status is GrowthStatus.ON_TRACK else g.status
        )
    return TargetCard(
        target,
        group,
        name,
        scale.levels[drill.level_index],
        drill.level_index,
        value,
        scale.is_mastery(value),
        text,
        chart_of(drill, scale),
        nxt,
        next_text(scale, keys, nxt),
        max(0.0, round(scale.mastery_threshold - value, 2)),
        goal,
        show_description,
        drill.result.override_reason if drill.result.overridden else None,
        for_family=for_family,
    )


def _cards(
    db: Session,
    actor: svc.CourseContext,
    eff: EffectivePolicy,
    only: str | None = None,
    for_family: bool = False,
) -> list[TargetCard]:
    outcomes = {o.canvas_outcome_id: o for o in svc.targets(db, actor)}
    language = current_language()
    mine = [
        replace(t, menu=[e.in_language(language) for e in t.menu])
        for t in svc.student_view(db, actor)
        if only is None or t.canvas_outcome_id == only
    ]
    wanted = {t.canvas_outcome_id: outcomes[t.canvas_outcome_id] for t in mine}
    now = datetime.now(UTC)
    drills = my_drills(db, actor, eff, wanted, now)
    shown = localized_scale(eff.scale, language)  # the district's words, translated
    cards = []
    for t in mine:
        drill = drills.get(t.canvas_outcome_id)
        card = _card(shown, t, outcomes.get(t.canvas_outcome_id), drill, for_family)
        # The calculation and next score are said to the student ("your latest score"): an
        # observer reads the level, its meaning and the growth instead.
        explain = only is not None and not for_family
        cards.append(_explained(card, drill, eff, now) if explain else card)
    return cards


def _page(row: LaunchSession, eff: EffectivePolicy, **ctx: Any) -> dict[str, Any]:
    return {
        "s": row,
        "scale": localized_scale(eff.scale, current_language()),
        "levels_css": url_for("grid.levels_css", spec=levels_spec(eff.scale)),
        "fmt": fmt,
        "csrf_field": CSRF_FIELD,
        **CHART_FRAME,
        "state_labels": {s.value: label for s, label in STATE_NAMES.items()},
        "limits": TEXT_LIMITS,
        **ctx,
    }


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


@bp.get("/")
@session_required()
def targets(row: LaunchSession) -> Response:
    return targets_page(row)


def landing_page(row: LaunchSession) -> Response | None:
    """The student's landing page is this page (registered in create_app); before the first
    sync the landing page stays, saying the targets are not ready."""
    try:
        return targets_page(row)
    except DomainError:
        return None


def targets_page(row: LaunchSession) -> Response:
    return _targets_html(row, _student(row))


def _targets_html(row: LaunchSession, actor: svc.CourseContext, **family_ctx: Any) -> Response:
    db = get_session()
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    cards = _cards(db, actor, eff, for_family=bool(family_ctx))
    groups: list[tuple[str, list[TargetCard]]] = []
    for card in cards:  # already in Canvas's outline order: consecutive groups
        if not groups or groups[-1][0] != card.group:
            groups.append((card.group, []))
        groups[-1][1].append(card)
    mastered = sum(c.mastered for c in cards)
    html = render_template(
        "student_targets.html",
        **_page(row, eff, groups=groups, cards=cards, mastered=mastered, **family_ctx),
    )
    return Response(html, mimetype="text/html")


def _target_page(row: LaunchSession, oid: str, status: int = 200, **ctx: Any) -> Response:
    return _target_html(row, _student(row), oid, status, **ctx)


def _target_html(
    row: LaunchSession, actor: svc.CourseContext, oid: str, status: int = 200, **ctx: Any
) -> Response:
    db = get_session()
    eff = effective_policy(db, actor.platform_id, actor.canvas_course_id)
    for_family = "observed" in ctx
    found = _cards(db, actor, eff, only=oid, for_family=for_family)
    if not found:
        raise svc.NotFound(_l("This course has no such learning target."))
    card = found[0]
    current = card.target.current
    can_choose = not for_family and (current is None or not rules.is_open(State(current.state)))
    ctx.setdefault("errors", {})
    ctx.setdefault("typed", {})
    html = render_template(
        "student_target.html",
        **_page(
            row,
            eff,
            c=card,
            t=card.target,
            current=current,
            # An observer only reads: no action, so no form.
            actions=set() if for_family else {a.value for a in card.target.actions},
            can_choose=can_choose,
            feedback=_feedback(card.target.history),
            # The launch's own student only (the id comes from the launch, never the URL).
            observations=observed_days(
                db, actor.platform_id, actor.canvas_course_id, actor.canvas_user_id, oid
            ),
            field_ids=FIELD_IDS,
            proposal_kind=PathwayKind.PROPOSAL.value,
            now=datetime.now(UTC),
            **ctx,
        ),
    )
    return Response(html, status=status, mimetype="text/html")


@dataclass(frozen=True)
class Feedback:
    demo: Demonstration
    notes: list[tuple[datetime, str]]


def _feedback(history: list[Demonstration]) -> list[Feedback]:
    """Every attempt (newest first) with the teacher's notes on it."""
    return [
        Feedback(d, [(e.at, e.note or "") for e in svc.teacher_feedback(d)])
        for d in history
        if d.state != State.WITHDRAWN.value or svc.teacher_feedback(d)
    ]


@bp.get("/targets/<oid>")
@session_required()
def target(row: LaunchSession, oid: str) -> Response:
    return _target_page(row, oid)


@bp.get("/targets/<oid>/done/<what>")
@session_required()
def done(row: LaunchSession, oid: str, what: str) -> Response:
    """Where a saved form lands (post/redirect/get: a reload does not post again)."""
    return _target_page(row, oid, notice=NOTICES.get(what))


def _after(row: LaunchSession, oid: str, what: str) -> Response:
    location = url_for("student.done", handle=row.id, oid=oid, what=what)
    return Response(status=303, headers={"Location": location})


@bp.post("/targets/<oid>/choose")
@session_required()
def choose(row: LaunchSession, oid: str) -> Response:
    db = get_session()
    kind = request.form.get("kind", "")
    try:
        actor = _student(row)
        if not kind:
            raise svc.Invalid(
                _l("Nothing was chosen."), {"kind": _l("Pick one of the pathways first.")}
            )
        svc.choose(db, actor, oid, kind)
    except (svc.Invalid, svc.Conflict) as exc:
        errors = exc.errors or {"kind": exc.message}
        return _target_page(row, oid, status=exc.status, errors=errors, typed={"kind": kind})
    return _after(row, oid, "chosen")


@bp.post("/targets/<oid>/demonstrations/<id:demo_id>/<action>")
@session_required()
def act(row: LaunchSession, oid: str, demo_id: int, action: str) -> Response:
    db = get_session()
    if action not in FORM_ACTIONS:
        return refuse(404, _l("There is no such page."), _l("Go back to My learning targets."))
    form = request.form
    typed = {k: form.get(k, "") for k in ("proposal", "evidence", "links", "reflection")}
    try:
        actor = _student(row)
        demo = svc.demonstration(db, actor, demo_id)  # the student's own, or NotFound
        if demo.canvas_outcome_id != oid:
            raise svc.NotFound(_l("There is no such demonstration."))
        if action == "propose":
            svc.propose(db, actor, demo_id, typed["proposal"])
            what = "proposed"
        elif action == "submit":
            svc.submit(db, actor, demo_id, typed["evidence"], typed["links"])
            what = "submitted"
        elif action == "reassess":
            svc.request_reassessment(db, actor, demo_id, typed["reflection"], typed["links"])
            what = "reassess"
        else:
            svc.withdraw(db, actor, demo_id)
            what = "withdrawn"
    except (svc.Invalid, svc.Conflict) as exc:
        errors = exc.errors or {"state": exc.message}
        return _target_page(
            row, oid, status=exc.status, errors=errors, typed=typed, form_action=action
        )
    return _after(row, oid, what)


# --------------------------------------------------------------------------------------------
# The same pages for an observer (parent or guardian), read-only
# --------------------------------------------------------------------------------------------

family_bp = Blueprint("family", __name__, url_prefix="/s/<handle>/family")


def family_refusal(exc: DomainError) -> Response:
    return _refusal(
        exc,
        (
            _l("The learning targets are not ready yet."),
            _l("The teacher has to connect this course first. Please check again later."),
        ),
        {404: _l("Go back to the list of learning targets.")},
        _l("Open Mastery Pathways again from Canvas."),
    )


family_bp.register_error_handler(DomainError, family_refusal)


def _family_ctx(
    student: family.ObservedStudent, students: list[family.ObservedStudent]
) -> dict[str, Any]:
    return {"observed": student, "observed_all": students}


def family_page(row: LaunchSession, student_id: str | None = None) -> Response:
    """The first (or the named) observed student's learning targets; a kind page when the
    observer observes nobody in this course."""
    db = get_session()
    students = family.observed_students(db, row)
    if not students:
        html = render_template("family_none.html", s=row, csrf_field=CSRF_FIELD)
        return Response(html, mimetype="text/html")
    actor, student, students = family.observed_context(
        db, row, student_id or students[0].canvas_user_id
    )
    return _targets_html(row, actor, **_family_ctx(student, students))


def family_landing(row: LaunchSession) -> Response | None:
    """An observer's launch lands here (registered in create_app); before the course's first
    sync the landing page stays."""
    try:
        return family_page(row)
    except DomainError:
        return None


@family_bp.get("/", defaults={"student_id": None})
@family_bp.get("/<student_id>/")
@session_required()
def family_targets(row: LaunchSession, student_id: str | None) -> Response:
    return family_page(row, student_id)


@family_bp.get("/<student_id>/targets/<oid>")
@session_required()
def family_target(row: LaunchSession, student_id: str, oid: str) -> Response:
    actor, student, students = family.observed_context(get_session(), row, student_id)
    return _target_html(row, actor, oid, **_family_ctx(student, students))
