"""The pathways service on a real database: lifecycle with audit, evidence, menus, queue,
analytics, overrides, and the authorization of every operation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.db import session_scope
from lti_app.grading.course_mastery import tool_evidence
from lti_app.mastery.calculation import Evidence, SourceKind
from lti_app.mastery.pathways import Role, State
from lti_app.mastery.scales import load_preset
from lti_app.models.pathways import Demonstration, DemonstrationEvent, PathwayMenuItem
from lti_app.pathways import lifecycle
from lti_app.pathways import service as svc
from lti_app.policies.store import builtin_default, default_mapping, save_scale, set_policy
from tests.lti_platform import FakePlatform
from tests.pathways.conftest import (
    AVA,
    BEN,
    COURSE,
    OTHER_COURSE,
    RL,
    TEACHER,
    W,
    add_platform,
    platform_id_of,
    seed_course,
)


@pytest.fixture
def pid(app: Flask, platform: FakePlatform) -> int:
    pid = platform_id_of(app, platform)
    seed_course(app, pid)
    return pid


@pytest.fixture
def db(app: Flask, pid: int) -> Iterator[Session]:
    with app.app_context(), session_scope(app) as session:
        yield session


def student(pid: int, uid: str = AVA, course: str = COURSE) -> svc.CourseContext:
    return svc.CourseContext(pid, course, uid, Role.STUDENT)


def teacher(pid: int, course: str = COURSE) -> svc.CourseContext:
    return svc.CourseContext(pid, course, TEACHER, Role.TEACHER)


def scored_evidence(db: Session, pid: int, course: str) -> dict[tuple[str, str], list[Evidence]]:
    """The course's scored attempts as the mastery engine receives them (the grid, the
    drill-down and the export all read the tool's evidence through ``tool_evidence``)."""
    kinds = {
        pair: [e for e in items if e.kind is SourceKind.DEMONSTRATION]
        for pair, items in tool_evidence(db, pid, course).items()
    }
    return {pair: items for pair, items in kinds.items() if items}


def events(db: Session, demo_id: int) -> list[tuple[str | None, str, str, str | None]]:
    rows = db.scalars(
        select(DemonstrationEvent)
        .where(DemonstrationEvent.demonstration_id == demo_id)
        .order_by(DemonstrationEvent.id)
    )
    return [(e.from_state, e.to_state, e.actor_role, e.note) for e in rows]


def test_own_proposal_lifecycle_is_audited_and_scores_become_evidence(
    db: Session, pid: int
) -> None:
    ava, t = student(pid), teacher(pid)
    demo = svc.choose(db, ava, RL, "proposal")
    assert demo.state == "chosen" and demo.attempt == 1 and demo.menu_item_id is None
    svc.propose(db, ava, demo.id, "A podcast episode on the story's central idea")
    svc.return_proposal(db, t, demo.id, "Name the story you will use")
    svc.propose(db, ava, demo.id, "A podcast on 'The Gift of the Magi'")
    svc.approve_proposal(db, t, demo.id)
    svc.submit(db, ava, demo.id, "Transcript below.", "https://pod.example/ep1\n")
    scored = svc.score(db, t, demo.id, "3.5", "Clear central idea")
    assert scored.state == "scored" and scored.score == 3.5 and scored.scored_by == TEACHER
    assert scored.scale_version_id is None  # the built-in default scale
    assert scored.links == ["https://pod.example/ep1"]
    assert events(db, demo.id) == [
        (None, "chosen", "student", None),
        ("chosen", "proposed", "student", None),
        ("proposed", "proposal_returned", "teacher", "Name the story you will use"),
        ("proposal_returned", "proposed", "student", None),
        ("proposed", "approved", "teacher", None),
        ("approved", "submitted", "student", None),
        ("submitted", "scored", "teacher", "Clear central idea"),
    ]
    evidence = scored_evidence(db, pid, COURSE)
    [ev] = evidence[(AVA, RL)]
    assert (ev.score, ev.kind, ev.id) == (3.5, SourceKind.DEMONSTRATION, f"demo:{demo.id}")
    assert ev.at == scored.scored_at

    # reassessment: the first score stays evidence, a second attempt starts approved
    svc.request_reassessment(db, ava, demo.id, "I re-read and annotated two more stories")
    again = svc.approve_reassessment(db, t, demo.id, "Go ahead")
    assert (again.state, again.attempt, again.previous_id) == ("approved", 2, demo.id)
    assert db.get(Demonstration, demo.id).state == "reassessed"  # type: ignore[union-attr]
    svc.submit(db, ava, again.id, "", "https://pod.example/ep2")
    svc.score(db, t, again.id, "4")
    scores = [e.score for e in scored_evidence(db, pid, COURSE)[(AVA, RL)]]
    assert scores == [3.5, 4.0]
    assert events(db, again.id)[0] == (None, "approved", "teacher", "Go ahead")


