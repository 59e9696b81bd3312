"""The placement (``lti_app.writeback.placement``), on its own: where a
student's new results go so that Canvas, which re-dates every row of a re-saved assessment,
keeps the tool's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lti_app.writeback.placement import StudentResults, place

SEP = datetime(2026, 9, 1, tzinfo=UTC)
OCT = SEP + timedelta(days=30)
DEC = SEP + timedelta(days=90)


def test_a_new_student_starts_on_the_first_carrier_and_repeats_go_to_the_next_ones() -> None:
    assert place(StudentResults(), ["A", "B", "A", "A", "C"]) == [1, 1, 2, 3, 3]


def test_a_new_target_joins_the_frontier_carrier_when_every_row_there_is_still_the_newest() -> None:
    student = StudentResults(rows={1: {"A": SEP}, 2: {"A": OCT}})
    # The example: B in December must not re-date A's September result (round 1).
    assert place(student, ["B"]) == [2]
    assert student.frontier() == 2 and student.resavable(2) and not student.resavable(1)


def test_a_teachers_newer_result_in_canvas_keeps_the_frontier_carrier_from_being_re_saved() -> None:
    student = StudentResults(rows={1: {"A": SEP}}, elsewhere={"A": OCT})
    assert not student.resavable(1)
    assert place(student, ["B", "C"]) == [2, 2]
    # An older result elsewhere does not matter.
    assert place(StudentResults(rows={1: {"A": OCT}}, elsewhere={"A": SEP}), ["B"]) == [1]


def test_rows_written_but_not_yet_shown_count_as_the_newest() -> None:
    student = StudentResults(rows={1: {"A": None}}, elsewhere={"A": DEC})
    assert place(student, ["B", "A"]) == [1, 2]


def test_placements_never_go_back_to_an_earlier_carrier() -> None:
    student = StudentResults(rows={1: {"A": SEP, "B": SEP}})
    # A goes to 2 (1 holds A); C then also goes to 2, not back to 1.
    assert place(student, ["A", "C", "B"]) == [2, 2, 2]


def test_an_older_carrier_whose_rows_are_all_still_the_newest_is_reused() -> None:
    # Carrier 1 holds only B (its newest); carrier 2 holds A, whose newer result is on 3.
    student = StudentResults(rows={1: {"B": SEP}, 2: {"A": SEP}, 3: {"A": OCT}})
    assert place(student, ["C"]) == [1]
    assert place(student, ["B"]) == [3]  # 2 holds an A that is no longer the newest


def test_a_row_re_dated_in_a_batch_never_jumps_over_its_target_written_earlier_in_it() -> None:
    student = StudentResults(rows={1: {"B": SEP}, 2: {"A": OCT}})
    # The new A joins carrier 1; B cannot (1 holds B), and carrier 2 would re-date the old A
    # after the new one: B goes to 3.
    assert place(student, ["A", "B"]) == [1, 3]
