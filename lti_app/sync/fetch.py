"""Read one course from Canvas into a ``CourseSnapshot``, in the fewest requests.

Every list is read at per_page=100 to the end (the client paginates), one call per list: outcome
group links (full styles give outcomes with ratings and their groups), outcome groups (the tree,
for paths), the course mastery scale, sections, student enrollments (users included) and every
outcome result. No per-student or per-outcome loop.

Results are paginated by page number over a list Canvas sorts by student; a student dropped
while the pages are read would shift later pages and silently skip results. So the roster is
read before and after the results: if it changed, the results are read once more, and if it
changed again the sync keeps what it read for the students still enrolled and counts the rest
(the next sync reads a quiet course). Real course data never fails a sync: New Quizzes results
(no id), hidden results, results of outcomes no longer linked or of students who left, outcomes
linked twice and alignments to something other than an assignment are kept or skipped, and
counted (``ReadNotes``). Canvas's own rollups are read too (docs/canvas.md §1.8): they tell
which scale Canvas uses (``scale_source``) and what its Learning Mastery Gradebook shows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import fields
from typing import Any, Protocol

from lti_app.canvas.client.errors import (
    BadPayload,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from lti_app.canvas.client.types import (
    Enrollment,
    GradingPeriod,
    OutcomeGroup,
    OutcomeLink,
    OutcomeResult,
    OutcomeResultsPage,
    Proficiency,
    Rating,
    Rollup,
    Section,
    assignment_id_of,
    is_outcomes_service_id,
)
from lti_app.sync import scale_source
from lti_app.sync.snapshot import (
    AlignmentRow,
    CourseSnapshot,
    GradingPeriodRow,
    ObserverRow,
    OutcomeRow,
    RatingRow,
    ReadNotes,
    ResultRow,
    SectionRow,
    StudentRow,
    observer_key,
)
from lti_app.translatable import _l

Progress = Callable[[int, str], None]
# How many times the results are read when the roster moves underneath.
RESULT_PASSES = 2
# Result pages are chained (each names the next), so one chain is one request at a time. A big
# course is read as up to three chains over disjoint slices of its students, concurrently (the
# client allows three requests in flight per token): about a third of the wall time, for at
# most two extra requests (each slice's last, partial page).
MAX_SLICES = 3
STUDENTS_PER_SLICE = 10
PROGRESS_EVERY = 0.25  # seconds between progress reports while slices are read
# The names of what results were scored on come with the results' own pages (no extra
# request): docs/canvas.md §9.2.
RESULT_INCLUDE = ("alignments",)


# Reads the sync can do without: refused or unknown here means "not known", never a failure.
OPTIONAL_READ_ERRORS = (PermissionDenied, NotFound, ValidationFailed, BadPayload)


class CourseReader(Protocol):
    """The part of ``CanvasClient`` a sync uses."""

    def outcome_links(self, course_id: str) -> list[OutcomeLink]: ...
    def outcome_groups(self, course_id: str) -> list[OutcomeGroup]: ...
    def course_proficiency(self, course_id: str) -> Proficiency | None: ...
    def sections(self, course_id: str) -> list[Section]: ...
    def student_enrollments(self, course_id: str) -> list[Enrollment]: ...
    def observer_enrollments(self, course_id: str) -> list[Enrollment]: ...
    def outcome_results_pages(
        self,
        course_id: str,
        *,
        include_hidden: bool = False,
        user_ids: Iterable[str] | None = None,
        include: Sequence[str] = (),
    ) -> Iterator[OutcomeResultsPage]: ...
    def course(self, course_id: str) -> dict[str, object]: ...
    def root_account_features(self, account_id: str) -> frozenset[str] | None: ...
    def outcome_rollups(self, course_id: str) -> list[Rollup]: ...
    def grading_periods(self, course_id: str) -> list[GradingPeriod]: ...


def _rating(r: Rating) -> RatingRow:
    return RatingRow(points=r.points, description=r.description, mastery=r.mastery, color=r.color)


def group_paths(groups: list[OutcomeGroup]) -> dict[str, tuple[str, ...]]:
    """Titles from below the root down to each group (the root itself is the course)."""
    by_id = {g.id: g for g in groups}
    paths: dict[str, tuple[str, ...]] = {}
    for group in groups:
        titles: list[str] = []
        node: OutcomeGroup | None = group
        # Bounded walk: a (corrupt) cycle cannot loop forever.
        for _ in range(len(by_id) + 1):
            if node is None or node.parent_id is None:
                break
            titles.append(node.title)
            node = by_id.get(node.parent_id)
        paths[group.id] = tuple(reversed(titles))
    return paths


def outcome_rows(links: list[OutcomeLink], groups: list[OutcomeGroup]) -> dict[str, OutcomeRow]:
    """One row per outcome; an outcome linked in several groups keeps its first path (the
    other links are counted by :func:`linked_twice`)."""
    paths = group_paths(groups)
    rows: dict[str, OutcomeRow] = {}
    for link in sorted(
        links, key=lambda lk: (paths.get(lk.group.id, (lk.group.title,)), lk.group.id)
    ):
        o = link.outcome
        if o.id in rows:
            continue
        rows[o.id] = OutcomeRow(
            canvas_outcome_id=o.id,
            title=o.title,
            canvas_group_id=link.group.id,
            group_path=paths.get(
                link.group.id, (link.group.title,) if link.group.parent_id else ()
            ),
            display_name=o.display_name,
            description=o.description,
            vendor_guid=o.vendor_guid,
            points_possible=o.points_possible,
            mastery_points=o.mastery_points,
            ratings=tuple(_rating(r) for r in o.ratings),
            calculation_method=o.calculation_method,
            calculation_int=o.calculation_int,
            context_type=o.context_type,
            context_id=o.context_id,
        )
    return rows


def linked_twice(links: list[OutcomeLink]) -> int:
    """Outcomes linked in more than one group of the course (each is kept once)."""
    seen: dict[str, int] = {}
    for link in links:
        seen[link.outcome.id] = seen.get(link.outcome.id, 0) + 1
    return sum(1 for n in seen.values() if n > 1)


def student_rows(enrollments: list[Enrollment]) -> dict[str, StudentRow]:
    """Active student enrollments merged per user (one enrollment per section)."""
    sections: dict[str, set[str]] = {}
    first: dict[str, Enrollment] = {}
    for e in enrollments:
        if e.type != "StudentEnrollment" or e.enrollment_state != "active":
            continue
        first.setdefault(e.user_id, e)
        sections.setdefault(e.user_id, set()).add(e.course_section_id)
    rows: dict[str, StudentRow] = {}
    for user_id, e in first.items():
        user = e.user
        rows[user_id] = StudentRow(
            canvas_user_id=user_id,
            name=user.name if user else f"User {user_id}",
            sortable_name=user.sortable_name if user else f"User {user_id}",
            login_id=user.login_id if user else None,
            section_ids=tuple(sorted(sections[user_id])),
        )
    return rows


def observer_rows(enrollments: list[Enrollment], students: Iterable[str]) -> dict[str, ObserverRow]:
    """Active observer enrollments that observe one of ``students`` (an observer enrolled
    without a student, or observing someone who left, gives nobody to see)."""
    active = set(students)
    rows: dict[str, ObserverRow] = {}
    for e in enrollments:
        student = e.associated_user_id
        if e.type != "ObserverEnrollment" or e.enrollment_state != "active":
            continue
        if student is None or student not in active or student == e.user_id:
            continue
        key = observer_key(e.user_id, student)
        rows[key] = ObserverRow(link_key=key, observer_user_id=e.user_id, student_user_id=student)
    return rows


def result_row(r: OutcomeResult) -> ResultRow:
    return ResultRow(
        canvas_result_id=r.id,
        canvas_user_id=r.user_id,
        canvas_outcome_id=r.outcome_id,
        alignment=r.alignment,
        canvas_assignment_id=str(r.assignment_id) if r.assignment_id is not None else None,
        score=r.score,
        possible=r.possible,
        percent=r.percent,
        mastery=r.mastery,
        hidden=r.hidden,
        submitted_or_assessed_at=r.submitted_or_assessed_at,
    )


def _progress_for(pages: int) -> int:
    # The total is unknown up front: approach 90% asymptotically, a step per page.
    return 40 + int(50 * pages / (pages + 8))


def _keep_names(page: OutcomeResultsPage, names: dict[str, AlignmentRow]) -> None:
    for a in page.linked.alignments:
        names[a.id] = AlignmentRow(alignment=a.id, name=a.name)


def _read_sequential(
    client: CourseReader, course_id: str, progress: Progress, names: dict[str, AlignmentRow]
) -> dict[str, ResultRow]:
    results: dict[str, ResultRow] = {}
    pages_of = client.outcome_results_pages(course_id, include_hidden=True, include=RESULT_INCLUDE)
    for pages, page in enumerate(pages_of, start=1):
        _keep_names(page, names)
        for result in page.results:
            # A result shifted onto the next page is seen twice; keyed by id, once.
            results[result.id] = result_row(result)
        progress(
            _progress_for(pages), _l("Reading outcome results (%(count)s)", count=len(results))
        )
    return results


def read_results(
    client: CourseReader,
    course_id: str,
    student_ids: list[str],
    progress: Progress,
    names: dict[str, AlignmentRow] | None = None,
) -> dict[str, ResultRow]:
    """Every result of the course's students, hidden ones included (flagged: they never count,
    as in Canvas's Learning Mastery Gradebook, but the sync page counts them); ``names``
    collects the names of what they were scored on."""
    names = {} if names is None else names
    slices = min(MAX_SLICES, len(student_ids) // STUDENTS_PER_SLICE)
    if slices <= 1:
        return _read_sequential(client, course_id, progress, names)
    size = -(-len(student_ids) // slices)
    chunks = [student_ids[i : i + size] for i in range(0, len(student_ids), size)]
    lock = threading.Lock()
    results: dict[str, ResultRow] = {}
    pages = [0]

    def read(chunk: list[str]) -> None:
        for page in client.outcome_results_pages(
            course_id, include_hidden=True, user_ids=chunk, include=RESULT_INCLUDE
        ):
            rows = [result_row(r) for r in page.results]
            with lock:
                _keep_names(page, names)
                results.update((r.canvas_result_id, r) for r in rows)
                pages[0] += 1

    with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="mp-results") as pool:
        futures = [pool.submit(read, chunk) for chunk in chunks]
        pending = set(futures)
        while pending:  # ends when every chain ends; each is bounded by the client's deadline
            _, pending = wait(pending, timeout=PROGRESS_EVERY)
            with lock:
                done_pages, count = pages[0], len(results)
            progress(
                _progress_for(done_pages), _l("Reading outcome results (%(count)s)", count=count)
            )
    try:
        for future in futures:
            future.result()
    except ValidationFailed:
        # Canvas refuses user_ids[] naming someone who is no longer a student (a drop since
        # the roster was read): read the whole course in one chain instead.
        return _read_sequential(client, course_id, progress, names)
    return results


def _course_and_flags(
    client: CourseReader, course_id: str
) -> tuple[dict[str, object], frozenset[str] | None]:
    """The course, and its root account's enabled features (None when they cannot be read)."""
    course = client.course(course_id)
    root = course.get("root_account_id")
    if not isinstance(root, str) or not root:
        return course, None
    try:
        return course, client.root_account_features(root)
    except OPTIONAL_READ_ERRORS:
        return course, None