def test_wrong_role_wrong_state_and_bad_input(db: Session, pid: int) -> None:
    ava, t = student(pid), teacher(pid)
    demo = svc.choose(db, ava, RL, "project")
    with pytest.raises(svc.Forbidden):
        svc.score(db, ava, demo.id, "3")
    with pytest.raises(svc.Forbidden):
        svc.choose(db, t, RL, "project")
    with pytest.raises(svc.Conflict, match="proposal"):
        svc.propose(db, ava, demo.id, "my idea")
    with pytest.raises(svc.Conflict):
        svc.score(db, t, demo.id, "3")  # not submitted yet
    with pytest.raises(svc.Invalid) as bad:
        svc.submit(db, ava, demo.id, "", "javascript:alert(1)")
    assert "links" in bad.value.errors
    assert db.get(Demonstration, demo.id).state == "chosen"  # type: ignore[union-attr]
    svc.submit(db, ava, demo.id, "My model", "")
    with pytest.raises(svc.Invalid) as bad:
        svc.score(db, t, demo.id, "3.25")  # not a level of the scale
    assert bad.value.errors == {"score": "Choose a level of the scale."}
    with pytest.raises(svc.Invalid):
        svc.return_submission(db, t, demo.id, "  ")
    assert events(db, demo.id)[-1][1] == "submitted"


def test_one_open_demonstration_per_target_and_attempt_limits(db: Session, pid: int) -> None:
    ava, t = student(pid), teacher(pid)
    svc.save_menu(
        db,
        t,
        RL,
        [svc.MenuRow("test", True, "Unit quiz", "Take it in class", "", "1")],
    )
    demo = svc.choose(db, ava, RL, "test")
    with pytest.raises(svc.Conflict, match="under way"):
        svc.choose(db, ava, RL, "test")
    with pytest.raises(svc.NotFound):
        svc.choose(db, ava, RL, "project")  # no longer on this target's menu
    with pytest.raises(svc.NotFound):
        svc.choose(db, ava, "99999", "test")  # not a target of the course
    with pytest.raises(svc.NotFound):
        svc.choose(db, ava, "9\x009", "test")  # never reaches the database
    with pytest.raises(svc.Invalid) as nul:
        svc.submit(db, ava, demo.id, "text with a \x00 in it", "")
    assert "cannot be stored" in nul.value.errors["evidence"]
    svc.choose(db, ava, W, "project")  # another target: its own open demonstration
    svc.submit(db, ava, demo.id, "done", "")
    svc.score(db, t, demo.id, "2")
    with pytest.raises(svc.Conflict, match="attempts"):
        svc.request_reassessment(db, ava, demo.id, "I practised")
    with pytest.raises(svc.Conflict, match="attempts"):
        svc.choose(db, ava, RL, "test")
    # a withdrawn choice does not use an attempt
    other = svc.choose(db, student(pid, BEN), RL, "test")
    svc.withdraw(db, student(pid, BEN), other.id)
    assert svc.choose(db, student(pid, BEN), RL, "test").attempt == 1


