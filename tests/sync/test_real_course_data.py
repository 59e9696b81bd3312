"""Real course data never fails a sync: each oddity is kept or skipped, and counted; and which
mastery scale Canvas uses is read or inferred, with how the tool knows (docs/canvas.md §6.9)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from lti_app.canvas.client.types import (
    Outcome,
    OutcomeLink,
    Rating,
    Rollup,
    RollupScore,
    is_outcomes_service_id,
    parse_outcome_result,
)
from lti_app.sync.fetch import fetch_course
from lti_app.sync.snapshot import (
    BASIS_ANSWER,
    BASIS_FLAG,
    BASIS_OUTCOMES,
    BASIS_ROLLUPS,
    SCALE_COURSE,
    SCALE_OUTCOMES,
    rollup_key,
)
from tests.sync.fakes import LITERATURE, READING, T0, FakeCanvas, result

T1, T2, T3 = (T0 + timedelta(days=d) for d in (1, 2, 3))


def no_progress(percent: int, step: str) -> None:
    return None


def new_quiz_result(uid: str, oid: str, quiz: int, score: float, at: str) -> object:
    """A New Quizzes result exactly as Canvas sends it: merged from the Outcomes Service with
    "id": null (docs/canvas.md §1.1)."""
    return parse_outcome_result(
        {
            "id": None,
            "score": score,
            "possible": 4.0,
            "percent": score / 4.0,
            "mastery": score >= 3.0,
            "hidden": False,
            "hide_points": False,
            "submitted_or_assessed_at": at,
            "links": {
                "user": uid,
                "learning_outcome": oid,
                "alignment": f"assignment_{quiz}",
                "assignment": f"assignment_{quiz}",
            },
        }
    )


def test_new_quizzes_results_are_kept_counted_and_keyed_the_same_at_every_sync() -> None:
    canvas = FakeCanvas()
    quiz = [
        new_quiz_result("812", "97", 70, 3.0, "2026-03-02T10:00:00Z"),
        new_quiz_result("813", "97", 70, 2.0, "2026-03-02T10:00:00Z"),
    ]
    canvas.results = [*canvas.results, *quiz]  # type: ignore[list-item]
    first = fetch_course(canvas, "12", no_progress)
    again = fetch_course(canvas, "12", no_progress)
    os_keys = {rid for rid in first.results if is_outcomes_service_id(rid)}
    assert len(os_keys) == 2
    assert first.read.new_quizzes_results == 2
    assert set(again.results) == set(first.results)
    assert {first.results[k].score for k in os_keys} == {3.0, 2.0}


def test_hidden_deleted_twice_linked_and_non_assignment_data_is_kept_or_skipped_and_counted() -> (
    None
):
    canvas = FakeCanvas()
    # 97 is also linked under a second group: kept once, under the first in outline order.
    canvas.outcomes.append((canvas.outcomes[0][0], READING))
    hidden = dataclasses.replace(result("4720", "813", "98"), hidden=True)
    deleted = result("4721", "812", "55")  # outcome 55 is no longer linked in the course
    quiz = dataclasses.replace(
        result("4722", "812", "99"), alignment="quizzes:quiz_7", assignment_id=None
    )
    discussion = dataclasses.replace(
        result("4723", "813", "99"), alignment="discussion_topic_4", assignment_id=None
    )
    canvas.results = [*canvas.results, hidden, deleted, quiz, discussion]
    snap = fetch_course(canvas, "12", no_progress)
    assert set(snap.results) == {"4711", "4712", "4713", "4720", "4722", "4723"}
    assert snap.results["4720"].hidden is True
    assert snap.outcomes["97"].group_path == ("Reading",)
    notes = snap.read
    assert notes.hidden_results == 1
    assert notes.results_of_unlinked_outcomes == 1
    assert notes.outcomes_linked_twice == 1
    assert notes.other_alignment_results == 2
    assert snap.results["4722"].canvas_assignment_id is None


def test_a_student_who_left_between_pages_is_counted_not_a_failure() -> None:
    canvas = FakeCanvas()
    full = canvas.rosters[0]
    dropped = [e for e in full if e.user_id != "813"]
    canvas.rosters = [full, dropped, dropped]
    snap = fetch_course(canvas, "12", no_progress)
    assert set(snap.students) == {"812"}
    assert snap.read.students_who_left == 1
    assert snap.read.results_of_students_who_left == 1
    assert all(r.canvas_user_id == "812" for r in snap.results.values())


def test_the_root_account_flag_off_means_each_outcomes_own_ratings_despite_a_stored_scale() -> None:
    snap = fetch_course(FakeCanvas(flags=frozenset()), "12", no_progress)
    assert (snap.scale_source, snap.scale_basis) == (SCALE_OUTCOMES, BASIS_FLAG)
    assert snap.mastery_scale is not None  # what outcome_proficiency answered is kept
    assert snap.new_decaying_average is False
    on = fetch_course(
        FakeCanvas(
            flags=frozenset(
                {"account_level_mastery_scales", "outcomes_new_decaying_average_calculation"}
            )
        ),
        "12",
        no_progress,
    )
    assert (on.scale_source, on.scale_basis) == (SCALE_COURSE, BASIS_FLAG)
    assert (on.new_decaying_average, on.decaying_basis) == (True, BASIS_FLAG)


def _five_point_outcome_course() -> FakeCanvas:
    """Outcome 97 scored on its own 0-5 points (flag off) while the course scale is 0-4."""
    canvas = FakeCanvas(flags=None)
    own = Outcome(
        "97",
        "RL.3.2",
        points_possible=5.0,
        mastery_points=3.0,
        ratings=(Rating(5.0, "Exceeds"), Rating(3.0, "Meets"), Rating(0.0, "Not yet")),
        calculation_method="highest",
    )
    canvas.outcomes = [(own, LITERATURE)]
    canvas.results = [result("4711", "812", "97", score=3.0)]  # 75 % of 4 points
    return canvas


def test_without_the_flag_canvass_rollups_tell_which_scale_it_uses() -> None:
    canvas = _five_point_outcome_course()
    # Canvas shows 3.75 = 75 % of the outcome's 5 points (on the course scale it would be 3.0).
    canvas.rollups = [
        Rollup("812", "45", "active", (RollupScore("97", 3.75, 1),)),
        Rollup("812", "46", "active", (RollupScore("97", 3.75, 1),)),  # second section
    ]
    snap = fetch_course(canvas, "12", no_progress)
    assert (snap.scale_source, snap.scale_basis) == (SCALE_OUTCOMES, BASIS_ROLLUPS)
    assert snap.rollups[rollup_key("812", "97")].score == 3.75
    assert snap.read.rollup_users == 1 and snap.read.rollups_read is True

    canvas = _five_point_outcome_course()
    canvas.rollups = [Rollup("812", "45", "active", (RollupScore("97", 3.0, 1),))]
    snap = fetch_course(canvas, "12", no_progress)
    assert (snap.scale_source, snap.scale_basis) == (SCALE_COURSE, BASIS_ROLLUPS)


def test_without_flag_or_rollups_an_outcome_scored_apart_from_the_course_scale_tells() -> None:
    canvas = _five_point_outcome_course()
    canvas.rollups = None  # an older API key without the rollups scope: not a failure
    snap = fetch_course(canvas, "12", no_progress)
    assert (snap.scale_source, snap.scale_basis) == (SCALE_OUTCOMES, BASIS_OUTCOMES)
    assert snap.read.rollups_read is False and snap.rollups == {}

    plain = FakeCanvas(flags=None)
    plain.outcomes = [(Outcome("98", "RL.3.3"), READING)]  # reports no scoring of its own
    snap = fetch_course(plain, "12", no_progress)
    assert (snap.scale_source, snap.scale_basis) == (SCALE_COURSE, BASIS_ANSWER)


def test_outcome_links_type_is_what_the_fake_serves() -> None:
    # The fake builds real client types (a guard against the fake drifting from the client).
    link = FakeCanvas().outcome_links("12")[0]
    assert isinstance(link, OutcomeLink)


def test_without_the_flags_canvass_rollups_tell_which_decaying_average_runs() -> None:
    """A stored standard_decaying_average runs as such only with the root account's
    outcomes_new_decaying_average_calculation on; else as the legacy weighted formula."""
    canvas = FakeCanvas(flags=None)
    decaying = Outcome(
        "97",
        "RL.3.2",
        points_possible=4.0,
        mastery_points=3.0,
        ratings=(
            Rating(4.0, "Exceeds Mastery", False, "0374B5"),
            Rating(3.0, "Mastery", True, "0B874B"),
        ),
        calculation_method="standard_decaying_average",
        calculation_int=65,
    )
    canvas.outcomes = [(decaying, LITERATURE)]
    canvas.results = [
        dataclasses.replace(result("1", "812", "97", score=2.0), submitted_or_assessed_at=T1),
        dataclasses.replace(result("2", "812", "97", score=3.0), submitted_or_assessed_at=T2),
        dataclasses.replace(result("3", "812", "97", score=2.0), submitted_or_assessed_at=T3),
    ]
    # standard: .35 * (.35 * 2 + .65 * 3) + .65 * 2 = 2.2275; legacy: .65 * 2 + .35 * 2.5 = 2.175
    canvas.rollups = [Rollup("812", "45", "active", (RollupScore("97", 2.23, 3),))]
    snap = fetch_course(canvas, "12", no_progress)
    assert (snap.new_decaying_average, snap.decaying_basis) == (True, BASIS_ROLLUPS)
    assert snap.read.rollup_disagreements == 0

    canvas.rollups = [Rollup("812", "45", "active", (RollupScore("97", 2.18, 3),))]
    snap = fetch_course(canvas, "12", no_progress)
    assert (snap.new_decaying_average, snap.decaying_basis) == (False, BASIS_ROLLUPS)
    assert snap.read.rollup_disagreements == 0