def _rollups(client: CourseReader, course_id: str) -> list[Rollup] | None:
    try:
        return client.outcome_rollups(course_id)
    except OPTIONAL_READ_ERRORS:
        return None  # an older key without the rollups scope: the sync goes on without


def _grading_periods(client: CourseReader, course_id: str) -> dict[str, GradingPeriodRow] | None:
    """The course's grading periods for the progress report (docs/canvas.md §12); None when
    they cannot be read (a key without the scope): the stored ones stay as they are."""
    try:
        periods = client.grading_periods(course_id)
    except OPTIONAL_READ_ERRORS:
        return None
    kept = [f.name for f in fields(GradingPeriodRow) if f.name != "canvas_grading_period_id"]
    return {
        p.id: GradingPeriodRow(p.id, **{name: getattr(p, name) for name in kept}) for p in periods
    }


def _read_structure(
    client: CourseReader, course_id: str, progress: Progress
) -> tuple[Future[Any], ...]:
    # The small lists are independent: read them side by side (three in flight at most, the
    # client's per-token limit), then the results, which need the roster to slice.
    with ThreadPoolExecutor(max_workers=MAX_SLICES, thread_name_prefix="mp-lists") as pool:
        futures: tuple[Future[Any], ...] = (
            pool.submit(client.outcome_links, course_id),
            pool.submit(client.outcome_groups, course_id),
            pool.submit(client.course_proficiency, course_id),
            pool.submit(client.sections, course_id),
            pool.submit(client.student_enrollments, course_id),
            pool.submit(client.observer_enrollments, course_id),
            # its name and time zone, for the pages; its root account's features
            pool.submit(_course_and_flags, client, course_id),
        )
        pending = set(futures)
        while pending:  # bounded: each call is bounded by the client's deadline
            _, pending = wait(pending, timeout=PROGRESS_EVERY)
            done = len(futures) - len(pending)
            progress(
                2 + 5 * done,
                _l(
                    "Reading course structure (%(done)s of %(total)s)",
                    done=done,
                    total=len(futures),
                ),
            )
    return futures


