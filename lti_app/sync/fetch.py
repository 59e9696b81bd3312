"""Read one course from Canvas into a ``CourseSnapshot``, in the fewest requests.

Every list is read at per_page=100 to the end (the client paginates), one call per list: outcome
group links (full styles give outcomes with ratings and their groups), outcome groups (the tree,
for paths), the course mastery scale, sections, student enrollments (users included) and every
outcome result. No per-student or per-outcome loop.

Results are paginated by page number over a list Canvas sorts by student; a student dropped
while the pages are read would shift later pages and silently skip results. So the roster is
read before and after the results: if it changed, the results are read once more, and if it
changed again the sync fails with "course changed" (the retry will see a quiet course).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from lti_app.canvas.client.errors import CanvasError, ValidationFailed
from lti_app.canvas.client.types import (
    Enrollment,
    OutcomeGroup,
    OutcomeLink,
    OutcomeResult,
    OutcomeResultsPage,
    Proficiency,
    Rating,
    Section,
)
from lti_app.sync.snapshot import (
    SCALE_COURSE,
    SCALE_OUTCOMES,
    AlignmentRow,
    CourseSnapshot,
    OutcomeRow,
    RatingRow,
    ResultRow,
    SectionRow,
    StudentRow,
)

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


class CourseChanged(CanvasError):
    """The roster kept changing while the results were read; a retry will succeed."""


class CourseReader(Protocol):
    """The part of ``CanvasClient`` a sync uses."""

    def outcome_links(self, course_id: str) -> list[OutcomeLink]: ...
    def outcome_groups(self, course_id: str) -> list[OutcomeGroup]: ...
    def course_proficiency(self, course_id: str) -> Proficiency | None: ...
    def sections(self, course_id: str) -> list[Section]: ...
    def student_enrollments(self, course_id: str) -> list[Enrollment]: ...
    def outcome_results_pages(
        self,
        course_id: str,
        *,
        include_hidden: bool = False,
        user_ids: Iterable[str] | None = None,
        include: Sequence[str] = (),
    ) -> Iterator[OutcomeResultsPage]: ...
    def course(self, course_id: str) -> dict[str, object]: ...


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
    """One row per outcome; an outcome linked in several groups keeps its first path."""
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
        )
    return rows


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
    pages_of = client.outcome_results_pages(course_id, include=RESULT_INCLUDE)
    for pages, page in enumerate(pages_of, start=1):
        _keep_names(page, names)
        for result in page.results:
            # A result shifted onto the next page is seen twice; keyed by id, once.
            results[result.id] = result_row(result)
        progress(_progress_for(pages), f"Reading outcome results ({len(results)})")
    return results


def read_results(
    client: CourseReader,
    course_id: str,
    student_ids: list[str],
    progress: Progress,
    names: dict[str, AlignmentRow] | None = None,
) -> dict[str, ResultRow]:
    """Every visible result of the course's students (hidden ones excluded, as Canvas's LMGB);
    ``names`` collects the names of what they were scored on."""
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
        for page in client.outcome_results_pages(course_id, user_ids=chunk, include=RESULT_INCLUDE):
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
            progress(_progress_for(done_pages), f"Reading outcome results ({count})")
    try:
        for future in futures:
            future.result()
    except ValidationFailed:
        # Canvas refuses user_ids[] naming someone who is no longer a student (a drop since
        # the roster was read): read the whole course in one chain instead.
        return _read_sequential(client, course_id, progress, names)
    return results


def fetch_course(client: CourseReader, course_id: str, progress: Progress) -> CourseSnapshot:
    """Everything the tool keeps about one course, read into memory (nothing is written)."""
    # The five small lists are independent: read them side by side (three in flight at most,
    # the client's per-token limit), then the results, which need the roster to slice.
    progress(2, "Reading learning targets, scale, sections and students")
    with ThreadPoolExecutor(max_workers=MAX_SLICES, thread_name_prefix="mp-lists") as pool:
        links_f = pool.submit(client.outcome_links, course_id)
        groups_f = pool.submit(client.outcome_groups, course_id)
        proficiency_f = pool.submit(client.course_proficiency, course_id)
        sections_f = pool.submit(client.sections, course_id)
        enrollments_f = pool.submit(client.student_enrollments, course_id)
        course_f = pool.submit(client.course, course_id)  # its name, for the admin's pages
        futures: list[Future[Any]] = [
            links_f,
            groups_f,
            proficiency_f,
            sections_f,
            enrollments_f,
            course_f,
        ]
        pending = set(futures)
        while pending:  # bounded: each call is bounded by the client's deadline
            _, pending = wait(pending, timeout=PROGRESS_EVERY)
            done = len(futures) - len(pending)
            progress(2 + 6 * done, f"Reading course structure ({done} of {len(futures)})")
    links = links_f.result()
    groups = groups_f.result()
    proficiency = proficiency_f.result()
    sections = sections_f.result()
    students = student_rows(enrollments_f.result())

    course = course_f.result()
    course_name = str(course.get("name") or "") or None
    course_time_zone = str(course.get("time_zone") or "") or None

    results: dict[str, ResultRow] = {}
    names: dict[str, AlignmentRow] = {}
    for attempt in range(RESULT_PASSES):
        progress(40, "Reading outcome results")
        names = {}
        results = read_results(client, course_id, sorted(students), progress, names)
        progress(92, "Checking the roster did not change")
        after = student_rows(client.student_enrollments(course_id))
        if after.keys() == students.keys():
            students = after
            break
        students = after
        if attempt + 1 == RESULT_PASSES:
            raise CourseChanged(
                "Students were added or removed in Canvas while the course was being read; "
                "sync again in a minute."
            )

    outcomes = outcome_rows(links, groups)
    # Canvas only returns results of linked outcomes and course students; anything else would
    # be evidence nobody can see, so it is not kept.
    kept = {
        rid: r
        for rid, r in results.items()
        if r.canvas_user_id in students and r.canvas_outcome_id in outcomes
    }
    return CourseSnapshot(
        canvas_course_id=course_id,
        scale_source=SCALE_COURSE if proficiency is not None else SCALE_OUTCOMES,
        mastery_scale=tuple(_rating(r) for r in proficiency.ratings) if proficiency else None,
        outcomes=outcomes,
        sections={s.id: SectionRow(canvas_section_id=s.id, name=s.name) for s in sections},
        students=students,
        results=kept,
        alignments={
            a: names[a]
            for a in sorted({r.alignment for r in kept.values() if r.alignment})
            if a in names
        },
        course_name=course_name,
        course_time_zone=course_time_zone,
    )
