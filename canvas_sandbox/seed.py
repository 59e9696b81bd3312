"""The demo district: deterministic (``random.Random(seed)``), built through the model functions.

Outcome results are produced by real rubric assessments (``rubrics.assess``), the same path the
REST API takes, spread over eight weeks so growth shows. ``DemoIds`` names every id tests and
the platform UI need, so nobody hard-codes numbers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from canvas_sandbox import grading_periods, new_quizzes, results, roster, rubrics
from canvas_sandbox import outcomes as om
from canvas_sandbox import tokens as tk
from canvas_sandbox.state import CalculationMethod, ProficiencyRating, SandboxState

DASH = "\N{EN DASH}"  # Canvas course names here use an en dash
DISTRICT_NAME = "Riverside Unified School District"
DEFAULT_API_REDIRECT_URI = "http://127.0.0.1:5000/canvas/oauth/callback"

# The district scale (account level): 5 levels, mastery at 3.
DISTRICT_SCALE = (
    ("Exceeds Mastery", 4.0, False, "0374B5"),
    ("Mastery", 3.0, True, "0B874B"),
    ("Near Mastery", 2.0, False, "FAB901"),
    ("Below Mastery", 1.0, False, "D97900"),
    ("No Evidence", 0.0, False, "E0061F"),
)

# The weeks start on this Monday; fixed so results do not depend on the day the seed runs.
TERM_START = datetime(2026, 9, 7, 15, 0, tzinfo=UTC)

FIRST_NAMES = (
    "Aaliyah", "Mateo", "Sofia", "Liam", "Ava", "Noah", "Isabella", "Ethan", "Mia", "Diego",
    "Harper", "Lucas", "Camila", "Elijah", "Zoe", "Kai", "Amara", "Jayden", "Lucia", "Owen",
    "Nia", "Gabriel", "Priya", "Caleb", "Hana", "Julian", "Leilani", "Marcus", "Valentina",
    "Theo", "Imani", "Santiago", "Ruby", "Malik", "Elena", "Finn", "Yara", "Andre", "Maya", "Ezra",
)  # fmt: skip
LAST_NAMES = (
    "Johnson", "Garcia", "Nguyen", "Patel", "Williams", "Hernandez", "Kim", "Brown", "Lopez",
    "Okafor", "Martinez", "Chen", "Davis", "Rodriguez", "Thompson", "Ali", "Wilson", "Sanchez",
    "Moore", "Tanaka", "Jackson", "Ramirez", "White", "Flores", "Harris", "Singh", "Clark",
    "Torres", "Lewis", "Nakamura", "Walker", "Rivera-Cruz", "Young", "Adeyemi", "King", "Reyes",
    "Scott", "Morales", "Green", "Baker",
)  # fmt: skip

# ELA groups: (group, subgroup or None, [(code, display name)]).
ELA_OUTCOMES = (
    ("Reading: Literature", "Key Ideas and Details", (
        ("RL.7.1", "Cite textual evidence"),
        ("RL.7.2", "Theme and summary"),
        ("RL.7.3", "Story elements interact"),
    )),
    ("Reading: Literature", "Craft and Structure", (
        ("RL.7.4", "Word choice and meaning"),
        ("RL.7.5", "Form and structure"),
    )),
    ("Reading: Informational Text", None, (
        ("RI.7.1", "Cite evidence in nonfiction"),
        ("RI.7.2", "Central ideas"),
        ("RI.7.6", "Author's point of view"),
    )),
    ("Writing", None, (
        ("W.7.1", "Argument writing"),
        ("W.7.2", "Informative writing"),
        ("W.7.3", "Narrative writing"),
    )),
    ("Language", None, (("L.7.1", "Grammar and usage"),)),
)  # fmt: skip

# (title, week, outcome codes)
ELA_ASSIGNMENTS = (
    ("Short Story Analysis: Seventh Grade", 1, ("RL.7.1", "RL.7.2", "RL.7.3", "L.7.1")),
    ("Informational Article Response", 2, ("RI.7.1", "RI.7.2", "RI.7.6", "W.7.2")),
    ("Argument Essay Draft", 4, ("W.7.1", "RI.7.1", "L.7.1", "RL.7.4")),
    ("Poetry Structure Check", 5, ("RL.7.4", "RL.7.5", "RL.7.2")),
    ("Narrative Writing Workshop", 7, ("W.7.3", "W.7.2", "RL.7.3", "L.7.1")),
    (
        "Unit 2 Performance Task",
        8,
        ("RL.7.1", "RI.7.6", "W.7.1", "RL.7.5", "RI.7.2", "W.7.3", "RL.7.4"),
    ),
)
HIDDEN_ASSIGNMENT = ("Warm-up Practice (not posted)", 3, ("RL.7.1",))

MATH_OUTCOMES = (
    ("Ratios and Proportional Relationships", None, (
        ("7.RP.1", "Unit rates"),
        ("7.RP.2", "Proportional relationships"),
    )),
    ("Expressions and Equations", None, (
        ("7.EE.1", "Equivalent expressions"),
        ("7.EE.4", "Solve equations"),
    )),
)  # fmt: skip
MATH_ASSIGNMENTS = (
    ("Ratios Check-in", 2, ("7.RP.1", "7.RP.2")),
    ("Equations Quiz", 5, ("7.EE.1", "7.EE.4", "7.RP.2")),
    ("Proportions Project", 8, ("7.RP.1", "7.RP.2", "7.EE.4")),
)


@dataclass
class DemoIds:
    account: int
    admin: int
    teacher: int  # Ms. Rivera, ELA
    teacher2: int  # Mr. Okafor, Math
    ta: int  # ELA TA
    students: list[int]  # ELA students, roster order
    math_students: list[int]
    ela_course: int
    math_course: int
    ela_sections: list[int]
    math_sections: list[int]
    two_section_student: int
    no_results_student: int
    spanish_student: int
    """A student whose Canvas language setting is Spanish ("es")."""
    ela_outcomes: dict[str, int]  # outcome code -> id
    math_outcomes: dict[str, int]
    ela_assignments: list[int]
    hidden_assignment: int
    math_assignments: list[int]
    api_client_id: str
    api_client_secret: str
    courses: list[int] = field(default_factory=list)
    sections: dict[int, list[int]] = field(default_factory=dict)
    teachers: list[int] = field(default_factory=list)
    # A New Quiz aligned to two ELA outcomes: its results come with "id": null
    # (docs/canvas.md §1.1).
    new_quiz: int = 0
    # Observers (docs/canvas.md §7.10): a parent of two ELA students, a parent of one Math
    # student (observer enrollments in that course only).
    parent: int = 0
    parent_children: list[int] = field(default_factory=list)
    math_parent: int = 0
    math_parent_child: int = 0
    # Per course: its grading periods (Quarter 1, Quarter 2), in start-date order.
    grading_periods: dict[int, list[int]] = field(default_factory=dict)


def _scale() -> list[ProficiencyRating]:
    return [ProficiencyRating(d, p, m, c) for d, p, m, c in DISTRICT_SCALE]


def _outcome_name(code: str) -> str:
    return next(n for g in ELA_OUTCOMES + MATH_OUTCOMES for c, n in g[2] if c == code)


def _criterion(outcome_id: int, code: str, title: str) -> rubrics.CriterionInput:
    return rubrics.CriterionInput(
        description=f"{code} {title}",
        ratings=[rubrics.RatingInput(d, p) for d, p, _m, _c in DISTRICT_SCALE],
        learning_outcome_id=outcome_id,
        mastery_points=3.0,
    )


def build_outcomes(
    state: SandboxState,
    account_id: int,
    course_id: int,
    spec: tuple[tuple[str, str | None, tuple[tuple[str, str], ...]], ...],
) -> dict[str, int]:
    """District (account) outcomes in account groups, linked into mirrored course groups."""
    account_root = om.root_group(state, "Account", account_id)
    course_root = om.root_group(state, "Course", course_id)
    account_groups: dict[tuple[str, str | None], tuple[int, int]] = {}
    ids: dict[str, int] = {}
    for group_title, sub_title, items in spec:
        key = (group_title, sub_title)
        if key not in account_groups:
            top_key = (group_title, None)
            if top_key not in account_groups:
                a = om.create_group(
                    state, account_root, group_title, vendor_guid=f"g-{group_title}"
                )
                c = om.create_group(state, course_root, group_title)
                account_groups[top_key] = (a.id, c.id)
            if sub_title is not None:
                a_parent, c_parent = account_groups[top_key]
                a = om.create_group(state, state.outcome_groups[a_parent], sub_title)
                c = om.create_group(state, state.outcome_groups[c_parent], sub_title)
                account_groups[key] = (a.id, c.id)
        a_id, c_id = account_groups[key]
        for code, name in items:
            existing = next(
                (o for o in state.outcomes.values() if o.vendor_guid == f"district-{code.lower()}"),
                None,
            )
            outcome = existing or om.create_outcome(
                state,
                "Account",
                account_id,
                code,
                display_name=name,
                description=f"<p>{code}: {name}.</p>",
                vendor_guid=f"district-{code.lower()}",
                ratings=[(d, p) for d, p, _m, _c in DISTRICT_SCALE],
                mastery_points=3.0,
                calculation_method="decaying_average",
                calculation_int=65,
            )
            om.link_outcome(state, state.outcome_groups[a_id], outcome)
            om.link_outcome(state, state.outcome_groups[c_id], outcome)
            ids[code] = outcome.id
    return ids


def _people(state: SandboxState, rng: random.Random, count: int, used: set[str]) -> list[int]:
    ids: list[int] = []
    while len(ids) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        if f"{first} {last}" in used:
            continue
        used.add(f"{first} {last}")
        ids.append(roster.add_user(state, first, last, rng=rng).id)
    return ids


def _assess_course(
    state: SandboxState,
    rng: random.Random,
    course_id: int,
    teacher: int,
    students: list[int],
    outcome_ids: dict[str, int],
    spec: tuple[tuple[str, int, tuple[str, ...]], ...],
    *,
    hide_outcome_results: bool = False,
    only: list[int] | None = None,
) -> list[int]:
    """Create outcome-aligned assignments with rubrics and assess each student on them."""
    ability = {s: rng.uniform(0.8, 3.1) for s in students}
    growth = {s: rng.uniform(0.0, 0.16) for s in students}
    assignment_ids: list[int] = []
    for title, week, codes in spec:
        due = TERM_START + timedelta(weeks=week - 1, days=4)
        assignment = rubrics.create_assignment(
            state,
            course_id,
            title,
            points_possible=4.0 * len(codes),
            submission_types=("online_text_entry",),
            due_at=due,
        )
        assignment_ids.append(assignment.id)
        titles = {code: _outcome_name(code) for code in codes}
        rubric = rubrics.create_rubric(
            state,
            course_id,
            f"{title} rubric",
            [_criterion(outcome_ids[code], code, titles[code]) for code in codes],
            user_id=teacher,
            free_form_criterion_comments=True,
        )
        assoc = rubrics.associate(
            state,
            rubric,
            "Assignment",
            assignment.id,
            rubrics.AssociationInput(
                use_for_grading=True, hide_outcome_results=hide_outcome_results
            ),
        )
        for student in only if only is not None else students:
            submission = rubrics.submission_for(state, assignment.id, student)
            submission.submitted_at = due - timedelta(hours=rng.randint(1, 30))
            submission.attempt = 1
            submission.workflow_state = "submitted"
            level = ability[student] + growth[student] * week
            rows = {}
            for criterion in rubric.criteria:
                points = max(0, min(4, round(level + rng.gauss(0, 0.55))))
                rows[criterion.id] = rubrics.AssessInput(float(points))
            submission.posted_at = due + timedelta(days=2)
            rubrics.assess(
                state,
                assoc,
                student,
                teacher,
                rows,
                at=due + timedelta(days=2, hours=rng.randint(0, 5)),
            )
    return assignment_ids


def _quarters(state: SandboxState, course_id: int) -> list[int]:
    """Two grading periods that split the demo's eight weeks of evidence: the progress report
    of Quarter 1 shows levels as of its end, Quarter 2's the change since."""
    # Sundays at 23:59:59 UTC (the term starts on a Monday at 15:00)
    q1_end = TERM_START + timedelta(weeks=4) - timedelta(hours=15, seconds=1)
    q2_end = TERM_START + timedelta(weeks=15) - timedelta(hours=15, seconds=1)
    return [
        grading_periods.add_grading_period(state, course_id, "Quarter 1", TERM_START, q1_end).id,
        grading_periods.add_grading_period(
            state, course_id, "Quarter 2", q1_end + timedelta(seconds=1), q2_end
        ).id,
    ]


