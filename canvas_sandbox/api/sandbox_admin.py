"""``/_sandbox``: knobs, reset, stats, ids, test tokens and synthetic courses.

For tests, benchmarks and the demo only; none of this is Canvas API.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, current_app, request

from canvas_sandbox import rubrics
from canvas_sandbox.api.common import as_json, config, state
from canvas_sandbox.generator import second_district, synthetic_course
from canvas_sandbox.tokens import mint_token

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")


@bp.get("/knobs")
def get_knobs() -> Response:
    return as_json(config().as_dict())


@bp.post("/knobs")
def set_knobs() -> Response:
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        return as_json({"errors": [{"message": "send a JSON object of knobs"}]}, 400)
    cfg = config()
    unknown = cfg.update(changes)
    if unknown:
        return as_json({"errors": [{"message": f"unknown knobs: {', '.join(unknown)}"}]}, 400)
    runtime = current_app.extensions["sandbox_runtime"]
    runtime.force_apply()
    return as_json(cfg.as_dict())


@bp.post("/reset")
def reset() -> Response:
    runtime = current_app.extensions["sandbox_runtime"]
    ids = runtime.reset()
    return as_json({"reset": True, "ids": ids})


@bp.get("/stats")
def stats() -> Response:
    return as_json(current_app.extensions["sandbox_runtime"].stats.snapshot())


@bp.post("/stats/reset")
def reset_stats() -> Response:
    current_app.extensions["sandbox_runtime"].stats.reset()
    return as_json({"reset": True})


@bp.get("/ids")
def ids() -> Response:
    """The seeded ``DemoIds`` (for a sandbox running in another process)."""
    demo = current_app.extensions.get("sandbox_ids")
    return as_json(dataclasses.asdict(demo) if demo is not None else None)


@bp.post("/tokens")
def tokens_for_tests() -> Response:
    """Mint a manually generated API token for a user: ``{"user_id": 102, "ttl": 3600}``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("user_id"), int):
        return as_json({"errors": [{"message": 'send {"user_id": <int>}'}]}, 400)
    ttl = body.get("ttl", 3600)
    if ttl is not None and not isinstance(ttl, int):
        return as_json({"errors": [{"message": "ttl must be an integer or null"}]}, 400)
    try:
        token = mint_token(state(), body["user_id"], ttl=ttl)
    except KeyError:
        return as_json({"errors": [{"message": "no such user"}]}, 404)
    return as_json({"access_token": token, "token_type": "Bearer", "expires_in": ttl})


@bp.post("/generate")
def generate() -> Response:
    """Add a synthetic course: ``{"students": 35, "outcomes": 40, "results_per_pair": 6}``
    (``"new_quiz": true`` adds a New Quiz; ``"district": "new"`` makes a second district with
    the mastery scales flag off instead)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return as_json({"errors": [{"message": "send a JSON object"}]}, 400)
    try:
        sizes = {
            name: int(body.get(name, default))
            for name, default in (
                ("students", 35),
                ("outcomes", 40),
                ("results_per_pair", 6),
                ("sections", 2),
                ("seed", 1),
            )
        }
    except (TypeError, ValueError):
        return as_json({"errors": [{"message": "sizes must be integers"}]}, 400)
    if not (
        1 <= sizes["students"] <= 5000
        and 1 <= sizes["outcomes"] <= 500
        and 1 <= sizes["results_per_pair"] <= 50
        and 1 <= sizes["sections"] <= 50
    ):
        return as_json({"errors": [{"message": "sizes out of range"}]}, 400)
    if body.get("district") == "new":  # a second root account, mastery scales flag off
        return as_json(
            dataclasses.asdict(
                second_district(state(), seed=sizes["seed"], students=sizes["students"])
            )
        )
    made = synthetic_course(
        state(),
        sizes["students"],
        sizes["outcomes"],
        sizes["results_per_pair"],
        sections=sizes["sections"],
        seed=sizes["seed"],
        new_quiz=body.get("new_quiz") is True,
    )
    return as_json(dataclasses.asdict(made))


@bp.post("/courses/<int:course_id>/post_policy")
def set_post_policy(course_id: int) -> Response:
    """The course's post policy (Canvas: GraphQL ``setCoursePostPolicy``), applied to its
    assignments too: ``{"post_manually": true}``."""
    body = request.get_json(silent=True)
    st = state()
    course = st.courses.get(course_id)
    if course is None:
        return as_json({"errors": [{"message": "no such course"}]}, 404)
    if not isinstance(body, dict) or not isinstance(body.get("post_manually"), bool):
        return as_json({"errors": [{"message": 'send {"post_manually": <bool>}'}]}, 400)
    with st.lock:
        course.post_manually = body["post_manually"]
        for assignment in st.assignments.values():
            if assignment.course_id == course_id:
                assignment.post_manually = course.post_manually
        st.result_generation += 1
    return as_json({"course_id": course_id, "post_manually": course.post_manually})


@bp.post("/assignments/<int:assignment_id>/post")
def post_grades(assignment_id: int) -> Response:
    """Post an assignment's grades (Canvas: GraphQL ``postAssignmentGrades``)."""
    st = state()
    assignment = st.assignments.get(assignment_id)
    if assignment is None:
        return as_json({"errors": [{"message": "no such assignment"}]}, 404)
    return as_json({"posted": rubrics.post_submissions(st, assignment)})
