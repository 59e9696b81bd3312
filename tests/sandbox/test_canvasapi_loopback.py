"""The sandbox driven by canvasapi (ucfopen/canvasapi) over loopback: a real Canvas client
lists, pages, creates rubrics and associations, grades with rubric assessments and follows a
Progress. The server's configured name is ``localhost``; every URL it hands back must stay on
the ``127.0.0.1`` the client used (Link, Progress ``url``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from canvasapi import Canvas
from werkzeug.serving import make_server

from canvas_sandbox.app import create_sandbox
from canvas_sandbox.config import SandboxConfig
from canvas_sandbox.seed import DemoIds
from canvas_sandbox.state import SandboxState
from canvas_sandbox.tokens import mint_token


@pytest.fixture
def served() -> Iterator[tuple[str, SandboxState, DemoIds]]:
    config = SandboxConfig(base_url="http://localhost:1")  # not what the client uses
    app = create_sandbox(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield (
            f"http://127.0.0.1:{server.server_port}",
            app.extensions["sandbox_state"],
            app.extensions["sandbox_ids"],
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)


# The sandbox serves plain HTTP on loopback; canvasapi warns about any http:// base URL.
@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")
def test_canvasapi_end_to_end(served: tuple[str, SandboxState, DemoIds]) -> None:
    base, state, ids = served
    canvas = Canvas(base, mint_token(state, ids.teacher))
    course = canvas.get_course(ids.ela_course)
    # get_users calls the compatibility route search_users; pages follow Link from 127.0.0.1.
    students = list(course.get_users(enrollment_type=["student"], per_page=7))
    assert {u.id for u in students} == set(ids.students)
    results = list(course.get_outcome_results(per_page=50))
    assert len(results) > 100  # several numbered pages
    assert any(r.id is None for r in results)  # the New Quiz's Outcomes Service results
    assignment = course.create_assignment({"name": "canvasapi carrier", "published": True})
    created = course.create_rubric(
        rubric={
            "title": "canvasapi rubric",
            "criteria": {
                "0": {
                    "learning_outcome_id": ids.ela_outcomes["RL.7.1"],
                    "ratings": {"0": {"description": "Yes", "points": 4}, "1": {"points": 1}},
                }
            },
        },
        rubric_association={
            "association_type": "Assignment",
            "association_id": assignment.id,
            "purpose": "grading",
            "use_for_grading": True,
        },
    )
    rubric = created["rubric"]
    criterion = rubric.data[0]["id"]
    other = course.create_assignment({"name": "canvasapi second", "published": True})
    association = course.create_rubric_association(
        rubric_association={
            "rubric_id": rubric.id,
            "association_type": "Assignment",
            "association_id": other.id,
            "purpose": "grading",
        }
    )
    # Canvas answers {rubric, rubric_association}: canvasapi keeps both as attributes.
    assert association.rubric_association["association_id"] == other.id
    assert association.rubric["id"] == rubric.id
    submission = assignment.get_submission(ids.students[0])
    submission.edit(rubric_assessment={criterion: {"points": 4}})
    progress = assignment.submissions_bulk_update(
        grade_data={str(ids.students[1]): {"rubric_assessment": {criterion: {"points": 1}}}}
    )
    assert progress.url.startswith(base)
    deadline = time.monotonic() + 10
    for _ in range(50):
        if progress.workflow_state in ("completed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
        progress = progress.query()
    assert progress.workflow_state == "completed"
    written: dict[int, float] = {}
    for _ in range(50):  # results come from a delayed job: poll, bounded
        written = {
            int(r.links["user"]): r.score
            for r in course.get_outcome_results(user_ids=ids.students[:2], per_page=100)
            if r.links["alignment"] == f"assignment_{assignment.id}"
        }
        if len(written) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert written == {ids.students[0]: 4.0, ids.students[1]: 1.0}
