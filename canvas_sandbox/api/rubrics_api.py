"""Assignments, rubrics, associations, submissions, bulk grading and progress
(docs/canvas.md §3)."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response

from canvas_sandbox import rubrics
from canvas_sandbox import serializers as ser
from canvas_sandbox.api.common import (
    arg_list,
    as_json,
    base_url,
    body_params,
    course_or_404,
    obj,
    paginate,
    parse_id,
    rails_flag,
    require_course_member,
    require_grader,
    resolve_user,
    state,
    truthy,
    user_id,
)
from canvas_sandbox.errors import ApiError, ValidationFailed, bad_request, not_found, unauthorized
from canvas_sandbox.state import Assignment, Course, Progress

bp = Blueprint("sandbox_rubrics", __name__, url_prefix="/api/v1")


def _assignment(course: Course, raw: str) -> Assignment:
    assignment = state().assignments.get(parse_id(raw))
    if (
        assignment is None
        or assignment.course_id != course.id
        or assignment.workflow_state == "deleted"
    ):
        raise not_found()
    return assignment


def _assignment_json(assignment: Assignment) -> dict[str, Any]:
    st = state()
    return ser.assignment_json(
        st, assignment, base_url(), rubrics.grading_association(st, assignment.id)
    )


# --- assignments (docs/canvas.md §3.7) ------------------------------------------------------


@bp.post("/courses/<course_ref>/assignments")
def create_assignment(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_grader(course)
    params = obj(body_params().get("assignment"), "assignment")
    if not params.get("name"):
        raise bad_request("assignment[name] is missing")
    types = params.get("submission_types") or ["none"]
    if not isinstance(types, list):
        types = [types]
    points = _number(params.get("points_possible") or 0, "points_possible")
    assignment = rubrics.create_assignment(
        state(),
        course.id,
        str(params["name"]),
        points_possible=points,
        grading_type=str(params.get("grading_type") or "points"),
        submission_types=[str(t) for t in types],
        published=truthy(params.get("published", False)),
        omit_from_final_grade=truthy(params.get("omit_from_final_grade", False)),
        description=str(params.get("description") or ""),
    )
    return as_json(_assignment_json(assignment), 201)


@bp.get("/courses/<course_ref>/assignments")
def list_assignments(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    grader = st.can_manage_grades(course.id, user_id())
    rows = sorted(
        (
            a
            for a in st.assignments.values()
            if a.course_id == course.id
            and a.workflow_state != "deleted"
            and (grader or a.published)
        ),
        key=lambda a: (a.position, a.id),
    )
    return paginate(rows, _assignment_json)


@bp.get("/courses/<course_ref>/assignments/<assignment_ref>")
def show_assignment(course_ref: str, assignment_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    assignment = _assignment(course, assignment_ref)
    if not assignment.published and not state().can_manage_grades(course.id, user_id()):
        raise not_found()
    return as_json(_assignment_json(assignment))


@bp.put("/courses/<course_ref>/assignments/<assignment_ref>")
def update_assignment(course_ref: str, assignment_ref: str) -> Response:
    """``AssignmentsApiController#update``: the fields a teacher edits (name, published,
    grading type, points, omit from final grade, description)."""
    course = course_or_404(course_ref)
    require_grader(course)
    assignment = _assignment(course, assignment_ref)
    params = obj(body_params().get("assignment"), "assignment")
    if "name" in params:
        if not params["name"]:
            raise bad_request("assignment[name] is missing")
        assignment.name = str(params["name"])
    if "published" in params:
        assignment.published = truthy(params["published"])
        assignment.workflow_state = "published" if assignment.published else "unpublished"
    if params.get("grading_type"):
        assignment.grading_type = str(params["grading_type"])
    if "points_possible" in params:
        assignment.points_possible = _number(params["points_possible"] or 0, "points_possible")
    if "omit_from_final_grade" in params:
        assignment.omit_from_final_grade = truthy(params["omit_from_final_grade"])
    if "description" in params:
        assignment.description = str(params["description"] or "")
    state().result_generation += 1
    return as_json(_assignment_json(assignment))


@bp.delete("/courses/<course_ref>/assignments/<assignment_ref>")
def delete_assignment(course_ref: str, assignment_ref: str) -> Response:
    """``Assignment#destroy``: soft delete; its outcome alignments (content tags) are deleted
    with it, so its results drop out of outcome_results (``with_active_link``)."""
    course = course_or_404(course_ref)
    require_grader(course)
    st = state()
    assignment = _assignment(course, assignment_ref)
    assignment.workflow_state = "deleted"
    for alignment in st.alignments.values():
        if alignment.assignment_id == assignment.id:
            alignment.workflow_state = "deleted"
    st.result_generation += 1
    return as_json(_assignment_json(assignment))


# --- rubrics (docs/canvas.md §3.8, §3.9) ----------------------------------------------------


def _indexed(raw: Any) -> list[Any]:
    """Criteria/ratings must be index-keyed objects; arrays are what Canvas chokes on."""
    if isinstance(raw, dict):
        return [
            raw[k]
            for k in sorted(
                raw, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, str(k))
            )
        ]
    raise ValidationFailed("data", "criteria and ratings must be objects keyed by index")


def _number(value: Any, attribute: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(attribute, f"{attribute} must be a number") from None
    if not math.isfinite(number):
        raise ValidationFailed(attribute, f"{attribute} must be a number")
    return number


def _optional_number(value: Any, attribute: str) -> float | None:
    return None if value in (None, "") else _number(value, attribute)


def _criteria(raw: Any) -> list[rubrics.CriterionInput]:
    out: list[rubrics.CriterionInput] = []
    for item in _indexed(raw):
        if not isinstance(item, dict):
            raise ValidationFailed("data", "invalid criterion")
        ratings = []
        for r in _indexed(item.get("ratings") or {}):
            if not isinstance(r, dict):
                raise ValidationFailed("data", "invalid rating")
            points = _number(r.get("points", 0) or 0, "points")
            ratings.append(
                rubrics.RatingInput(
                    str(r.get("description") or "No Description"),
                    points,
                    str(r.get("long_description") or ""),
                    str(r["id"]) if r.get("id") not in (None, "") else None,
                )
            )
        outcome = _optional_number(item.get("learning_outcome_id"), "learning_outcome_id")
        mastery = _optional_number(item.get("mastery_points"), "mastery_points")
        out.append(
            rubrics.CriterionInput(
                description=str(item.get("description") or ""),
                ratings=ratings,
                long_description=str(item.get("long_description") or ""),
                learning_outcome_id=int(outcome) if outcome is not None else None,
                mastery_points=mastery,
                # Rubric#generate_criteria: ignore_for_scoring only as "1" and only on an
                # outcome row; criterion_use_range as true or "true".
                ignore_for_scoring=outcome is not None
                and rails_flag(item.get("ignore_for_scoring")),
                criterion_use_range=item.get("criterion_use_range") in (True, "true"),
                id=str(item["id"]) if item.get("id") not in (None, "") else None,
            )
        )
    return out


def _association_input(raw: dict[str, Any]) -> rubrics.AssociationInput:
    return rubrics.AssociationInput(
        purpose=str(raw.get("purpose") or "grading"),
        use_for_grading=truthy(raw.get("use_for_grading", False)),
        hide_score_total=truthy(raw.get("hide_score_total", False)),
        hide_points=truthy(raw.get("hide_points", False)),
        hide_outcome_results=truthy(raw.get("hide_outcome_results", False)),
        title=str(raw["title"]) if raw.get("title") else None,
        bookmarked=truthy(raw.get("bookmarked", True)),
    )


def _association_target(course: Course, raw: dict[str, Any]) -> tuple[str, int]:
    kind = str(raw.get("association_type") or "Course")
    if kind == "Assignment":
        return kind, _assignment(course, str(raw.get("association_id"))).id
    return "Course", course.id


@bp.post("/courses/<course_ref>/rubrics")
def create_rubric(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_grader(course)
    params = body_params()
    raw = params.get("rubric") or {}
    raw_assoc = params.get("rubric_association") or {}
    if not isinstance(raw, dict) or not isinstance(raw_assoc, dict):
        return as_json(ser.rubric_error_json(["rubric must be an object"]))  # HTTP 200
    st = state()
    try:
        criteria = _criteria(raw.get("criteria") or {})
        kind, target = _association_target(course, raw_assoc)
        rubric = rubrics.create_rubric(
            st,
            course.id,
            str(raw.get("title") or ""),
            criteria,
            user_id=user_id(),
            # Rubric#update_with_association: == "1"
            free_form_criterion_comments=rails_flag(raw.get("free_form_criterion_comments")),
        )
    except ValidationFailed as err:
        return as_json(ser.rubric_error_json([err.message]))  # HTTP 200, as Canvas does
    assoc = rubrics.associate(st, rubric, kind, target, _association_input(raw_assoc))
    return as_json(ser.rubric_create_json(rubric, assoc))


@bp.get("/courses/<course_ref>/rubrics/<rubric_ref>")
def show_rubric(course_ref: str, rubric_ref: str) -> Response:
    """``GET /courses/:id/rubrics/:id`` ("Get a single rubric"); ``include[]=associations``
    lists its active associations (how a tool finds an association id it did not record)."""
    course = course_or_404(course_ref)
    require_grader(course)
    st = state()
    rubric = st.rubrics.get(parse_id(rubric_ref))
    if rubric is None or rubric.context_id != course.id or rubric.workflow_state != "active":
        raise not_found()
    body = ser.rubric_json(rubric)
    if "associations" in (arg_list("include") or []):
        body["associations"] = [
            ser.rubric_association_json(a) for a in rubrics.active_associations(st, rubric.id)
        ]
    return as_json(body)


@bp.put("/courses/<course_ref>/rubrics/<rubric_ref>")
def update_rubric(course_ref: str, rubric_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_grader(course)
    st = state()
    rubric = st.rubrics.get(parse_id(rubric_ref))
    if rubric is None or rubric.context_id != course.id or rubric.workflow_state != "active":
        raise not_found()
    params = body_params()
    raw = obj(params.get("rubric"), "rubric")
    raw_assoc = obj(params.get("rubric_association"), "rubric_association")
    assoc = None
    assoc_ref = params.get("rubric_association_id") or raw_assoc.get("id")
    if assoc_ref not in (None, ""):
        assoc = st.rubric_associations.get(parse_id(str(assoc_ref)))
        if assoc is None or assoc.workflow_state != "active" or assoc.context_id != course.id:
            raise not_found()
    elif raw_assoc.get("association_type") and raw_assoc.get("association_id") not in (None, ""):
        # RubricsController#update without an association id: RubricAssociation.generate ->
        # Rubric#associate_with finds this rubric's association with the object (for
        # "grading": the grading one) or builds a new one (which, for grading, is the trap).
        kind, target = _association_target(course, raw_assoc)
        purpose = str(raw_assoc.get("purpose") or "unknown")
        for candidate in rubrics.active_associations(st, rubric.id):
            if (candidate.association_type, candidate.association_id) == (kind, target) and (
                purpose != "grading" or candidate.purpose == "grading"
            ):
                assoc = candidate
                break
        if assoc is None:
            try:
                criteria = _criteria(raw["criteria"]) if raw.get("criteria") else None
                updated = rubrics.update_rubric(st, rubric, raw.get("title"), criteria, None)
            except ValidationFailed as err:
                return as_json(ser.rubric_error_json([err.message]))
            assoc = rubrics.associate(st, updated, kind, target, _association_input(raw_assoc))
            return as_json(ser.rubric_create_json(updated, assoc))
    try:
        criteria = _criteria(raw["criteria"]) if raw.get("criteria") else None
        updated = rubrics.update_rubric(st, rubric, raw.get("title"), criteria, assoc)
    except ValidationFailed as err:
        return as_json(ser.rubric_error_json([err.message]))
    if assoc is not None and raw_assoc:
        opts = _association_input({**ser.rubric_association_json(assoc), **raw_assoc})
        assoc.use_for_grading = opts.use_for_grading and not opts.hide_points
        assoc.hide_score_total = opts.hide_score_total
        assoc.hide_points = opts.hide_points
        assoc.hide_outcome_results = opts.hide_outcome_results
        if assoc.use_for_grading and assoc.association_type == "Assignment":
            st.assignments[assoc.association_id].points_possible = updated.points_possible
    return as_json(ser.rubric_create_json(updated, assoc))


@bp.post("/courses/<course_ref>/rubric_associations")
def create_association(course_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_grader(course)
    st = state()
    raw = obj(body_params().get("rubric_association"), "rubric_association")
    if raw.get("rubric_id") in (None, ""):
        raise bad_request("rubric_association[rubric_id] is missing")
    rubric = st.rubrics.get(parse_id(str(raw["rubric_id"])))
    if rubric is None or rubric.context_id != course.id:
        raise not_found()
    kind, target = _association_target(course, raw)
    assoc = rubrics.associate(st, rubric, kind, target, _association_input(raw))
    # RubricAssociationsController#create renders both (json_for_rubric_association).
    return as_json(ser.rubric_create_json(rubric, assoc))


# --- assessments (docs/canvas.md §3.11, §3.13) ------------------------------------------------


def _assess_rows(raw: Any) -> dict[str, rubrics.AssessInput]:
    rows: dict[str, rubrics.AssessInput] = {}
    if not isinstance(raw, dict):
        return rows
    for key, value in raw.items():
        if not isinstance(value, dict):
            continue
        crit = str(key).removeprefix("criterion_")
        try:
            number = _optional_number(value.get("points"), "points")
        except ValidationFailed:
            number = None  # Canvas treats unparsable points as no score
        rows[crit] = rubrics.AssessInput(
            number,
            str(value.get("comments") or ""),
            str(value["rating_id"]) if value.get("rating_id") else None,
        )
    return rows


@bp.put("/courses/<course_ref>/assignments/<assignment_ref>/submissions/<user_ref>")
def update_submission(course_ref: str, assignment_ref: str, user_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_grader(course)
    st = state()
    assignment = _assignment(course, assignment_ref)
    student = resolve_user(user_ref)
    if student is None or not st.is_student(course.id, student):
        raise not_found()
    params = body_params()
    assoc = rubrics.grading_association(st, assignment.id)
    raw = params.get("rubric_assessment")
    if raw is not None and assoc is not None:
        try:
            rubrics.assess(st, assoc, student, user_id(), _assess_rows(raw))
        except rubrics.InvalidAssessment:
            return as_json({"message": "invalid rubric_assessment"}, 400)
    submission = rubrics.submission_for(st, assignment.id, student)
    posted = obj(params.get("submission"), "submission").get("posted_grade")
    if posted not in (None, ""):
        try:
            submission.score = _number(posted, "posted_grade")
        except ValidationFailed:
            raise ApiError(400, {"error": f"invalid grade {posted!r}"}) from None
        submission.grade = str(posted)
        submission.workflow_state = "graded"
    # SubmissionsApiController#update: no rubric_assessment (GET with include[] shows it),
    # and the student's submissions as "all_submissions".
    body = ser.submission_json(submission, base_url(), course.id)
    body["all_submissions"] = [ser.submission_json(submission, base_url(), course.id)]
    return as_json(body)


@bp.get("/courses/<course_ref>/assignments/<assignment_ref>/submissions/<user_ref>")
def show_submission(course_ref: str, assignment_ref: str, user_ref: str) -> Response:
    course = course_or_404(course_ref)
    require_course_member(course)
    st = state()
    assignment = _assignment(course, assignment_ref)
    student = resolve_user(user_ref)
    if student is None or not st.is_student(course.id, student):
        raise not_found()
    if student != user_id() and not st.can_manage_grades(course.id, user_id()):
        raise unauthorized()
    submission = rubrics.submission_for(st, assignment.id, student)
    assessment = None
    if "rubric_assessment" in (arg_list("include") or []):
        assoc = rubrics.grading_association(st, assignment.id)
        if assoc is not None:
            assessment = rubrics.assessment_for(st, assoc.id, student)
    return as_json(ser.submission_json(submission, base_url(), course.id, assessment))


@bp.post("/courses/<course_ref>/assignments/<assignment_ref>/submissions/update_grades")
def update_grades(course_ref: str, assignment_ref: str) -> Response:
    course = course_or_404(course_ref)
    st = state()
    assignment = _assignment(course, assignment_ref)
    grade_data = body_params().get("grade_data")
    if not isinstance(grade_data, dict) or not grade_data:
        return as_json("'grade_data' parameter required", 400)
    if not assignment.published or not st.can_manage_grades(course.id, user_id()):
        raise unauthorized()
    progress = _new_progress(course)
    queued = ser.progress_json(progress, base_url())
    # The "job" runs right away; the reply still shows the queued Progress, as Canvas's does.
    _finish(progress, _run_bulk(course, assignment, grade_data, progress))
    return as_json(queued)


@bp.post("/courses/<course_ref>/submissions/update_grades")
def update_grades_multi(course_ref: str) -> Response:
    """The multi-assignment form: ``grade_data[<assignment_id>][<student_id>][...]``."""
    course = course_or_404(course_ref)
    st = state()
    grade_data = body_params().get("grade_data")
    if not isinstance(grade_data, dict) or not grade_data:
        return as_json("'grade_data' parameter required", 400)
    assignments = [_assignment(course, str(aid)) for aid in grade_data]
    if not all(a.published for a in assignments) or not st.can_manage_grades(course.id, user_id()):
        raise unauthorized()
    progress = _new_progress(course)
    queued = ser.progress_json(progress, base_url())
    missing: list[str] = []
    for assignment in assignments:
        per_student = grade_data[str(assignment.id)]
        if isinstance(per_student, dict):
            missing += _run_bulk(course, assignment, per_student, progress)
    _finish(progress, missing)
    return as_json(queued)


def _new_progress(course: Course) -> Progress:
    st = state()
    now = st.now()
    progress = Progress(
        st.next_id("progress", 1),
        "Course",
        course.id,
        user_id(),
        "submissions_update",
        created_at=now,
        updated_at=now,
    )
    st.progresses[progress.id] = progress
    return progress


def _finish(progress: Progress, missing: list[str]) -> None:
    """``Submission.process_bulk_update`` ends by failing the Progress when some ids were not
    found; the students it did find stay graded."""
    progress.updated_at = state().now()
    if missing:
        progress.workflow_state = "failed"
        quoted = ", ".join(f"'{key}'" for key in missing)
        progress.message = f"Couldn't find User(s) with API ids {quoted}"
        return
    progress.workflow_state = "completed"
    progress.completion = 100.0


def _run_bulk(
    course: Course,
    assignment: Assignment,
    grade_data: dict[str, Any],
    progress: Progress,
) -> list[str]:
    """Grade every student of ``grade_data`` that is in the course; return the others' keys."""
    st = state()
    missing: list[str] = []
    assoc = rubrics.grading_association(st, assignment.id)
    for key, data in grade_data.items():
        uid = resolve_user(str(key))
        if uid is None or not st.is_student(course.id, uid):
            missing.append(str(key))
            continue
        if not isinstance(data, dict):
            continue
        if assoc is not None and isinstance(data.get("rubric_assessment"), dict):
            rubrics.assess(
                st,
                assoc,
                uid,
                progress.user_id,
                _assess_rows(data["rubric_assessment"]),
                strict=False,
            )
        if data.get("posted_grade") not in (None, ""):
            submission = rubrics.submission_for(st, assignment.id, uid)
            try:
                submission.score = _number(data["posted_grade"], "posted_grade")
            except ValidationFailed:
                submission.score = None
            submission.grade = str(data["posted_grade"])
            submission.workflow_state = "graded"
    return missing


@bp.get("/progress/<progress_ref>")
def show_progress(progress_ref: str) -> Response:
    st = state()
    progress = st.progresses.get(parse_id(progress_ref))
    if progress is None:
        raise not_found()
    course = st.courses.get(progress.context_id)
    if progress.user_id != user_id() and not (
        course is not None and st.can_manage_grades(course.id, user_id())
    ):
        raise unauthorized()
    return as_json(ser.progress_json(progress, base_url()))
