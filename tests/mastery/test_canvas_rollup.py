"""Golden vectors: Canvas's Learning Mastery Gradebook score, hand-computed from canvas-lms's
``RollupScore`` / ``RollupScoreAggregatorHelper`` formulas (docs/canvas.md §2.1, §2.5, §2.7).

Each row: the scale in force (points possible, mastery points), the stored method and its int,
the new-decaying flag, the results (percent of the aligned artifact, or a raw score when Canvas
sent no percent; time; Classic Quiz pool), and the score Canvas shows, worked by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lti_app.mastery.canvas_rollup import (
    CanvasScoring,
    ScoredResult,
    canvas_rollup,
    pair_scores,
    scored_result,
    scoring_for,
)

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


def r(
    percent: float | None,
    day: int | None,
    *,
    score: float = 1.0,
    possible: float = 1.0,
    quiz: str | None = None,
) -> ScoredResult:
    at = None if day is None else T0 + timedelta(days=day)
    return ScoredResult(score=score, possible=possible, percent=percent, at=at, quiz=quiz)


def S(
    method: str | None, n: int | None = None, p: float = 4.0, m: float = 3.0, new: bool = False
) -> CanvasScoring:
    return CanvasScoring(method, n, p, m, new)


ISSUE = [r(0.7, 1), r(0.9, 2)]  # rubric results 7/10 then 9/10 on a 0-4 scale: 2.8, 3.6
ONE_TO_FIVE = [r(k / 5, k) for k in range(1, 6)]  # 1, 2, 3, 4, 5 on a 0-5 scale
# A Classic Quiz taken as two results of one quiz (2 and 6 points, 50 % and 100 %) after a
# rubric result of 25 %: under the averaging methods each quiz result counts as the pooled
# (2 x 0.5 + 6 x 1.0) / 8 = 87.5 %, i.e. 3.5 points.
QUIZ = [
    r(0.25, 0),
    r(0.5, 1, score=1.0, possible=2.0, quiz="assignment_7"),
    r(1.0, 2, score=6.0, possible=6.0, quiz="assignment_7"),
]

GOLDEN: list[tuple[str, list[ScoredResult], CanvasScoring, float | None]] = [
    # The issue's example: Canvas averages 2.8 and 3.6, the legacy decaying 65 weighs the latest.
    ("issue average", ISSUE, S("average"), 3.2),
    ("issue legacy decaying 65", ISSUE, S("decaying_average", 65), 3.32),  # .65*3.6+.35*2.8
    ("issue weighted_average alias", ISSUE, S("weighted_average", 65), 3.32),
    ("issue highest", ISSUE, S("highest"), 3.6),
    ("issue latest", ISSUE, S("latest"), 3.6),
    ("issue n_mastery 2 at 3", ISSUE, S("n_mastery", 2), None),  # only 3.6 reaches 3
    ("issue n_mastery 1 at 3", ISSUE, S("n_mastery", 1), 3.6),
    # docs/canvas.md §2.5: scores 1..5 oldest to newest (here on a 0-5 scale).
    ("1..5 legacy decaying 65", ONE_TO_FIVE, S("decaying_average", 65, 5.0), 4.13),  # 4.125 up
    (
        "1..5 standard decaying, flag on",
        ONE_TO_FIVE,
        S("standard_decaying_average", 65, 5.0, new=True),
        4.47,
    ),
    (
        "1..5 standard decaying, flag off",
        ONE_TO_FIVE,
        S("standard_decaying_average", 65, 5.0),
        4.13,
    ),
    ("1..5 average", ONE_TO_FIVE, S("average", None, 5.0), 3.0),
    ("1..5 n_mastery 2 at 3", ONE_TO_FIVE, S("n_mastery", 2, 5.0), 4.0),  # mean of 3, 4, 5
    ("1..5 n_mastery 4 at 3", ONE_TO_FIVE, S("n_mastery", 4, 5.0), None),  # 3 reach it
    ("1..5 legacy decaying 80", ONE_TO_FIVE, S("decaying_average", 80, 5.0), 4.5),  # 4+0.5
    ("no stored method is highest", ONE_TO_FIVE, S(None, None, 5.0), 5.0),
    # Classic Quiz pooling, only under the averaging and latest methods.
    ("quiz pooled average", QUIZ, S("average"), 2.67),  # (1 + 3.5 + 3.5) / 3 = 2.666..
    ("quiz pooled latest", QUIZ, S("latest"), 3.5),
    ("quiz pooled decaying", QUIZ, S("decaying_average", 65), 3.06),  # .65*3.5+.35*2.25=3.0625
    ("quiz not pooled for highest", QUIZ, S("highest"), 4.0),
    # A quiz alignment's mastery_score rescaling arrives in `percent` (6/10 scored as 75 %).
    ("quiz rescaled percent", [r(0.75, 1, score=6.0, possible=10.0)], S("latest"), 3.0),
    # Ties: the same whole second keeps the given order (the last given is the latest).
    (
        "same second keeps order",
        [
            ScoredResult(1.0, 1.0, 1.0, T0 + timedelta(microseconds=900_000)),
            ScoredResult(1.0, 1.0, 0.25, T0 + timedelta(microseconds=100_000)),
        ],
        S("latest"),
        1.0,
    ),
    # A result without submitted_at or assessed_at counts as time 0: the oldest.
    ("no time sorts first", [r(1.0, 3), r(0.5, None)], S("latest"), 4.0),
    # Without a percent Canvas uses the raw score; 1.005 rounds up the Ruby way.
    (
        "raw score, Ruby rounding",
        [r(None, 1, score=1.0), r(None, 2, score=1.01)],
        S("average"),
        1.01,
    ),
    # A scale worth 0 points scores percent x mastery points.
    ("zero-point scale", [r(0.5, 1)], S("highest", None, 0.0, 3.0), 1.5),
    ("no scored result", [ScoredResult(None, 4.0, None, T0)], S("highest"), None),
]


@pytest.mark.parametrize(
    ("results", "scoring", "expected"),
    [g[1:] for g in GOLDEN],
    ids=[g[0] for g in GOLDEN],
)
def test_golden_vectors(
    results: list[ScoredResult], scoring: CanvasScoring, expected: float | None
) -> None:
    assert canvas_rollup(results, scoring) == expected


def test_quiz_and_question_bank_alignments_pool_by_their_quiz() -> None:
    quiz = scored_result(
        score=1.0, possible=2.0, percent=0.5, at=T0, alignment="quizzes:quiz_7", assignment_id="70"
    )
    bank = scored_result(
        score=1.0,
        possible=2.0,
        percent=0.5,
        at=T0,
        alignment="assessment_question_bank_9",
        assignment_id="70",
    )
    rubric = scored_result(
        score=1.0, possible=2.0, percent=0.5, at=T0, alignment="assignment_53", assignment_id="53"
    )
    assert quiz.quiz == bank.quiz == "assignment_70"
    assert rubric.quiz is None


def test_scoring_without_points_is_canvass_default_criterion() -> None:
    s = scoring_for(method=None, calculation_int=None, points_possible=None, mastery_points=None)
    assert (s.points_possible, s.mastery_points) == (5.0, 3.0)


def test_pair_scores_groups_per_student_and_outcome() -> None:
    scores = pair_scores(
        [
            ("1", "97", r(0.5, 1)),
            ("1", "97", r(1.0, 2)),
            ("2", "97", r(0.25, 1)),
            ("1", "x", r(1, 1)),
        ],
        {"97": S("average")},
    )
    assert scores == {("1", "97"): 3.0, ("2", "97"): 1.0}
