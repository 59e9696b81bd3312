"""Scales, mappings and calculation policy in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import lti_app.models  # noqa: F401  (every table on Base.metadata)
from lti_app.db import Base, make_engine
from lti_app.mastery.calculation import Method, OverrideRule, Policy, PolicyError
from lti_app.mastery.mapping import PercentMapping, PercentThreshold, mapping_to_dict
from lti_app.mastery.scales import Scale, load_preset, scale_to_dict
from lti_app.models import MasteryPolicy, Platform, ProficiencyScaleVersion
from lti_app.policies.store import (
    PolicyStoreError,
    builtin_default,
    clear_policy,
    default_mapping,
    effective_policy,
    latest_scale,
    save_scale,
    scale_version,
    set_policy,
)

MARZANO = "marzano_0_4_half"
NAME = "District scale"


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    eng = make_engine(backend_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    yield session
    session.rollback()
    session.close()


def add_platform(db: Session, client_id: str) -> int:
    platform = Platform(
        issuer="https://canvas.instructure.com",
        client_id=client_id,
        auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
        jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
        canvas_url=f"https://district{client_id}.instructure.com",
    )
    db.add(platform)
    db.flush()
    return platform.id


@pytest.fixture
def platform_a(db: Session) -> int:
    return add_platform(db, "1001")


@pytest.fixture
def platform_b(db: Session) -> int:
    return add_platform(db, "2002")


def marzano() -> Scale:
    return load_preset(MARZANO)


def relabel(scale: Scale, index: int, label: str) -> Scale:
    levels = list(scale.levels)
    levels[index] = replace(levels[index], label=label)
    return replace(scale, levels=tuple(levels))


def recolour(scale: Scale, index: int, description: str) -> Scale:
    levels = list(scale.levels)
    levels[index] = replace(levels[index], description=description)
    return replace(scale, levels=tuple(levels))


def count_versions(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ProficiencyScaleVersion)) or 0


# --------------------------------------------------------------------------------------------
# Scale versions
# --------------------------------------------------------------------------------------------


def test_first_save_is_version_1(db: Session, platform_a: int) -> None:
    row = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    assert row.version == 1
    assert row.definition == scale_to_dict(marzano())
    found = latest_scale(db, platform_a, NAME)
    assert found is not None
    assert found[0].id == row.id
    assert found[1] == marzano()
    assert scale_version(db, row.id) == marzano()


def test_meaning_edit_with_evidence_creates_a_new_version_and_keeps_the_old(
    db: Session, platform_a: int
) -> None:
    v1 = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    db.commit()
    edited = relabel(marzano(), 6, "Proficient (meets the target)")
    v2 = save_scale(db, platform_a, NAME, edited, has_evidence=True)
    db.commit()
    assert (v1.version, v2.version) == (1, 2)
    assert v1.id != v2.id
    db.expire_all()
    assert scale_version(db, v1.id) == marzano()  # old evidence keeps its meaning
    assert scale_version(db, v2.id) == edited
    found = latest_scale(db, platform_a, NAME)
    assert found is not None and found[0].id == v2.id and found[1] == edited


def test_edit_without_evidence_updates_the_same_version(db: Session, platform_a: int) -> None:
    v1 = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    edited = relabel(marzano(), 6, "Proficient (meets the target)")
    again = save_scale(db, platform_a, NAME, edited, has_evidence=False)
    db.commit()
    assert again.id == v1.id and again.version == 1
    assert count_versions(db) == 1
    db.expire_all()
    assert scale_version(db, v1.id) == edited


def test_cosmetic_edit_with_evidence_keeps_the_version(db: Session, platform_a: int) -> None:
    v1 = save_scale(db, platform_a, NAME, marzano(), has_evidence=True)
    cosmetic = recolour(marzano(), 0, "Not yet, even with help")
    again = save_scale(db, platform_a, NAME, cosmetic, has_evidence=True)
    db.commit()
    assert again.id == v1.id and again.version == 1
    assert count_versions(db) == 1
    db.expire_all()
    assert scale_version(db, v1.id) == cosmetic


def test_only_the_latest_version_is_edited_in_place(db: Session, platform_a: int) -> None:
    v1 = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    v2 = save_scale(db, platform_a, NAME, relabel(marzano(), 6, "Meets"), has_evidence=True)
    v2b = save_scale(db, platform_a, NAME, relabel(marzano(), 6, "Meets it"), has_evidence=False)
    db.commit()
    assert v2b.id == v2.id and v2b.version == 2
    db.expire_all()
    assert scale_version(db, v1.id) == marzano()


def test_scales_are_per_platform(db: Session, platform_a: int, platform_b: int) -> None:
    a = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    assert latest_scale(db, platform_b, NAME) is None
    b = save_scale(db, platform_b, NAME, relabel(marzano(), 6, "Meets"), has_evidence=False)
    db.commit()
    assert a.id != b.id and b.version == 1
    with pytest.raises(PolicyStoreError):
        scale_version(db, a.id, platform_id=platform_b)
    assert scale_version(db, a.id, platform_id=platform_a) == marzano()


# --------------------------------------------------------------------------------------------
# Policy: course override, district default, built-in default
# --------------------------------------------------------------------------------------------


def test_builtin_default_when_nothing_is_stored(db: Session, platform_a: int) -> None:
    effective = effective_policy(db, platform_a, "101")
    assert effective.source == "default"
    assert effective == builtin_default()
    assert effective.scale == marzano()
    assert effective.policy == Policy(Method.DECAYING_AVERAGE, 65, 1)
    assert effective.mapping == default_mapping(marzano())
    assert effective.scale_version_id is None
    # The default mapping is linear and Canvas points equal the level value.
    assert isinstance(effective.mapping, PercentMapping)
    assert effective.mapping.to_level(3.0, 4.0) == 3.0
    assert effective.mapping.to_canvas_points(2.5) == 2.5


def test_district_default_then_course_override(db: Session, platform_a: int) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    mapping = default_mapping(marzano())
    district = Policy(Method.HIGHEST, None, 2, OverrideRule.STANDS_UNTIL_CLEARED)
    set_policy(db, platform_a, None, version.id, district, mapping)
    db.commit()

    effective = effective_policy(db, platform_a, "101")
    assert effective.source == "district"
    assert effective.policy == district
    assert effective.scale_version_id == version.id and effective.scale_version == 1
    assert effective.mapping == mapping
    assert effective_policy(db, platform_a, None).source == "district"

    course = Policy(Method.N_MASTERY, 3, 3)
    set_policy(db, platform_a, "101", version.id, course, mapping)
    db.commit()
    assert effective_policy(db, platform_a, "101").source == "course"
    assert effective_policy(db, platform_a, "101").policy == course
    assert effective_policy(db, platform_a, "102").source == "district"

    # Saving again replaces the row; it never adds a second one.
    set_policy(db, platform_a, "101", version.id, Policy(Method.LATEST), mapping)
    db.commit()
    assert effective_policy(db, platform_a, "101").policy == Policy(Method.LATEST)
    rows = db.scalar(select(func.count()).select_from(MasteryPolicy))
    assert rows == 2

    assert clear_policy(db, platform_a, "101") is True
    assert clear_policy(db, platform_a, "101") is False
    assert effective_policy(db, platform_a, "101").source == "district"


def test_policy_keeps_its_scale_version_after_a_new_version(db: Session, platform_a: int) -> None:
    v1 = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    set_policy(db, platform_a, None, v1.id, Policy(), default_mapping(marzano()))
    save_scale(db, platform_a, NAME, relabel(marzano(), 6, "Meets"), has_evidence=True)
    db.commit()
    effective = effective_policy(db, platform_a, "101")
    assert effective.scale_version == 1
    assert effective.scale == marzano()


def test_one_district_default_per_platform_is_enforced_by_the_database(
    db: Session, platform_a: int, platform_b: int
) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    document = mapping_to_dict(default_mapping(marzano()))

    def row(platform_id: int, course: str | None) -> MasteryPolicy:
        return MasteryPolicy(
            platform_id=platform_id,
            canvas_course_id=course,
            scale_version_id=version.id,
            method="highest",
            minimum_evidence=1,
            override_rule="resume_after_newer_evidence",
            mapping=document,
        )

    db.add(row(platform_a, None))
    db.add(row(platform_b, None))  # another platform may have its own
    db.add(row(platform_a, "101"))
    db.commit()

    db.add(row(platform_a, None))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()

    db.add(row(platform_a, "101"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_tenant_isolation(db: Session, platform_a: int, platform_b: int) -> None:
    version_a = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    mapping = default_mapping(marzano())
    set_policy(db, platform_a, None, version_a.id, Policy(Method.HIGHEST), mapping)
    set_policy(db, platform_a, "101", version_a.id, Policy(Method.LATEST), mapping)
    db.commit()

    # Platform B (another district, even with the same course id) sees only the built-in.
    assert effective_policy(db, platform_b, "101").source == "default"
    assert effective_policy(db, platform_b, None).source == "default"
    assert latest_scale(db, platform_b, NAME) is None
    # ... and cannot point its policy at platform A's scale version.
    with pytest.raises(PolicyStoreError, match="no scale version"):
        set_policy(db, platform_b, None, version_a.id, Policy(), mapping)
    assert clear_policy(db, platform_b, "101") is False
    assert effective_policy(db, platform_a, "101").policy == Policy(Method.LATEST)


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


def test_a_mapping_that_does_not_fit_the_scale_is_refused(db: Session, platform_a: int) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    whole_points = PercentMapping(
        thresholds=tuple(PercentThreshold(p, v) for p, v in [(0, 0), (25, 1), (50, 2), (75, 4)])
    )
    with pytest.raises(PolicyStoreError, match=r"does not fit scale .*level 0\.5"):
        set_policy(db, platform_a, None, version.id, Policy(), whole_points)
    outside = PercentMapping(
        thresholds=tuple([*default_mapping(marzano()).thresholds[:-1], PercentThreshold(100, 5.0)])
    )
    with pytest.raises(PolicyStoreError, match="level 5"):
        set_policy(db, platform_a, None, version.id, Policy(), outside)
    db.flush()
    assert db.scalar(select(func.count()).select_from(MasteryPolicy)) == 0


def test_an_invalid_policy_is_refused_by_the_domain(db: Session, platform_a: int) -> None:
    with pytest.raises(PolicyError):
        Policy(Method.DECAYING_AVERAGE, parameter=100)
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    with pytest.raises(PolicyStoreError, match="expected a Policy"):
        set_policy(
            db,
            platform_a,
            None,
            version.id,
            {"method": "highest"},  # type: ignore[arg-type]
            default_mapping(marzano()),
        )


def test_empty_course_id_is_refused(db: Session, platform_a: int) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    with pytest.raises(PolicyStoreError, match="course id"):
        set_policy(db, platform_a, "", version.id, Policy(), default_mapping(marzano()))
    with pytest.raises(PolicyStoreError, match="course id"):
        effective_policy(db, platform_a, " ")


def test_deleting_a_platform_removes_its_scales_and_policies(
    db: Session, platform_a: int, platform_b: int
) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    save_scale(db, platform_a, NAME, relabel(marzano(), 6, "Meets"), has_evidence=True)
    set_policy(db, platform_a, None, version.id, Policy(), default_mapping(marzano()))
    set_policy(db, platform_a, "101", version.id, Policy(), default_mapping(marzano()))
    version_b = save_scale(db, platform_b, NAME, marzano(), has_evidence=False)
    set_policy(db, platform_b, None, version_b.id, Policy(), default_mapping(marzano()))
    db.commit()

    db.execute(delete(Platform).where(Platform.id == platform_a))
    db.commit()
    assert db.scalar(select(func.count()).select_from(MasteryPolicy)) == 1
    assert count_versions(db) == 1
    assert effective_policy(db, platform_b, "101").source == "district"


def test_a_scale_version_in_use_cannot_be_deleted(db: Session, platform_a: int) -> None:
    version = save_scale(db, platform_a, NAME, marzano(), has_evidence=False)
    set_policy(db, platform_a, None, version.id, Policy(), default_mapping(marzano()))
    db.commit()
    in_use = delete(ProficiencyScaleVersion).where(ProficiencyScaleVersion.id == version.id)
    with pytest.raises(IntegrityError):
        db.execute(in_use)
    db.rollback()
