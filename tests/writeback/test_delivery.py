"""Write-back end to end against the Canvas sandbox: carriers, rounds, verification, and the
invariants (nothing destroyed, nothing duplicated, nothing re-sent)."""

from __future__ import annotations

from tests.writeback.harness import world


def test_scored_demonstrations_become_canvas_results_on_round_carriers() -> None:
    with world() as w:
        a, b = w.students[0], w.students[1]
        rl, ri = w.outcomes[0], w.outcomes[1]
        before = w.canvas_results()
        w.score(a, rl, "3")
        w.score(a, ri, "2.5")
        w.score(b, rl, "4")
        report = w.deliver()
        assert report.delivered == 3, report
        [carrier] = w.carriers()
        assert carrier.round == 1 and carrier.canvas_assignment_id is not None
        aid = int(carrier.canvas_assignment_id)
        after = w.canvas_results()
        new = {k: v[0] for k, v in after.items() if k not in before}
        assert new == {
            (int(a), int(rl), aid): 3.0,
            (int(a), int(ri), aid): 2.5,
            (int(b), int(rl), aid): 4.0,
        }
        assert {k: v for k, v in after.items() if k in before} == before  # nothing changed
        assert all(i.status == "delivered" for i in w.items())

        # A second demonstration of the same target lands on round 2: the first stays.
        w.score(a, rl, "4")
        assert w.deliver().delivered == 1
        assert [c.round for c in w.carriers()] == [1, 2]
        second = int(w.carriers()[1].canvas_assignment_id or 0)
        final = w.canvas_results()
        assert final[(int(a), int(rl), aid)][0] == 3.0
        assert final[(int(a), int(rl), second)][0] == 4.0
        assert w.trap_fired() == 0

        # Nothing due: nothing sent.
        stats = w.sb.stats()["total"]
        assert w.deliver().requests == 0
        assert w.sb.stats()["total"] == stats