def demo_district(
    state: SandboxState,
    *,
    seed: int = 7,
    api_redirect_uri: str = DEFAULT_API_REDIRECT_URI,
) -> DemoIds:
    """Build the Riverside demo district into an empty ``state``."""
    rng = random.Random(seed)  # noqa: S311 - deterministic demo data, not secrets
    with state.lock:  # the clock is swapped below: nobody else may run meanwhile
        delay, clock = state.result_delay_ms, state.clock
        state.result_delay_ms = 0  # the seed's history is already written
        state.clock = lambda: TERM_START  # creation times do not depend on the day it runs
        try:
            ids = _build(state, rng, seed, api_redirect_uri)
            results.materialize(state, everything=True)
            return ids
        finally:
            state.result_delay_ms, state.clock = delay, clock


def _build(state: SandboxState, rng: random.Random, seed: int, api_redirect_uri: str) -> DemoIds:
    account = roster.add_account(state, DISTRICT_NAME)
    account.account_level_mastery_scales = True
    account.proficiency = _scale()
    account.calculation = CalculationMethod("decaying_average", 65)

    used: set[str] = set()
    admin = roster.add_user(state, "Dana", "Whitfield", rng=rng, sis_prefix="A")
    admin.account_admin_of.append(account.id)
    rivera = roster.add_user(
        state, "Elena", "Rivera", rng=rng, short_name="Ms. Rivera", sis_prefix="T"
    )
    okafor = roster.add_user(
        state, "David", "Okafor", rng=rng, short_name="Mr. Okafor", sis_prefix="T"
    )
    ta = roster.add_user(
        state, "Jordan", "Lee", rng=rng, short_name="Jordan Lee (TA)", sis_prefix="T"
    )
    used.update({admin.name, rivera.name, okafor.name, ta.name})
    students = _people(state, rng, 30, used)
    math_students = _people(state, rng, 12, used)

    ela = roster.add_course(state, account.id, f"ELA 7 {DASH} Period 2", "ELA7-P2", seed=seed)
    sec_a = roster.add_section(state, ela.id, f"ELA 7 {DASH} Period 2 (Section A)")
    sec_b = roster.add_section(state, ela.id, f"ELA 7 {DASH} Period 2 (Section B)")
    for sec in (sec_a, sec_b):
        roster.enroll(state, rivera.id, sec.id, "TeacherEnrollment")
        roster.enroll(state, ta.id, sec.id, "TaEnrollment")
    for i, student in enumerate(students):
        roster.enroll(state, student, (sec_a if i < 15 else sec_b).id, "StudentEnrollment")
    two_sections = students[0]
    roster.enroll(state, two_sections, sec_b.id, "StudentEnrollment")
    no_results = students[-1]
    # A student whose Canvas language is Spanish: the tool's pages open in Spanish for them.
    spanish = students[7]
    state.users[spanish].locale = "es"

    math = roster.add_course(state, account.id, f"Math 7 {DASH} Period 4", "MATH7-P4", seed=seed)
    math.calculation = CalculationMethod("latest", None)  # a course-level override
    msec = roster.add_section(state, math.id, f"Math 7 {DASH} Period 4")
    roster.enroll(state, okafor.id, msec.id, "TeacherEnrollment")
    for student in math_students:
        roster.enroll(state, student, msec.id, "StudentEnrollment")

    periods = {c.id: _quarters(state, c.id) for c in (ela, math)}

    ela_outcomes = build_outcomes(state, account.id, ela.id, ELA_OUTCOMES)
    math_outcomes = build_outcomes(state, account.id, math.id, MATH_OUTCOMES)

    assessed = students[:-1]
    ela_assignments = _assess_course(
        state, rng, ela.id, rivera.id, assessed, ela_outcomes, ELA_ASSIGNMENTS
    )
    # Three results from an association that hides its outcome results.
    (hidden,) = _assess_course(
        state,
        rng,
        ela.id,
        rivera.id,
        assessed,
        ela_outcomes,
        (HIDDEN_ASSIGNMENT,),
        hide_outcome_results=True,
        only=assessed[1:4],
    )
    math_assignments = _assess_course(
        state, rng, math.id, okafor.id, math_students, math_outcomes, MATH_ASSIGNMENTS
    )
    quiz = new_quizzes.add_new_quiz(
        state,
        ela.id,
        "Unit 2 Check (New Quiz)",
        [ela_outcomes["RL.7.1"], ela_outcomes["RL.7.2"]],
        assessed,
        at=TERM_START + timedelta(weeks=5, days=2),
        rng=random.Random(seed + 1),  # noqa: S311 - its own stream: other data stays the same
    )

    # Parents last: every id and result above stays what it was before observers existed.
    children = [students[1], students[16]]  # one in each section; both have results
    parent = roster.add_user(
        state, "Rosa", state.users[children[0]].sortable_name.split(",")[0], rng=rng, sis_prefix="P"
    )
    for child in children:
        roster.observe(state, parent.id, child, ela.id)
    math_child = math_students[0]
    math_parent = roster.add_user(
        state,
        "Samuel",
        state.users[math_child].sortable_name.split(",")[0],
        rng=rng,
        sis_prefix="P",
    )
    roster.observe(state, math_parent.id, math_child, math.id)

    secret = hashlib.sha256(f"riverside-api-key-{seed}".encode()).hexdigest()
    key = tk.create_api_key(
        state,
        "Mastery Pathways API",
        api_redirect_uri,
        client_id="170000000000001",
        secret=secret,
    )
    return DemoIds(
        account=account.id,
        admin=admin.id,
        teacher=rivera.id,
        teacher2=okafor.id,
        ta=ta.id,
        students=students,
        math_students=math_students,
        ela_course=ela.id,
        math_course=math.id,
        ela_sections=[sec_a.id, sec_b.id],
        math_sections=[msec.id],
        two_section_student=two_sections,
        no_results_student=no_results,
        spanish_student=spanish,
        ela_outcomes=ela_outcomes,
        math_outcomes=math_outcomes,
        ela_assignments=ela_assignments,
        hidden_assignment=hidden,
        math_assignments=math_assignments,
        api_client_id=key.client_id,
        api_client_secret=key.secret,
        courses=[ela.id, math.id],
        sections={ela.id: [sec_a.id, sec_b.id], math.id: [msec.id]},
        new_quiz=quiz.id,
        teachers=[rivera.id, okafor.id],
        parent=parent.id,
        parent_children=children,
        math_parent=math_parent.id,
        math_parent_child=math_child,
        grading_periods=periods,
    )
