"""Write-back under what Canvas and teachers change, against the sandbox with its real-Canvas
behaviours: a scoped API key that drops include[] (adopting a rubric still works), a bulk
grading job that fails for students it cannot find (they fail alone), a failure that costs an
attempt only to the items of the failing request, students' own view in a manual-post course
(carriers are ``not_graded``), and carriers Canvas or a teacher changed (rubric rewritten,
unpublished, renamed, deleted): repaired in place, never a second grading association, with
the reason on Sent to Canvas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from lti_app.canvas.client.client import CanvasClient
from lti_app.canvas.client.errors import CanvasUnavailable
from lti_app.db import session_scope
from lti_app.models.writeback import DELIVERED, FAILED, PENDING
from lti_app.sync.views import SCOPES
from lti_app.writeback import outbox
from tests.writeback.harness import World, world
from tests.writeback.test_faults import WorkerDied, die
from tests.writeback.test_invariants import (
    BULK_GRADES,
    CREATE_ASSIGNMENT,
    CREATE_RUBRIC,
    UPDATE_RUBRIC,
    assert_delivered_exactly,
    carrier_of_round,
    grading_associations,
    hooked_client_for,
    make_due_now,
    seeded,
    writes,
)


def api(w: World, method: str, path: str, user: int, **kw: Any) -> requests.Response:
    """A request to the sandbox's REST API with a token of ``user`` (a teacher in Canvas)."""
    headers = {"Authorization": f"Bearer {w.sb.token(user)}"}
    return requests.request(method, f"{w.sb.url}{path}", headers=headers, timeout=10, **kw)


def repairs(w: World) -> list[tuple[str, str]]:
    with session_scope(w.app) as db:
        return outbox.carrier_repairs(db, w.platform_id, w.course)


def failing_first(w: World, name: str) -> Callable[[str], CanvasClient]:
    """The tool's client whose first ``name`` call fails before anything reaches Canvas."""
    base = hooked_client_for(w)
    failed: list[bool] = []

    def make(teacher: str) -> CanvasClient:
        client = base(teacher)
        real = getattr(client, name)

        def once(*args: Any, **kwargs: Any) -> Any:
            if not failed:
                failed.append(True)
                raise CanvasUnavailable(f"Canvas failed {name}; try again later.", status=502)
            return real(*args, **kwargs)

        setattr(client, name, once)
        return client

    return make


# --- 6. a scoped API key that drops include[] -------------------------------------------------


def scope_the_teachers_token(w: World) -> None:
    """The district's API key enforces the tool's scopes and does not allow include[]."""
    state = w.sb.state
    with state.lock:
        for token in state.access_tokens.values():
            if token.user_id == int(w.teacher):
                token.scopes = list(SCOPES)
                key = state.api_keys.get(token.developer_key_id or -1)
                if key is not None:
                    key.scopes, key.allow_includes = list(SCOPES), False


def test_a_rubric_created_before_a_crash_is_adopted_on_a_scoped_key_without_include(
    backend_url: str,
) -> None:
    with world(backend_url) as w:
        before = seeded(w)
        # The world's sync asked for the root account's features, which a teacher may not read
        # (a permission 401, not a scope one): count only what delivery adds.
        refused = w.sb.stats()["by_status"].get("401", 0)
        scope_the_teachers_token(w)
        w.score(w.students[0], w.outcomes[0], "3")
        w.score(w.students[1], w.outcomes[1], "2")
        made: list[CanvasClient] = []
        with pytest.raises(WorkerDied):
            w.deliver(client_for=hooked_client_for(w, {"create_rubric": die}, made=made))
        [carrier] = w.carriers()
        assert carrier.rubric_association_id is None and carrier.canvas_assignment_id
        # On this key the association cannot be listed (include[] is dropped).
        with made[0] as client:
            rubric = client.assignment(w.course, carrier.canvas_assignment_id).rubric_settings
            assert rubric is not None
            assert client.rubric_associations(w.course, str(rubric["id"])) == ()

        assert w.deliver().delivered == 2
        assert writes(w)[CREATE_RUBRIC] == 1  # adopted, never POSTed again
        [carrier] = w.carriers()
        assoc = grading_associations(w, int(carrier.canvas_assignment_id or 0))
        assert [str(a) for a in assoc] == [carrier.rubric_association_id]
        # every delivery call within the scopes
        assert w.sb.stats()["by_status"].get("401", 0) == refused
        assert_delivered_exactly(w, before)


# --- 4. failures are per student ----------------------------------------------------------------


