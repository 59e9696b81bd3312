"""The "as Canvas computes it" basis: the tool's own evidence as Canvas points that read back as
its level, on any Canvas scale; the method on the points; the aggregate mapped (docs/canvas.md
§2.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_app.mastery.calculation import Evidence, Method, Policy, SourceKind
from lti_app.mastery.canvas_basis import canvas_basis_level, canvas_basis_quick, level_points
from lti_app.mastery.canvas_rollup import CanvasScoring, ScoredResult
from lti_app.mastery.mapping import PercentMapping, PercentThreshold
from lti_app.mastery.scales import list_presets, load_preset

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def linear(preset: str) -> PercentMapping:
    scale = load_preset(preset)
    top = scale.max_value
    return PercentMapping(
        tuple(PercentThreshold(lv.value / top * 100, lv.value) for lv in scale.levels), top
    )


@pytest.mark.parametrize("preset", list_presets())
@pytest.mark.parametrize("points", [4.0, 5.0, 3.0, 10.0, 0.0])
def test_every_level_reads_back_from_its_canvas_points(preset: str, points: float) -> None:
    mapping = linear(preset)
    scoring = CanvasScoring("latest", None, points, 3.0 if points else 2.0)
    top = points or scoring.mastery_points
    for level in mapping.level_values:
        assert mapping.to_level(level_points(level, mapping, scoring), top) == level


def test_the_issues_example_and_a_demonstration_joining_it() -> None:
    mapping = linear("marzano_0_4_half")
    scoring = CanvasScoring("decaying_average", 65, 4.0, 3.0)
    canvas = [
        ("canvas:1", ScoredResult(7.0, 10.0, 0.7, T0)),
        ("canvas:2", ScoredResult(9.0, 10.0, 0.9, T0 + timedelta(days=7))),
    ]
    policy = Policy(Method.DECAYING_AVERAGE, 65)
    got = canvas_basis_level(canvas, [], scoring, policy, mapping)
    assert (got.points, got.result.value, got.first_level) == (3.32, 3.0, 2.5)
    assert got.result.explanation.endswith("; on Canvas's 0-4 scale, 3.32 is level 3")
    assert "0.65 × 3.6 + 0.35 × 2.8 = 3.32" in got.result.explanation
    # A demonstration scored at level 4 a week later: 4 points, newest.
    demo = Evidence(4.0, T0 + timedelta(days=14), SourceKind.DEMONSTRATION, id="demo:1")
    joined = canvas_basis_level(canvas, [demo], scoring, policy, mapping)
    assert joined.points == 3.72  # 0.65 x 4 + 0.35 x mean(2.8, 3.6) = 2.6 + 1.12
    assert joined.result.value == 3.5
    assert joined.result.used_evidence_ids == ("canvas:1", "canvas:2", "demo:1")


def test_a_deciding_override_reads_back_as_its_level() -> None:
    mapping = linear("marzano_0_4_half")
    scoring = CanvasScoring("highest", None, 5.0, 3.0)
    override = Evidence(
        2.5, T0 + timedelta(days=3), SourceKind.OVERRIDE, reason="conference", id="ov:1"
    )
    got = canvas_basis_level(
        [("canvas:1", ScoredResult(5.0, 5.0, 1.0, T0))], [override], scoring, Policy(), mapping
    )
    assert got.result.overridden and got.result.value == 2.5


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1).map(lambda p: round(p, 3)) | st.none(),
            st.integers(0, 5) | st.none(),
            st.booleans(),
        ),
        max_size=8,
    ),
    st.sampled_from([m for m in Method if m is not Method.POWER_LAW]),
    st.integers(0, 4),
)
def test_the_quick_path_gives_the_full_paths_figures(
    rows: list[tuple[float | None, int | None, bool]], method: Method, minimum: int
) -> None:
    """Without the tool's own evidence, the grid's quick path equals the explained one."""
    mapping = linear("marzano_0_4_half")
    scoring = CanvasScoring("average", None, 4.0, 3.0)
    results = [
        ScoredResult(
            1.0,
            4.0,
            percent,
            None if day is None else T0 + timedelta(days=day),
            "assignment_7" if quiz else None,
        )
        for percent, day, quiz in rows
    ]
    policy = Policy(method, None, minimum)
    full = canvas_basis_level(
        [(f"canvas:{i}", r) for i, r in enumerate(results)], [], scoring, policy, mapping
    )
    quick = canvas_basis_quick(results, scoring, policy, mapping)
    assert (quick.result.value, quick.result.evidence_count, quick.points, quick.first_level) == (
        full.result.value,
        full.result.evidence_count,
        full.points,
        full.first_level,
    )
