"""Storage of district scales (versioned), mappings and calculation policy.

The adapter between the pure domain (``lti_app.mastery``) and the database (``lti_app.models``).
No Flask: callers pass a SQLAlchemy session and commit it themselves (the request boundary, or
``session_scope`` in CLI commands and jobs); this module only flushes.

Tenant isolation: every query filters by ``platform_id`` (a district's Canvas), so one platform
never reads or writes another's scales or policies.

Effective policy for a course: the course override if there is one, else the district default,
else the built-in default (:func:`builtin_default`): the ``marzano_0_4_half`` preset, the
legacy ``decaying_average`` at 65 computed as Canvas computes it (on the Canvas scale, then
mapped), minimum evidence 1, teacher overrides superseded by newer evidence, and a linear
percent mapping (each half point is 12.5 % of possible, written back on a
0-4 points criterion so Canvas points equal the level).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from lti_app.mastery.calculation import Basis, Method, OverrideRule, Policy
from lti_app.mastery.mapping import (
    AnyMapping,
    MappingError,
    PercentMapping,
    PercentThreshold,
    mapping_from_dict,
    mapping_to_dict,
    validate_mapping,
)
from lti_app.mastery.scales import (
    Scale,
    edit_requires_new_version,
    load_preset,
    scale_from_dict,
    scale_to_dict,
)
from lti_app.models.mastery import MasteryPolicy, ProficiencyScale, ProficiencyScaleVersion

__all__ = [
    "DEFAULT_PRESET",
    "EffectivePolicy",
    "PolicySource",
    "PolicyStoreError",
    "builtin_default",
    "clear_policy",
    "default_mapping",
    "effective_policy",
    "latest_scale",
    "save_scale",
    "scale_version",
    "set_policy",
]

PolicySource = Literal["course", "district", "default"]

#: The preset used when a platform has stored no policy at all.
DEFAULT_PRESET = "marzano_0_4_half"


class PolicyStoreError(ValueError):
    """A refused save: unknown or foreign scale version, a mapping that does not fit, etc."""


# --------------------------------------------------------------------------------------------
# Scales
# --------------------------------------------------------------------------------------------


def _scale_row(db: Session, platform_id: int, name: str) -> ProficiencyScale | None:
    return db.scalars(
        select(ProficiencyScale).where(
            ProficiencyScale.platform_id == platform_id, ProficiencyScale.name == name
        )
    ).one_or_none()


def _latest_version_row(db: Session, scale_id: int) -> ProficiencyScaleVersion | None:
    return db.scalars(
        select(ProficiencyScaleVersion)
        .where(ProficiencyScaleVersion.scale_id == scale_id)
        .order_by(ProficiencyScaleVersion.version.desc())
        .limit(1)
    ).one_or_none()


def save_scale(
    db: Session, platform_id: int, name: str, scale: Scale, has_evidence: bool
) -> ProficiencyScaleVersion:
    """Store ``scale`` as the district scale ``name`` of ``platform_id``; returns its version row.

    The first save is version 1. Later saves edit the latest version: a new version n+1 when
    ``edit_requires_new_version`` says so (evidence was recorded with version n and the edit
    changes meaning), otherwise version n is updated in place (no evidence, or a cosmetic edit).
    Earlier versions are never modified. ``has_evidence``: evidence refers to the latest version.
    """
    if not isinstance(scale, Scale):
        raise PolicyStoreError(f"expected a Scale, got {type(scale).__name__}")
    if not name.strip():
        raise PolicyStoreError("a stored scale needs a name")
    row = _scale_row(db, platform_id, name)
    if row is None:
        row = ProficiencyScale(platform_id=platform_id, name=name)
        db.add(row)
        db.flush()
    latest = _latest_version_row(db, row.id)
    definition = scale_to_dict(scale)
    if latest is None:
        version = ProficiencyScaleVersion(scale_id=row.id, version=1, definition=definition)
        db.add(version)
    elif edit_requires_new_version(scale_from_dict(latest.definition), scale, has_evidence):
        version = ProficiencyScaleVersion(
            scale_id=row.id, version=latest.version + 1, definition=definition
        )
        db.add(version)
    else:
        version = latest
        version.definition = definition
    db.flush()
    return version


def latest_scale(
    db: Session, platform_id: int, name: str
) -> tuple[ProficiencyScaleVersion, Scale] | None:
    """The latest version of scale ``name`` of ``platform_id`` and its domain scale, or None."""
    row = _scale_row(db, platform_id, name)
    if row is None:
        return None
    latest = _latest_version_row(db, row.id)
    if latest is None:
        return None
    return latest, scale_from_dict(latest.definition)


def _version_row(
    db: Session, version_id: int, platform_id: int | None = None
) -> ProficiencyScaleVersion:
    query = select(ProficiencyScaleVersion).where(ProficiencyScaleVersion.id == version_id)
    if platform_id is not None:
        query = query.join(ProficiencyScale).where(ProficiencyScale.platform_id == platform_id)
    row = db.scalars(query).one_or_none()
    if row is None:
        raise PolicyStoreError(f"no scale version {version_id!r} for this platform")
    return row


def scale_version(db: Session, version_id: int, platform_id: int | None = None) -> Scale:
    """The domain scale stored as version row ``version_id`` (as it was recorded).

    Pass ``platform_id`` to refuse (``PolicyStoreError``) a version of another platform's scale.
    """
    return scale_from_dict(_version_row(db, version_id, platform_id).definition)


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectivePolicy:
    """The policy in force for a course, and where it came from.

    ``source``: "course" (a course override), "district" (the platform's default) or "default"
    (built in; then ``policy_id`` and ``scale_version_id`` are None and ``scale_version`` is 0).
    """

    source: PolicySource
    policy: Policy
    scale: Scale
    mapping: AnyMapping
    scale_version_id: int | None
    scale_version: int
    policy_id: int | None = None


def default_mapping(scale: Scale) -> PercentMapping:
    """A linear percent mapping for a scale whose lowest level is 0 (e.g. Marzano 0-4).

    Level L starts at L / max x 100 % of possible; write-back uses a criterion worth ``max``
    points, so the Canvas points written equal the level value.
    """
    top = scale.max_value
    return PercentMapping(
        thresholds=tuple(
            PercentThreshold(min_percent=level.value / top * 100, level_value=level.value)
            for level in scale.levels
        ),
        points_possible=top,
    )


@cache
def builtin_default() -> EffectivePolicy:
    """The built-in policy used when a platform stored none (see the module docstring)."""
    scale = load_preset(DEFAULT_PRESET)
    mapping = default_mapping(scale)
    validate_mapping(mapping, scale)
    return EffectivePolicy(
        source="default",
        policy=Policy(
            method=Method.DECAYING_AVERAGE,
            parameter=65,
            minimum_evidence=1,
            override_rule=OverrideRule.RESUME_AFTER_NEWER_EVIDENCE,
            basis=Basis.CANVAS,
        ),
        scale=scale,
        mapping=mapping,
        scale_version_id=None,
        scale_version=0,
    )


def _policy_row(
    db: Session, platform_id: int, canvas_course_id: str | None
) -> MasteryPolicy | None:
    course = (
        MasteryPolicy.canvas_course_id.is_(None)
        if canvas_course_id is None
        else MasteryPolicy.canvas_course_id == canvas_course_id
    )
    return db.scalars(
        select(MasteryPolicy).where(MasteryPolicy.platform_id == platform_id, course)
    ).one_or_none()


def _check_course_id(canvas_course_id: str | None) -> None:
    if canvas_course_id is not None and (
        not isinstance(canvas_course_id, str) or not canvas_course_id.strip()
    ):
        raise PolicyStoreError(
            f"a Canvas course id must be a non-empty string (None = district), "
            f"got {canvas_course_id!r}"
        )


def set_policy(
    db: Session,
    platform_id: int,
    canvas_course_id: str | None,
    scale_version_id: int,
    policy: Policy,
    mapping: AnyMapping,
) -> MasteryPolicy:
    """Create or replace the district default (``canvas_course_id`` None) or a course override.

    Refused with :class:`PolicyStoreError` when the scale version is not this platform's, the
    policy is not a (domain-validated) ``Policy``, or the mapping does not fit the scale
    (``validate_mapping``: every level reachable and round-tripping).
    """
    _check_course_id(canvas_course_id)
    if not isinstance(policy, Policy):
        raise PolicyStoreError(f"expected a Policy, got {type(policy).__name__}")
    version = _version_row(db, scale_version_id, platform_id)
    scale = scale_from_dict(version.definition)
    try:
        validate_mapping(mapping, scale)
    except MappingError as exc:
        raise PolicyStoreError(
            f"the mapping does not fit scale {scale.name!r} (version {version.version}): {exc}"
        ) from exc
    row = _policy_row(db, platform_id, canvas_course_id)
    if row is None:
        row = MasteryPolicy(platform_id=platform_id, canvas_course_id=canvas_course_id)
        db.add(row)
    row.scale_version_id = version.id
    row.method = Method(policy.method).value
    row.parameter = policy.parameter
    row.minimum_evidence = policy.minimum_evidence
    row.override_rule = OverrideRule(policy.override_rule).value
    row.basis = Basis(policy.basis).value
    row.mapping = mapping_to_dict(mapping)
    db.flush()
    return row


def clear_policy(db: Session, platform_id: int, canvas_course_id: str | None) -> bool:
    """Remove the district default or a course override; True if there was one."""
    _check_course_id(canvas_course_id)
    row = _policy_row(db, platform_id, canvas_course_id)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


def _from_row(row: MasteryPolicy, source: PolicySource) -> EffectivePolicy:
    version = row.scale_version
    return EffectivePolicy(
        source=source,
        policy=Policy(
            method=Method(row.method),
            parameter=row.parameter,
            minimum_evidence=row.minimum_evidence,
            override_rule=OverrideRule(row.override_rule),
            basis=Basis(row.basis),
        ),
        scale=scale_from_dict(version.definition),
        mapping=mapping_from_dict(row.mapping),
        scale_version_id=version.id,
        scale_version=version.version,
        policy_id=row.id,
    )


def effective_policy(
    db: Session, platform_id: int, canvas_course_id: str | None
) -> EffectivePolicy:
    """The policy in force for a course of ``platform_id``: course, else district, else default.

    ``canvas_course_id`` None asks for the district level (district default, else built in).
    """
    _check_course_id(canvas_course_id)
    # The course's row and the district's in one read (every teacher page asks for this);
    # each is unique, so at most two rows come back.
    scope: ColumnElement[bool] = MasteryPolicy.canvas_course_id.is_(None)
    if canvas_course_id is not None:
        scope = or_(scope, MasteryPolicy.canvas_course_id == canvas_course_id)
    rows = db.scalars(
        select(MasteryPolicy)
        .where(MasteryPolicy.platform_id == platform_id, scope)
        .options(joinedload(MasteryPolicy.scale_version))
    ).all()
    for row in rows:
        if row.canvas_course_id is not None:
            return _from_row(row, "course")
    if rows:
        return _from_row(rows[0], "district")
    return builtin_default()