def test_nobody_reaches_another_students_course_or_tenants_records(
    app: Flask, db: Session, pid: int
) -> None:
    seed_course(app, pid, OTHER_COURSE)
    other_pid = add_platform(app)
    seed_course(app, other_pid, COURSE)
    demo = svc.choose(db, student(pid), RL, "proposal")
    svc.propose(db, student(pid), demo.id, "An essay")
    outsiders = [
        student(pid, BEN),  # a classmate
        student(pid, AVA, OTHER_COURSE),  # Ava herself, launched from another course
        teacher(pid, OTHER_COURSE),  # a teacher of another course
        svc.CourseContext(
            other_pid, COURSE, TEACHER, Role.TEACHER
        ),  # the same ids on another tenant
        svc.CourseContext(other_pid, COURSE, AVA, Role.STUDENT),
    ]
    for actor in outsiders:
        with pytest.raises(svc.NotFound):
            svc.demonstration(db, actor, demo.id)
        act = svc.approve_proposal if actor.is_teacher else svc.withdraw
        with pytest.raises(svc.NotFound):
            act(db, actor, demo.id)
        if actor.is_teacher:
            assert svc.review_queue(db, actor).total == 0
            assert svc.queue_counts(db, actor.platform_id, actor.canvas_course_id)["total"] == 0
            with pytest.raises(svc.NotFound):
                svc.bulk_approve(db, actor, [demo.id])
    assert db.get(Demonstration, demo.id).state == "proposed"  # type: ignore[union-attr]
    assert scored_evidence(db, other_pid, COURSE) == {}
    with pytest.raises(svc.NotSynced):
        svc.targets(db, teacher(pid, "303"))


def test_district_default_menu_edit_and_copy(db: Session, pid: int) -> None:
    t = teacher(pid)
    entries, is_default = svc.effective_menu(db, t, RL)
    assert is_default and [e.kind.value for e in entries][:2] == ["test", "project"]
    assert len(entries) == 7 and all(e.item_id is None for e in entries)
    assert len(svc.library(db, pid)) == 7  # seeded once, not again

    future = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    with pytest.raises(svc.Invalid) as bad:
        svc.save_menu(
            db,
            t,
            RL,
            [
                svc.MenuRow("test", True, "", "Take it", "2020-01-01", ""),
                svc.MenuRow("project", True, "Model", "Build one", future, "x"),
            ],
        )
    assert set(bad.value.errors) == {"test-title", "test-due", "project-attempt_limit"}
    assert svc.effective_menu(db, t, RL)[1] is True  # nothing saved
    with pytest.raises(svc.Invalid) as bad:
        svc.save_menu(db, t, RL, [svc.MenuRow("test", False)])
    assert "menu" in bad.value.errors

    saved = svc.save_menu(
        db,
        t,
        RL,
        [
            svc.MenuRow("project", True, "Model", "Build one", future, "2"),
            svc.MenuRow("test", True, "Quiz", "Take it", "", ""),
        ],
    )
    assert [i.kind for i in saved] == ["test", "project"]  # library order
    demo = svc.choose(db, student(pid), RL, "project")
    assert demo.menu_item_id == saved[1].id and demo.title == "Model"

    assert svc.copy_menu(db, t, RL, [W, RL]) == 1
    copied = svc.effective_menu(db, t, W)[0]
    assert [(e.kind.value, e.title, e.attempt_limit) for e in copied] == [
        ("test", "Quiz", None),
        ("project", "Model", 2),
    ]
    with pytest.raises(svc.NotFound):
        svc.copy_menu(db, t, RL, ["99999"])
    with pytest.raises(svc.Forbidden):
        svc.copy_menu(db, student(pid), RL, [W])

    # removing an item keeps the demonstration already under way, with its kind and title
    svc.save_menu(db, t, RL, [svc.MenuRow("test", True, "Quiz", "Take it", "", "")])
    db.expire_all()
    kept = db.get(Demonstration, demo.id)
    assert kept is not None and kept.menu_item_id is None and kept.title == "Model"
    assert db.scalars(
        select(PathwayMenuItem.kind).where(PathwayMenuItem.canvas_outcome_id == RL)
    ).all() == ["test"]


