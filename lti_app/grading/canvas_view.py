"""What Canvas shows for one student and target, beside the tool's level (the override form).

Canvas knows nothing of the tool's overrides: its Learning Mastery Gradebook calculates from
the results it holds, which are the synced Canvas results plus everything the tool writes back
(scored demonstrations and observations). So the level Canvas shows is the tool's calculation
over the same evidence without the overrides, except an override the teacher chose to send to
Canvas as evidence, which Canvas holds as a plain result, dated when it was written and so its
newest (docs/canvas.md §3.14). The figures use the course's policy; by default that is Canvas's
own method, so they are what Canvas shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.grading import canvas_parity
from lti_app.grading.drill import Drill
from lti_app.mastery.calculation import Basis, Evidence, SourceKind, current_level
from lti_app.mastery.canvas_basis import canvas_basis_level
from lti_app.mastery.scales import Level, Scale
from lti_app.models.pathways import MasteryOverride
from lti_app.models.writeback import WritebackItem
from lti_app.policies.store import EffectivePolicy
from lti_app.writeback.outbox import OwedResult, enqueue_result

OVERRIDE_KEY = "override:{id}"


@dataclass(frozen=True)
class CanvasView:
    shows: float | None
    """What Canvas calculates now (once everything owed has reached it)."""
    if_sent: list[tuple[Level, float | None]]
    """For each level of the scale: what Canvas would show with it sent as the newest result."""
    sent: frozenset[str]
    """Evidence ids of the overrides already sent to Canvas."""


def sent_overrides(
    db: Session, platform_id: int, canvas_course_id: str, canvas_user_id: str, outcome_id: str
) -> frozenset[str]:
    keys = db.scalars(
        select(WritebackItem.idempotency_key).where(
            WritebackItem.in_course(platform_id, canvas_course_id),
            WritebackItem.canvas_user_id == canvas_user_id,
            WritebackItem.canvas_outcome_id == outcome_id,
            WritebackItem.idempotency_key.like("override:%"),
        )
    )
    return frozenset(keys)


def canvas_view(
    db: Session, platform_id: int, drill: Drill, eff: EffectivePolicy, now: datetime
) -> CanvasView:
    uid, oid = drill.student.canvas_user_id, drill.target.canvas_outcome_id
    sent = sent_overrides(db, platform_id, drill.course.canvas_course_id, uid, oid)
    held = [
        Evidence(r.evidence.score, r.evidence.at, id=r.evidence.id)
        for r in drill.evidence
        if r.evidence.kind is not SourceKind.OVERRIDE or r.evidence.id in sent
    ]
    scale: Scale = eff.scale
    lo, hi, threshold = scale.min_value, scale.max_value, scale.mastery_threshold

    def level_of(items: list[Evidence]) -> float | None:
        return current_level(items, eff.policy, lo, hi, threshold).value

    if eff.policy.basis is Basis.CANVAS:
        # As Canvas computes it: Canvas's own results on its scale, the tool's evidence it
        # holds as the points of their levels (canvas_parity, docs/canvas.md §2.5).
        course = drill.course
        rows = canvas_parity.canvas_results(
            db, course.id, with_carriers=False, canvas_user_id=uid, canvas_outcome_id=oid
        ).get((uid, oid), [])
        scoring = canvas_parity.scorings(db, course, oid).get(oid)
        if scoring is not None:
            found = scoring

            def level_of(items: list[Evidence]) -> float | None:
                own = [e for e in items if not (e.id or "").startswith("canvas:")]
                return canvas_basis_level(rows, own, found, eff.policy, eff.mapping).result.value

    later = max([now, *(e.at for e in held)])
    return CanvasView(
        level_of(held),
        [(lv, level_of([*held, Evidence(lv.value, later)])) for lv in scale.levels],
        sent,
    )


def send_override(db: Session, override: MasteryOverride, eff: EffectivePolicy) -> None:
    """Owe Canvas the override's level as a result (the teacher asked for it), in the caller's
    transaction: Canvas then counts it in its own calculation. Clearing the override later
    does not take it back out of Canvas."""
    label = eff.scale.level(override.level).label
    enqueue_result(
        db,
        eff,
        OwedResult.of(
            override,
            override.level,
            key=OVERRIDE_KEY.format(id=override.id),
            comment=f"Level set by the teacher: {label} (Mastery Pathways)",
            teacher_canvas_user_id=override.teacher_canvas_user_id,
        ),
    )
