"""Pathway rules: the lifecycle (who may do what in which state) and the input limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_app.mastery.pathways import (
    ATTEMPT_LIMIT_MAX,
    DEFAULT_KINDS,
    EVIDENCE_MAX,
    LINKS_MAX,
    STATE_LABELS,
    TITLE_MAX,
    Action,
    PathwayKind,
    Role,
    State,
    TransitionError,
    actions_for,
    has_score,
    is_open,
    parse_due,
    parse_links,
    transition,
    validate_feedback,
    validate_menu_item,
    validate_proposal,
    validate_reflection,
    validate_score,
    validate_submission,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
S, T = Role.STUDENT, Role.TEACHER
P, PROJECT = PathwayKind.PROPOSAL, PathwayKind.PROJECT


def test_the_seven_library_kinds_in_menu_order() -> None:
    assert [k.kind for k in DEFAULT_KINDS] == list(PathwayKind)
    assert len(DEFAULT_KINDS) == 7
    assert all(k.title and k.instructions for k in DEFAULT_KINDS)
    assert set(STATE_LABELS) == set(State)


def test_own_proposal_path_to_a_score() -> None:
    state = State.CHOSEN
    state = transition(Action.PROPOSE, state, S, P)
    assert state is State.PROPOSED
    state = transition(Action.RETURN_PROPOSAL, state, T, P, note="Say which text you will use")
    assert state is State.PROPOSAL_RETURNED
    state = transition(Action.PROPOSE, state, S, P)
    state = transition(Action.APPROVE_PROPOSAL, state, T, P)
    assert state is State.APPROVED
    state = transition(Action.SUBMIT, state, S, P)
    state = transition(Action.RETURN_SUBMISSION, state, T, P, note="Add your sources")
    assert state is State.RETURNED
    state = transition(Action.SUBMIT, state, S, P)
    state = transition(Action.SCORE, state, T, P)
    assert state is State.SCORED and has_score(state) and not is_open(state)


def test_reassessment_path() -> None:
    state = transition(Action.SUBMIT, State.CHOSEN, S, PROJECT)
    state = transition(Action.SCORE, state, T, PROJECT)
    state = transition(Action.REQUEST_REASSESSMENT, state, S, PROJECT, note="I practised")
    assert state is State.REASSESSMENT_REQUESTED and has_score(state) and is_open(state)
    assert transition(Action.DECLINE_REASSESSMENT, state, T, PROJECT, note="Not yet") is (
        State.SCORED
    )
    state = transition(Action.APPROVE_REASSESSMENT, state, T, PROJECT)
    assert state is State.REASSESSED and has_score(state) and not is_open(state)


@pytest.mark.parametrize(
    ("action", "state", "role", "kind", "why"),
    [
        (Action.SCORE, State.SUBMITTED, S, PROJECT, "only the teacher"),
        (Action.SUBMIT, State.APPROVED, T, PROJECT, "only the student"),
        (Action.APPROVE_PROPOSAL, State.PROPOSED, S, P, "only the teacher"),
        (Action.PROPOSE, State.CHOSEN, S, PROJECT, "only a proposal"),
        (Action.SUBMIT, State.CHOSEN, S, P, "must be approved"),
        (Action.SCORE, State.SCORED, T, PROJECT, "scored"),
        (Action.SCORE, State.APPROVED, T, PROJECT, "approved"),
        (Action.WITHDRAW, State.SUBMITTED, S, PROJECT, "submitted"),
        (Action.WITHDRAW, State.SCORED, S, PROJECT, "scored"),
        (Action.REQUEST_REASSESSMENT, State.REASSESSED, S, PROJECT, "reassessed"),
        (Action.RETURN_PROPOSAL, State.PROPOSED, T, P, "needs a note"),
        (Action.REQUEST_REASSESSMENT, State.SCORED, S, PROJECT, "needs a note"),
    ],
)
def test_refused_transitions_say_why(
    action: Action, state: State, role: Role, kind: PathwayKind, why: str
) -> None:
    with pytest.raises(TransitionError, match=why):
        transition(action, state, role, kind, note="" if "note" in why else "a note")


def test_blank_note_counts_as_missing() -> None:
    with pytest.raises(TransitionError, match="needs a note"):
        transition(Action.RETURN_SUBMISSION, State.SUBMITTED, T, PROJECT, note="   \n")


def test_actions_for_lists_only_what_the_role_may_do_now() -> None:
    assert actions_for(State.CHOSEN, S, P) == [Action.PROPOSE, Action.WITHDRAW]
    assert actions_for(State.CHOSEN, S, PROJECT) == [Action.SUBMIT, Action.WITHDRAW]
    assert actions_for(State.CHOSEN, T, PROJECT) == []
    assert actions_for(State.SUBMITTED, T, PROJECT) == [Action.RETURN_SUBMISSION, Action.SCORE]
    assert actions_for(State.SCORED, S, PROJECT) == [Action.REQUEST_REASSESSMENT]
    assert actions_for(State.WITHDRAWN, S, PROJECT) == []


@given(st.sampled_from(list(State)), st.sampled_from(list(Action)))
def test_withdrawn_and_reassessed_are_final(state: State, action: Action) -> None:
    for final in (State.WITHDRAWN, State.REASSESSED):
        for role in Role:
            with pytest.raises(TransitionError):
                transition(action, final, role, PROJECT, note="n")


# --- menu items --------------------------------------------------------------------------------


def test_valid_menu_item() -> None:
    item, errors = validate_menu_item(
        "project", " Build a model ", "Explain it.", "2026-12-18", "2", NOW
    )
    assert errors == {}
    assert item is not None
    assert item.kind is PathwayKind.PROJECT and item.title == "Build a model"
    assert item.due_at == datetime(2026, 12, 18, 23, 59, tzinfo=UTC)
    assert item.attempt_limit == 2
    item, errors = validate_menu_item("test", "Quiz", "Take it", "", "", NOW)
    assert item is not None and item.due_at is None and item.attempt_limit is None


def test_menu_item_errors_name_each_field() -> None:
    item, errors = validate_menu_item("essay", "", "", "18/12/2026", "0", NOW)
    assert item is None
    assert set(errors) == {"kind", "title", "instructions", "due", "attempt_limit"}
    assert "YYYY-MM-DD" in errors["due"]
    assert f"1 to {ATTEMPT_LIMIT_MAX}" in errors["attempt_limit"]
    _, errors = validate_menu_item("test", "x" * (TITLE_MAX + 1), "ok", "", "11", NOW)
    assert f"the limit is {TITLE_MAX}" in errors["title"]
    assert "attempt_limit" in errors


def test_past_due_date_is_refused_unless_already_saved() -> None:
    _, errors = validate_menu_item("test", "Quiz", "Take it", "2026-11-22", "", NOW)
    assert "in the past" in errors["due"]
    saved = parse_due("2026-11-22")
    item, errors = validate_menu_item("test", "Quiz", "Take it", "2026-11-22", "", NOW, saved)
    assert errors == {} and item is not None and item.due_at == saved
    # today is still open until the end of the day
    assert validate_menu_item("test", "Quiz", "Take it", "2026-11-23", "", NOW)[1] == {}
    assert parse_due("2026-12-01T08:30") == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    for nonsense in ("0001-01-01T00:00+05:00", "2026-13-01", "2026-02-30", "soon"):
        assert "YYYY-MM-DD" in validate_menu_item("test", "Q", "I", nonsense, "", NOW)[1]["due"]


# --- student input -------------------------------------------------------------------------------


def test_links_must_be_http_or_https() -> None:
    links, errors = parse_links("https://docs.example/essay\n\n  http://video.example/v?id=3  \n")
    assert errors == {}
    assert links == ["https://docs.example/essay", "http://video.example/v?id=3"]
    for bad in (
        "javascript:alert(1)",
        "ftp://files.example/a",
        "data:text/html,hi",
        "https://",
        "www.example.com",
        "https://exa mple.com",
        "http://[::1/broken-ipv6",
        "https://exa\tmple.com/",
        "https://\u00a0",
    ):
        _, errors = parse_links(f"https://ok.example\n{bad}")
        assert "Link 2" in errors["links"], bad
    _, errors = parse_links("\n".join(f"https://e.example/{i}" for i in range(LINKS_MAX + 1)))
    assert f"at most {LINKS_MAX}" in errors["links"]
    _, errors = parse_links("https://e.example/" + "a" * 2000)
    assert "longer than" in errors["links"]


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "\n" not in s))
def test_no_link_without_an_http_scheme_is_accepted(text: str) -> None:
    links, errors = parse_links(text)
    if not errors:
        assert all(link.lower().startswith(("http://", "https://")) for link in links)


def test_submission_needs_text_or_a_link() -> None:
    assert validate_submission("", "")[1] == {
        "evidence": "Write about your evidence or give at least one link to it."
    }
    assert validate_submission("My essay is below.", "")[1] == {}
    assert validate_submission("", "https://docs.example/e")[0] == ["https://docs.example/e"]
    _, errors = validate_submission("x" * (EVIDENCE_MAX + 1), "javascript:x")
    assert set(errors) == {"evidence", "links"}


def test_proposal_reflection_feedback_and_score() -> None:
    assert "proposal" in validate_proposal("  ")
    assert validate_proposal("A podcast episode") == {}
    assert "reflection" in validate_reflection("", "")[1]
    assert validate_reflection("I redid the practice set", "https://p.example")[1] == {}
    assert "note" in validate_feedback("", required=True)
    assert validate_feedback("", required=False) == {}
    assert validate_score("3.5", [0, 0.5, 3, 3.5, 4]) == (3.5, {})
    assert validate_score("3.25", [0, 3, 3.5])[0] is None
    assert validate_score("nan", [0, 3])[0] is None
    assert validate_score("", [0, 3])[1] == {"score": "Choose a level of the scale."}


def test_due_in_the_future_measured_against_now() -> None:
    future = (NOW + timedelta(days=3)).strftime("%Y-%m-%d")
    assert validate_menu_item("conference", "Talk", "Book a slot", future, "1", NOW)[1] == {}


@given(
    st.sampled_from(list(State)),
    st.sampled_from(list(Action)),
    st.sampled_from(list(Role)),
    st.sampled_from(list(PathwayKind)),
)
def test_a_score_once_given_is_never_lost(
    state: State, action: Action, role: Role, kind: PathwayKind
) -> None:
    """Scored attempts stay evidence: no transition leads from a scored state to an unscored one."""
    try:
        after = transition(action, state, role, kind, note="a note")
    except TransitionError:
        return
    if has_score(state):
        assert has_score(after)


@given(st.text(max_size=60))
def test_link_parsing_never_raises(text: str) -> None:
    links, errors = parse_links(text)
    assert isinstance(links, list) and isinstance(errors, dict)