def test_review_queue_bulk_approve_and_analytics(db: Session, pid: int) -> None:
    ava, ben, t = student(pid), student(pid, BEN), teacher(pid)
    p1 = svc.choose(db, ava, RL, "proposal")
    svc.propose(db, ava, p1.id, "A comic strip")
    p2 = svc.choose(db, ben, RL, "project")
    svc.submit(db, ben, p2.id, "See the link", "https://ben.example/model")
    p3 = svc.choose(db, ben, W, "test")
    svc.submit(db, ben, p3.id, "Done", "")
    svc.score(db, t, p3.id, "2")
    svc.request_reassessment(db, ben, p3.id, "Practised with the feedback", "https://p.example/1")
    assert svc.queue_counts(db, pid, COURSE) == {
        "proposals": 1,
        "submissions": 1,
        "reassessments": 1,
        "total": 3,
    }
    queue = svc.review_queue(db, t)
    assert [(i.student_name, i.target_title) for i in queue.proposals] == [
        ("Ava Jones", "RL.7.2 Central idea")
    ]
    assert not queue.submissions[0].late
    approved, skipped = svc.bulk_approve(db, t, [p1.id, p2.id, p3.id, p1.id])
    assert (approved, skipped) == (2, 1)  # the submission needs a score, not an approval
    assert svc.queue_counts(db, pid, COURSE)["total"] == 1
    svc.score(db, t, p2.id, "3")

    data = {a.canvas_outcome_id: a for a in svc.choice_analytics(db, t)}
    rl = {k.kind.value: k for k in data[RL].kinds}
    assert (rl["project"].students, rl["project"].scored, rl["project"].mean) == (1, 1, 3.0)
    assert rl["project"].levels == [("Proficient", 1)]
    assert (rl["proposal"].students, rl["proposal"].scored) == (1, 0)
    assert data[RL].students == 2
    w = {k.kind.value: k for k in data[W].kinds}
    assert w["test"].scored == 1 and w["test"].students == 1
    with pytest.raises(svc.Forbidden):
        svc.choice_analytics(db, ava)


def test_student_view_lists_targets_menus_and_own_work(db: Session, pid: int) -> None:
    ava = student(pid)
    demo = svc.choose(db, ava, RL, "proposal")
    svc.propose(db, ava, demo.id, "An interview")
    svc.return_proposal(db, teacher(pid), demo.id, "Who will you interview?")
    svc.choose(db, student(pid, BEN), W, "test")
    svc.save_menu(db, teacher(pid), RL, [svc.MenuRow("proposal", True, "Your idea", "Pitch it")])
    view = svc.student_view(db, ava)
    assert [v.canvas_outcome_id for v in view] == [RL, W]
    rl, w = view
    assert rl.current is not None and rl.current.state == State.PROPOSAL_RETURNED.value
    assert [a.value for a in rl.actions] == ["propose", "withdraw"]
    assert rl.history[0].events[-1].note == "Who will you interview?"
    assert [e.note for e in svc.teacher_feedback(rl.history[0])] == ["Who will you interview?"]
    assert w.current is None and w.history == [] and len(w.menu) == 7  # Ben's is not hers
    assert [(e.kind.value, e.title, e.item_id is not None) for e in rl.menu] == [
        ("proposal", "Your idea", True)
    ]
    with pytest.raises(svc.Forbidden):
        svc.student_view(db, teacher(pid))


def test_overrides_need_a_reason_and_clear_without_deleting(db: Session, pid: int) -> None:
    t = teacher(pid)
    with pytest.raises(svc.Invalid) as bad:
        svc.set_override(db, t, AVA, RL, "3", " ")
    assert "reason" in bad.value.errors
    with pytest.raises(svc.Invalid) as bad:
        svc.set_override(db, t, AVA, RL, "3", "x" * 2001)
    assert bad.value.errors["reason"].startswith("The reason is 2001 characters long")
    with pytest.raises(svc.NotFound):
        svc.set_override(db, t, "777", RL, "3", "Conference")  # not on the roster
    with pytest.raises(svc.Forbidden):
        svc.set_override(db, student(pid), AVA, RL, "4", "I think so")
    row = svc.set_override(db, t, AVA, RL, "3", "Showed it in our conference")
    [ev] = svc.override_evidence(db, pid, COURSE)[(AVA, RL)]
    assert (ev.score, ev.kind, ev.reason) == (
        3.0,
        SourceKind.OVERRIDE,
        "Showed it in our conference",
    )
    with pytest.raises(svc.NotFound):
        svc.clear_override(db, teacher(pid, OTHER_COURSE), row.id)
    svc.clear_override(db, t, row.id)
    assert svc.override_evidence(db, pid, COURSE) == {}
    assert row.cleared_at is not None and row.cleared_by == TEACHER


