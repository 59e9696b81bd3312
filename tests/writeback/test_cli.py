"""The operators' CLI against the Canvas sandbox: observations imported from a CSV reach Canvas
through ``writeback deliver``; ``writeback status`` says where each item is and why."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result
from sqlalchemy import delete

from lti_app.canvas.client.tokens import exchange_code
from lti_app.db import session_scope
from lti_app.grading.course_mastery import evidence_of, load, tool_evidence
from lti_app.models.canvas import CanvasApiToken
from lti_app.policies.store import effective_policy
from tests.writeback.harness import World, sync, world

HEADER = "canvas_user_id,canvas_outcome_id,level,note,observed_on\n"


def cli(w: World, *args: str, env: dict[str, str] | None = None) -> Result:
    return w.app.test_cli_runner().invoke(args=list(args), env=env)


def import_csv(w: World, tmp: Path, text: str) -> Result:
    path = tmp / "scores.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return cli(w, "evidence", "import", "--course-id", w.course, "--file", str(path))


def test_imported_observations_reach_canvas_and_count_once_after_a_sync(
    backend_url: str, tmp_path: Path
) -> None:
    with world(backend_url) as w:
        a, b = w.students[0], w.students[1]
        rl = w.outcomes[0]
        before = w.canvas_results()
        result = import_csv(w, tmp_path, f"{a},{rl},3,Lab,\n{b},{rl},2.5,,\n")
        assert result.exit_code == 0, result.output
        assert "Imported 2 observations" in result.output
        assert "No teacher" not in result.output  # the teacher who synced is connected

        status = cli(w, "writeback", "status", "--course-id", w.course, "--format", "json")
        doc = json.loads(status.output)
        assert doc["counts"] == {"delivered": 0, "pending": 2, "failed": 0}
        assert {(i["source"], i["status"], i["canvas_user_id"]) for i in doc["items"]} == {
            ("observation", "pending", a),
            ("observation", "pending", b),
        }

        result = cli(w, "writeback", "deliver", "--course-id", w.course)
        assert result.exit_code == 0, result.output
        assert "Of 2 due: delivered 2, waiting to retry 0, failed 0" in result.output
        assert "delivered 2, pending 0, failed 0" in result.output
        [carrier] = w.carriers()
        aid = int(carrier.canvas_assignment_id or 0)
        new = {k: v[0] for k, v in w.canvas_results().items() if k not in before}
        assert new == {(int(a), int(rl), aid): 3.0, (int(b), int(rl), aid): 2.5}

        text = cli(w, "writeback", "status", "--course-id", w.course).output
        assert f"delivered observation student {a} target {rl} level 3 " in text
        assert "Nothing due" in cli(w, "writeback", "deliver", "--course-id", w.course).output

        # After the next sync Canvas's copy is the tool's own: counted once, not twice.
        sync(w.app, w.platform_id, w.course, w.teacher)
        with w.app.app_context(), session_scope(w.app) as db:
            data = load(db, w.platform_id, w.course)
            eff = effective_policy(db, w.platform_id, w.course)
            canvas = evidence_of(data.results, eff.mapping).get((a, rl), [])
            tool = tool_evidence(db, w.platform_id, w.course).get((a, rl), [])
            assert sum(r.from_carrier for r in data.results if r.canvas_user_id == a) == 1
            assert [e.kind.value for e in tool] == ["observation"]
            assert len(canvas) == sum(1 for k in before if k[:2] == (int(a), int(rl)))


def test_deliver_uses_a_given_token_and_says_what_failed(tmp_path: Path) -> None:
    from canvas_sandbox.tokens import issue_code

    with world() as w:
        ids = w.sb.ids
        redirect = w.sb.config.api_redirect_uri
        code = issue_code(w.sb.state, ids.api_client_id, ids.teacher, redirect, [])
        given = exchange_code(w.sb.url, ids.api_client_id, ids.api_client_secret, redirect, code)
        a, rl, ri, rw = w.students[0], w.outcomes[0], w.outcomes[1], w.outcomes[2]
        deliver = ("writeback", "deliver", "--course-id", w.course)

        # A token Canvas refuses: the given token is what is used (the stored one would work).
        assert import_csv(w, tmp_path, f"{a},{rl},3,,\n").exit_code == 0
        result = cli(w, *deliver, env={"CANVAS_TOKEN": "not-a-canvas-token"})
        assert result.exit_code == 1
        assert "Of 1 due: delivered 0, waiting to retry 0, failed 1" in result.output
        assert "Some results are not in Canvas" in result.output
        assert "not-a-canvas-token" not in result.output
        doc = json.loads(
            cli(w, "writeback", "status", "--course-id", w.course, "--format", "json").output
        )
        [item] = doc["items"]
        assert (item["status"], item["source"]) == ("failed", "observation")
        assert item["reason"].startswith("Canvas no longer accepts your connection")

        assert import_csv(w, tmp_path, f"{a},{ri},2,,\n").exit_code == 0
        result = cli(w, *deliver, "--token", given.access_token)
        assert result.exit_code == 0, result.output
        assert "Of 1 due: delivered 1, waiting to retry 0, failed 0" in result.output
        assert given.access_token not in result.output
        assert any(
            k[:2] == (int(a), int(ri)) and v[0] == 2.0 for k, v in w.canvas_results().items()
        )

        # Nobody connected and no token: failed at once, with the reason.
        with w.app.app_context(), session_scope(w.app) as db:
            db.execute(delete(CanvasApiToken))
        result = import_csv(w, tmp_path, f"{a},{rw},1,,\n")
        assert "No teacher of this course is connected to Canvas" in result.output
        result = cli(w, *deliver)
        assert result.exit_code == 1 and "failed 1" in result.output
        text = cli(w, "writeback", "status", "--course-id", w.course).output
        assert "No teacher who scored these is connected to Canvas." in text

        # Nobody connected, but an operator's token: it writes without a stored connection.
        rs = w.outcomes[3]
        assert import_csv(w, tmp_path, f"{a},{rs},4,,\n").exit_code == 0
        result = cli(w, *deliver, "--token", given.access_token)
        assert "delivered 1" in result.output, result.output
        assert any(
            k[:2] == (int(a), int(rs)) and v[0] == 4.0 for k, v in w.canvas_results().items()
        )
