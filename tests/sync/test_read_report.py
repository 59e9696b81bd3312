"""The sync status in words, from a stored run summary."""

from __future__ import annotations

from lti_app.sync.read_report import describe


def test_every_kept_or_skipped_oddity_is_said_in_words() -> None:
    summary = {
        "counts": {"outcomes": 1, "students": 2, "results": 1200, "carrier_results": 3},
        "read": {
            "hidden_results": 4,
            "new_quizzes_results": 5,
            "other_alignment_results": 6,
            "outcomes_linked_twice": 1,
            "results_of_unlinked_outcomes": 7,
            "students_who_left": 1,
            "results_of_students_who_left": 8,
            "students_who_joined": 2,
            "rollups_read": True,
            "rollup_users": 2,
            "rollup_disagreements": 3,
            "scale_source": "outcome_ratings",
            "scale_basis": "rollups",
            "new_decaying_average": True,
            "decaying_basis": "root_account_flag",
        },
    }
    text = "\n".join(describe(summary))
    assert (
        "Read 1 learning target, 2 students and 1,200 results (of which 4 hidden from the "
        "Learning Mastery Gradebook (never counted), 5 from New Quizzes, 3 on the tool's own "
        "evidence assignments)." in text
    )
    assert "Canvas scores on each outcome's own ratings and points: inferred from Canvas's" in text
    assert (
        "A stored standard decaying average runs as a true decaying average: read from the "
        "district's Canvas settings." in text
    )
    assert "3 scores differ from what the tool computes" in text
    assert "Kept 6 results aligned to something other than an assignment" in text
    assert "1 outcome is linked in more than one group" in text
    assert "Skipped 7 results of outcomes no longer in the course" in text
    assert "1 student left the course during the sync: skipped 8 results." in text
    assert "2 students joined during the sync" in text


def test_a_run_from_before_these_counts_says_nothing_more() -> None:
    assert describe(None) == []
    assert describe({"counts": {"results": 3}}) == []


def test_unreadable_rollups_are_said() -> None:
    lines = describe({"counts": {}, "read": {"rollups_read": False, "scale_basis": "x"}})
    assert "Canvas's own scores could not be read (the API key lacks the scope)." in lines