def test_a_student_canvas_cannot_find_in_the_bulk_job_fails_alone(backend_url: str) -> None:
    with world(backend_url) as w:
        stays, leaves, also = w.students[7], w.students[8], w.students[9]
        for s in (stays, leaves, also):
            w.score(s, w.outcomes[0], "3")
        state = w.sb.state

        def drop(_result: Any) -> None:  # the student leaves after the tool read the roster
            with state.lock:
                for e in state.enrollments.values():
                    if e.course_id == int(w.course) and e.user_id == int(leaves):
                        e.workflow_state = "deleted"

        report = w.deliver(client_for=hooked_client_for(w, {"create_rubric": drop}))
        assert writes(w)[BULK_GRADES] == 1
        progress = max(state.progresses.values(), key=lambda p: p.id)
        assert progress.workflow_state == "failed"
        assert progress.message == f"Couldn't find User(s) with API ids '{leaves}'"
        by_user = {i.canvas_user_id: i for i in w.items()}
        assert (by_user[leaves].status, by_user[leaves].attempts) == (FAILED, 1)
        assert "no longer in the course or not assigned" in (by_user[leaves].last_error or "")
        for s in (stays, also):  # graded by the same job, verified by reading back
            assert (by_user[s].status, by_user[s].attempts) == (DELIVERED, 0)
        assert report.delivered == 2 and report.passes[0].failed == 1
        carrier = carrier_of_round(w, 1)
        held = w.canvas_results()
        assert (int(leaves), int(w.outcomes[0]), carrier) not in held
        assert held[(int(stays), int(w.outcomes[0]), carrier)][0] == 3.0


def test_a_failed_request_costs_an_attempt_only_to_its_own_items() -> None:
    with world(writeback_retry_seconds=60) as w:
        first, second = w.students[10], w.students[11]
        t1, t2 = w.outcomes[0], w.outcomes[1]
        # Each student twice on one target: round 1 (one bulk job), then round 2.
        for s, t in ((first, t1), (second, t2), (first, t1), (second, t2)):
            w.score(s, t, "2")
        w.deliver(client_for=failing_first(w, "update_grades"))
        items = w.items()
        round1 = [i for i in items if i.round == 1]
        round2 = [i for i in items if i.round == 2]
        assert {(i.status, i.attempts) for i in round1} == {(PENDING, 1)}
        assert {(i.status, i.attempts, i.last_error) for i in round2} == {(PENDING, 0, None)}
        assert writes(w)[BULK_GRADES] == 0  # nothing reached Canvas, nothing was written

        make_due_now(w)
        assert w.deliver().delivered == 4
        assert {(i.status, i.attempts) for i in w.items() if i.round == 2} == {(DELIVERED, 0)}
        # The second demonstrations came after the first ones, on the next carrier.
        held = w.canvas_results()
        one, two = carrier_of_round(w, 1), carrier_of_round(w, 2)
        assert {k[2] for k in held if k[0] in (int(first), int(second)) and k[2] in (one, two)} == {
            one,
            two,
        }


# --- 2. students see the result in a manual-post course ----------------------------------------