def test_a_racing_second_choice_is_refused_by_the_database(
    db: Session, pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ava = student(pid)
    first = svc.choose(db, ava, RL, "project")
    # The second request of a double click passed its check before the first committed.
    monkeypatch.setattr(lifecycle, "_open_demonstration", lambda *a: None)
    with pytest.raises(svc.Conflict, match="under way"):
        svc.choose(db, ava, RL, "test")
    # only the savepoint rolled back: the first choice and the session are intact
    assert [d.id for d in db.scalars(select(Demonstration))] == [first.id]
    svc.withdraw(db, ava, first.id)
    assert svc.choose(db, ava, RL, "test").attempt == 1
    # closed attempts free the slot: many closed rows per target are fine
    assert db.get(Demonstration, first.id).open_slot is None  # type: ignore[union-attr]


def test_late_submissions_are_flagged_not_refused(db: Session, pid: int) -> None:
    ava, t = student(pid), teacher(pid)
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")
    [item] = svc.save_menu(db, t, RL, [svc.MenuRow("project", True, "Model", "Build", future, "")])
    demo = svc.choose(db, ava, RL, "project")
    item.due_at = datetime.now(UTC) - timedelta(days=1)  # the due date has passed meanwhile
    svc.submit(db, ava, demo.id, "Here it is", "")
    [queued] = svc.review_queue(db, t).submissions
    assert queued.late and queued.due_at == item.due_at


def test_scores_use_the_courses_scale_and_record_its_version(db: Session, pid: int) -> None:
    scale = load_preset("learning_progression_1_4")
    version = save_scale(db, pid, scale.name, scale, has_evidence=False)
    set_policy(db, pid, COURSE, version.id, builtin_default().policy, default_mapping(scale))
    ava, t = student(pid), teacher(pid)
    demo = svc.choose(db, ava, RL, "test")
    svc.submit(db, ava, demo.id, "done", "")
    with pytest.raises(svc.Invalid):
        svc.score(db, t, demo.id, "3.5")  # a Marzano half point is not a level of this scale
    scored = svc.score(db, t, demo.id, "4")
    assert scored.scale_version_id == version.id
    assert events(db, demo.id)[-1][1] == "scored"


def test_two_teachers_scoring_at_once_score_once(app: Flask, pid: int, backend_url: str) -> None:
    """The row lock makes the second teacher wait, then see "scored" and be refused."""
    if not backend_url.startswith("postgresql"):
        pytest.skip("row locks (SELECT ... FOR UPDATE) are PostgreSQL's; SQLite has one writer")
    ava = student(pid)
    with app.app_context(), session_scope(app) as db:
        demo_id = svc.choose(db, ava, RL, "project").id
        svc.submit(db, ava, demo_id, "My model", "")
    outcome: dict[str, str] = {}

    def second_teacher() -> None:
        with app.app_context():
            try:
                with session_scope(app) as db2:
                    svc.score(
                        db2, svc.CourseContext(pid, COURSE, "901", Role.TEACHER), demo_id, "4"
                    )
                outcome["second"] = "scored"
            except svc.Conflict:
                outcome["second"] = "refused"

    with app.app_context(), session_scope(app) as db1:
        svc.score(db1, teacher(pid), demo_id, "3", "first")
        other = threading.Thread(target=second_teacher)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive()  # waiting for the first teacher's transaction
    other.join(timeout=10.0)
    assert not other.is_alive() and outcome == {"second": "refused"}
    with app.app_context(), session_scope(app) as db:
        row = db.get(Demonstration, demo_id)
        assert row is not None and (row.score, row.scored_by) == (3.0, TEACHER)
        assert [e[1] for e in events(db, demo_id)].count("scored") == 1