def fetch_course(client: CourseReader, course_id: str, progress: Progress) -> CourseSnapshot:
    """Everything the tool keeps about one course, read into memory (nothing is written)."""
    progress(2, _l("Reading learning targets, scale, sections, students and Canvas's rollups"))
    # Canvas's rollups are only needed at the end: read them beside everything else (one
    # request; the client keeps at most three in flight per token).
    side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mp-rollups")
    try:
        rollups_f = side.submit(_rollups, client, course_id)
        periods_f = side.submit(_grading_periods, client, course_id)
        snapshot = _fetch(client, course_id, progress, rollups_f, periods_f)
    finally:
        side.shutdown(wait=True)  # bounded: the read is bounded by the client's deadline
    return snapshot


def _fetch(
    client: CourseReader,
    course_id: str,
    progress: Progress,
    rollups_f: Future[Any],
    periods_f: Future[Any],
) -> CourseSnapshot:
    (links_f, groups_f, proficiency_f, sections_f, enrollments_f, observers_f, course_f) = (
        _read_structure(client, course_id, progress)
    )
    links: list[OutcomeLink] = links_f.result()
    proficiency: Proficiency | None = proficiency_f.result()
    sections: list[Section] = sections_f.result()
    first = students = student_rows(enrollments_f.result())

    course, flags = course_f.result()
    course_name = str(course.get("name") or "") or None
    course_time_zone = str(course.get("time_zone") or "") or None

    results: dict[str, ResultRow] = {}
    names: dict[str, AlignmentRow] = {}
    for _attempt in range(RESULT_PASSES):
        progress(40, _l("Reading outcome results"))
        names = {}
        results = read_results(client, course_id, sorted(students), progress, names)
        progress(92, _l("Checking the roster did not change"))
        after = student_rows(client.student_enrollments(course_id))
        changed = after.keys() != students.keys()
        students = after
        if not changed:
            break
        # Still changing after the last pass: keep what was read for the students enrolled
        # now; the others' results are skipped and counted, the newcomers' come next sync.

    outcomes = outcome_rows(links, groups_f.result())
    kept = {
        rid: r
        for rid, r in results.items()
        if r.canvas_user_id in students and r.canvas_outcome_id in outcomes
    }
    raw_rollups: list[Rollup] | None = rollups_f.result()
    rollups = {
        k: v
        for k, v in scale_source.rollup_rows(raw_rollups or []).items()
        if v.canvas_user_id in students and v.canvas_outcome_id in outcomes
    }
    course_scale = tuple(_rating(r) for r in proficiency.ratings) if proficiency else None
    setup = scale_source.decide(
        flags, course_scale, outcomes, kept, rollups if raw_rollups is not None else None
    )
    notes = ReadNotes(
        new_quizzes_results=sum(1 for rid in kept if is_outcomes_service_id(rid)),
        hidden_results=sum(1 for r in kept.values() if r.hidden),
        other_alignment_results=sum(
            1 for r in kept.values() if assignment_id_of(r.alignment) is None
        ),
        outcomes_linked_twice=linked_twice(links),
        results_of_students_who_left=sum(
            1 for r in results.values() if r.canvas_user_id not in students
        ),
        students_who_left=len(first.keys() - students.keys()),
        students_who_joined=len(students.keys() - first.keys()),
        results_of_unlinked_outcomes=sum(
            1
            for r in results.values()
            if r.canvas_user_id in students and r.canvas_outcome_id not in outcomes
        ),
        rollups_read=raw_rollups is not None,
        rollup_users=len({r.canvas_user_id for r in rollups.values()}),
        rollup_disagreements=setup.disagreements or 0,
    )
    return CourseSnapshot(
        canvas_course_id=course_id,
        scale_source=setup.scale_source,
        mastery_scale=course_scale,
        outcomes=outcomes,
        sections={s.id: SectionRow(canvas_section_id=s.id, name=s.name) for s in sections},
        students=students,
        results=kept,
        rollups=rollups,
        scale_basis=setup.scale_basis,
        new_decaying_average=setup.new_decaying_average,
        decaying_basis=setup.decaying_basis,
        read=notes,
        alignments={
            a: names[a]
            for a in sorted({r.alignment for r in kept.values() if r.alignment})
            if a in names
        },
        course_name=course_name,
        course_time_zone=course_time_zone,
        course_account_id=_text(course.get("account_id")),
        course_account_name=_text(course.get("account_name")),
        course_account_parent_id=_text(course.get("account_parent_id")),
        course_term_id=_text(course.get("term_id")),
        course_term_name=_text(course.get("term_name")),
        observers=observer_rows(observers_f.result(), students),
        grading_periods=periods_f.result(),
    )


def _text(value: object) -> str | None:
    return str(value) if value else None