def own_results(w: World, student: str) -> dict[int, float]:
    """The student's own outcome_results (their own token): assignment id -> score."""
    resp = requests.get(
        f"{w.sb.url}/api/v1/courses/{w.course}/outcome_results",
        params={"user_ids[]": student, "per_page": "100"},
        headers={"Authorization": f"Bearer {w.sb.token(int(student))}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return {
        int(r["links"]["assignment"].removeprefix("assignment_")): r["score"]
        for r in resp.json()["outcome_results"]
    }


def test_a_student_sees_the_carrier_result_in_a_course_whose_post_policy_is_manual() -> None:
    with world() as w:
        student = w.students[12]
        resp = requests.post(
            f"{w.sb.url}/_sandbox/courses/{w.course}/post_policy",
            json={"post_manually": True},
            timeout=10,
        )
        assert resp.status_code == 200
        w.score(student, w.outcomes[0], "3")
        assert w.deliver().delivered == 1
        carrier = carrier_of_round(w, 1)
        assert w.sb.state.assignments[carrier].grading_type == "not_graded"
        assert w.sb.state.assignments[carrier].post_manually  # the course's manual policy
        assert own_results(w, student)[carrier] == 3.0

        # The same rubric result on a graded assignment stays hidden from the student until
        # its submission is posted (so the policy above is really in force).
        graded = api(
            w,
            "PUT",
            f"/api/v1/courses/{w.course}/assignments/{carrier}",
            int(w.teacher),
            json={"assignment": {"grading_type": "points"}},
        )
        assert graded.status_code == 200
        assert carrier not in own_results(w, student)

        # The tool turns a carrier that is not not_graded back (an older carrier, or edited).
        w.score(w.students[13], w.outcomes[0], "2")
        assert w.deliver().delivered == 1
        assert w.sb.state.assignments[carrier].grading_type == "not_graded"
        assert own_results(w, student)[carrier] == 3.0
        assert own_results(w, w.students[13])[carrier] == 2.0


# --- 3. carriers Canvas or a teacher changed ----------------------------------------------------


def test_a_rubric_canvas_rewrote_is_put_back_in_place_before_writing(backend_url: str) -> None:
    with world(backend_url) as w:
        before = seeded(w)
        w.score(w.students[14], w.outcomes[0], "3")
        with pytest.raises(WorkerDied):  # the carrier's rubric exists, still unassessed
            w.deliver(client_for=hooked_client_for(w, {"create_rubric": die}))
        ids = w.sb.ids
        # The admin edits the district's mastery scale: Canvas rewrites unassessed rubrics.
        changed = api(
            w,
            "POST",
            f"/api/v1/accounts/{ids.account}/outcome_proficiency",
            ids.admin,
            json={
                "ratings": [
                    {"description": "Edited high", "points": 3, "mastery": True, "color": "00aa00"},
                    {"description": "Edited low", "points": 1, "mastery": False, "color": "aa0000"},
                ]
            },
        )
        assert changed.status_code == 200
        [carrier] = w.carriers()
        assert carrier.rubric_id is None  # the tool never learned the rubric's id

        def ratings() -> set[str]:
            state = w.sb.state
            [assoc] = grading_associations(w, int(carrier.canvas_assignment_id or 0))
            rubric = state.rubrics[state.rubric_associations[assoc].rubric_id]
            return {r.description for c in rubric.criteria for r in c.ratings}

        assert ratings() == {"Edited high", "Edited low"}

        assert w.deliver().delivered == 1
        sent = writes(w)
        assert sent[CREATE_RUBRIC] == 1 and sent[UPDATE_RUBRIC] >= 1  # in place
        assert len(grading_associations(w, int(carrier.canvas_assignment_id or 0))) == 1
        assert not ratings() & {"Edited high", "Edited low"}
        assert any("rubric" in note for _, note in repairs(w))
        assert_delivered_exactly(w, before)


@pytest.mark.parametrize("change", ["unpublished", "renamed"])
def test_a_carrier_a_teacher_unpublished_or_renamed_is_adopted_and_repaired(change: str) -> None:
    with world() as w:
        before = seeded(w)
        w.score(w.students[15], w.outcomes[0], "3")
        w.score(w.students[16], w.outcomes[0], "2")
        assert w.deliver().delivered == 2
        carrier = carrier_of_round(w, 1)
        fields = {"published": False} if change == "unpublished" else {"name": "Old evidence"}
        resp = api(
            w,
            "PUT",
            f"/api/v1/courses/{w.course}/assignments/{carrier}",
            int(w.teacher),
            json={"assignment": fields},
        )
        assert resp.status_code == 200
        w.score(w.students[15], w.outcomes[1], "4")
        w.score(w.students[16], w.outcomes[1], "1")
        assert w.deliver().delivered == 2
        assert writes(w)[CREATE_ASSIGNMENT] == 1  # the same carrier, adopted
        assignment = w.sb.state.assignments[carrier]
        assert assignment.published
        [(name, note)] = repairs(w)
        if change == "renamed":
            assert assignment.name == name == "Old evidence" and "renamed" in note
        else:
            assert "unpublished" in note
        assert_delivered_exactly(w, before)


def test_a_carrier_a_teacher_deleted_is_created_again_and_its_results_sent_again() -> None:
    with world() as w:
        before = seeded(w)
        w.score(w.students[17], w.outcomes[0], "3")
        w.score(w.students[18], w.outcomes[0], "2")
        assert w.deliver().delivered == 2
        gone = carrier_of_round(w, 1)
        resp = api(w, "DELETE", f"/api/v1/courses/{w.course}/assignments/{gone}", int(w.teacher))
        assert resp.status_code == 200
        assert not [k for k in w.canvas_results() if k[2] == gone and k in before.results]

        w.score(w.students[17], w.outcomes[1], "4")
        report = w.deliver()
        assert report.delivered == 3  # the new one and the two the deletion took
        again = carrier_of_round(w, 1)
        assert again != gone and writes(w)[CREATE_ASSIGNMENT] == 2
        [(_, note)] = repairs(w)
        assert "deleted" in note
        assert_delivered_exactly(w, before)
