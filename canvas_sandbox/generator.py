"""Synthetic courses of any size for benchmarks, built through the same model functions.

``synthetic_course(state, students=35, outcomes=40, results_per_pair=6)`` makes one course
whose every student has ``results_per_pair`` rubric-assessed results on every outcome: one
outcome-aligned assignment per round, each with a rubric row per outcome.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from canvas_sandbox import new_quizzes, results, roster, rubrics
from canvas_sandbox import outcomes as om
from canvas_sandbox.seed import DISTRICT_SCALE, FIRST_NAMES, LAST_NAMES
from canvas_sandbox.state import CalculationMethod, ProficiencyRating, SandboxState

START = datetime(2026, 8, 24, 15, 0, tzinfo=UTC)


@dataclass
class SyntheticIds:
    account: int
    course: int
    teacher: int
    sections: list[int]
    students: list[int]
    outcomes: list[int]
    assignments: list[int]
    groups: list[int] = field(default_factory=list)
    admin: int | None = None  # second_district's account admin


def _account(state: SandboxState, account_id: int | None) -> int:
    if account_id is not None:
        return account_id
    if state.accounts:
        return min(state.accounts)
    account = roster.add_account(state, "Synthetic District")
    account.proficiency = [ProficiencyRating(d, p, m, c) for d, p, m, c in DISTRICT_SCALE]
    account.calculation = CalculationMethod("decaying_average", 65)
    return account.id


def synthetic_course(
    state: SandboxState,
    students: int,
    outcomes: int,
    results_per_pair: int,
    sections: int = 2,
    seed: int = 1,
    *,
    account_id: int | None = None,
    outcomes_per_group: int = 10,
    new_quiz: bool = False,
    shared_outcomes: Sequence[int] = (),
) -> SyntheticIds:
    """Build a course of ``students`` x ``outcomes`` x ``results_per_pair`` outcome results;
    ``new_quiz``: plus a New Quiz aligned to the first two outcomes (results with no id);
    ``shared_outcomes``: link these (account) outcomes instead of making course ones."""
    with state.lock:  # the clock is swapped below: nobody else may run meanwhile
        made = _build(
            state, students, outcomes, results_per_pair, sections, seed, account_id,
            outcomes_per_group, shared_outcomes,
        )  # fmt: skip
        if new_quiz and len(made.outcomes) >= 2:
            quiz = new_quizzes.add_new_quiz(
                state,
                made.course,
                "New Quiz check",
                made.outcomes[:2],
                made.students,
                at=START + timedelta(weeks=results_per_pair, days=1),
                rng=random.Random(seed + 1),  # noqa: S311 - synthetic data
            )
            made.assignments.append(quiz.id)
        return made


def second_district(state: SandboxState, *, seed: int = 2, students: int = 8) -> SyntheticIds:
    """Another root account with ``account_level_mastery_scales`` off but a stored mastery scale
    (``outcome_proficiency`` still answers 200: only the rollups tell, docs/canvas.md §6.8), with an
    admin and one course (New Quiz included)."""
    with state.lock:
        account = roster.add_account(state, f"Lakeside District {seed}")
        account.account_level_mastery_scales = False
        account.proficiency = [ProficiencyRating(d, p, m, c) for d, p, m, c in DISTRICT_SCALE]
        account.calculation = CalculationMethod("latest", None)
        admin = roster.add_user(state, "Lee", f"Admin{seed}", rng=random.Random(seed))  # noqa: S311
        admin.account_admin_of.append(account.id)
        made = synthetic_course(
            state, students, 4, 3, sections=1, seed=seed, account_id=account.id, new_quiz=True
        )
        made.admin = admin.id
        return made


@dataclass
class DistrictIds:
    account: int
    admin: int
    schools: list[int]
    outcomes: list[int]  # account-level, linked into every course
    courses: list[int]
    results: int


def synthetic_district(
    state: SandboxState,
    courses: int = 200,
    students: int = 30,
    outcomes: int = 20,
    results_per_pair: int = 6,
    *,
    schools: int = 4,
    seed: int = 100,
) -> DistrictIds:
    """A district (root account) with ``schools`` sub-accounts and ``courses`` courses spread
    over them, each with ``students`` x ``outcomes`` x ``results_per_pair`` results on the
    district's own (account-level) outcomes; the defaults are issue 19's 720,000 results."""
    with state.lock:
        rng = random.Random(seed)  # noqa: S311 - synthetic data
        account = roster.add_account(state, f"Generated District {seed}")
        account.proficiency = [ProficiencyRating(d, p, m, c) for d, p, m, c in DISTRICT_SCALE]
        account.calculation = CalculationMethod("decaying_average", 65)
        admin = roster.add_user(state, "Dana", f"Admin{seed}", rng=rng, sis_prefix="A")
        admin.account_admin_of.append(account.id)
        school_ids = [
            roster.add_account(state, f"School {i + 1}", parent_id=account.id).id
            for i in range(max(1, schools))
        ]
        root = om.root_group(state, "Account", account.id)
        shared: list[int] = []
        group = root
        for i in range(outcomes):
            if i % 10 == 0:
                group = om.create_group(state, root, f"District strand {i // 10 + 1}")
            outcome = om.create_outcome(
                state,
                "Account",
                account.id,
                f"D.{i + 1}",
                display_name=f"District target {i + 1}",
                vendor_guid=f"district-{seed}-{i + 1}",
                ratings=[(d, p) for d, p, _m, _c in DISTRICT_SCALE],
                mastery_points=3.0,
            )
            om.link_outcome(state, group, outcome)
            shared.append(outcome.id)
        course_ids = [
            synthetic_course(
                state,
                students,
                outcomes,
                results_per_pair,
                seed=seed + 1 + i,
                account_id=school_ids[i % len(school_ids)],
                shared_outcomes=shared,
            ).course
            for i in range(courses)
        ]
        return DistrictIds(
            account=account.id,
            admin=admin.id,
            schools=school_ids,
            outcomes=shared,
            courses=course_ids,
            results=courses * students * outcomes * results_per_pair,
        )


def _build(
    state: SandboxState,
    students: int,
    outcomes: int,
    results_per_pair: int,
    sections: int,
    seed: int,
    account_id: int | None,
    outcomes_per_group: int,
    shared_outcomes: Sequence[int] = (),
) -> SyntheticIds:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    delay, clock = state.result_delay_ms, state.clock
    state.result_delay_ms = 0
    state.clock = lambda: START
    try:
        acct = _account(state, account_id)
        teacher = roster.add_user(state, "Pat", f"Teacher{seed}", rng=rng, sis_prefix="T")
        course = roster.add_course(
            state,
            acct,
            f"Synthetic {students}x{outcomes}x{results_per_pair}",
            f"SYN{seed}",
            seed=seed,
        )
        section_ids = [
            roster.add_section(state, course.id, f"Section {i + 1}").id
            for i in range(max(1, sections))
        ]
        for sid in section_ids:
            roster.enroll(state, teacher.id, sid, "TeacherEnrollment")
        student_ids: list[int] = []
        for i in range(students):
            user = roster.add_user(
                state, rng.choice(FIRST_NAMES), f"{rng.choice(LAST_NAMES)}-{i + 1}", rng=rng
            )
            roster.enroll(state, user.id, section_ids[i % len(section_ids)], "StudentEnrollment")
            student_ids.append(user.id)
        root = om.root_group(state, "Course", course.id)
        outcome_ids: list[int] = []
        group_ids: list[int] = []
        group = root
        for i in range(len(shared_outcomes) or outcomes):
            if i % max(1, outcomes_per_group) == 0:
                group = om.create_group(
                    state, root, f"Strand {i // max(1, outcomes_per_group) + 1}"
                )
                group_ids.append(group.id)
            outcome = (
                state.outcomes[shared_outcomes[i]]
                if shared_outcomes
                else om.create_outcome(
                    state,
                    "Course",
                    course.id,
                    f"T.{i + 1}",
                    display_name=f"Target {i + 1}",
                    vendor_guid=f"syn-{seed}-{i + 1}",
                    ratings=[(d, p) for d, p, _m, _c in DISTRICT_SCALE],
                    mastery_points=3.0,
                )
            )
            om.link_outcome(state, group, outcome)
            outcome_ids.append(outcome.id)
        ability = {s: rng.uniform(0.5, 3.2) for s in student_ids}
        assignment_ids: list[int] = []
        for round_no in range(results_per_pair):
            due = START + timedelta(weeks=round_no, days=4)
            assignment = rubrics.create_assignment(
                state, course.id, f"Evidence round {round_no + 1}", due_at=due
            )
            assignment_ids.append(assignment.id)
            rubric = rubrics.create_rubric(
                state,
                course.id,
                f"Round {round_no + 1} rubric",
                [
                    rubrics.CriterionInput(
                        f"T.{i + 1}",
                        [rubrics.RatingInput(d, p) for d, p, _m, _c in DISTRICT_SCALE],
                        learning_outcome_id=oid,
                        mastery_points=3.0,
                    )
                    for i, oid in enumerate(outcome_ids)
                ],
                user_id=teacher.id,
            )
            assoc = rubrics.associate(state, rubric, "Assignment", assignment.id)
            for student in student_ids:
                level = ability[student] + 0.1 * round_no
                rows = {
                    c.id: rubrics.AssessInput(
                        float(max(0, min(4, round(level + rng.gauss(0, 0.6)))))
                    )
                    for c in rubric.criteria
                }
                rubrics.assess(state, assoc, student, teacher.id, rows, at=due + timedelta(days=1))
        return SyntheticIds(
            account=acct,
            course=course.id,
            teacher=teacher.id,
            sections=section_ids,
            students=student_ids,
            outcomes=outcome_ids,
            assignments=assignment_ids,
            groups=group_ids,
        )
    finally:
        results.materialize(state, everything=True)  # the history is already written
        state.result_delay_ms, state.clock = delay, clock
