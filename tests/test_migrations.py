"""Alembic: upgrade, downgrade and upgrade again on SQLite and PostgreSQL; schema == models."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

import lti_app.models  # noqa: F401  (every table on Base.metadata)
from lti_app import create_app
from lti_app.cli import alembic_config
from lti_app.db import Base
from tests.lti_platform import TOOL_BASE, FakePlatform

# Every table the models declare; schema_differences() separately checks columns, types and
# constraints against the migrations.
APP_TABLES = set(Base.metadata.tables)


@pytest.fixture
def engine(backend_url: str) -> Iterator[Engine]:
    eng = create_engine(backend_url)
    yield eng
    eng.dispose()


@pytest.fixture
def config(backend_url: str) -> Config:
    return alembic_config(backend_url)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(text("select version_num from alembic_version")).first()
    return row[0] if row else None


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_downgrade_upgrade(engine: Engine, config: Config) -> None:
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()

    command.upgrade(config, "head")
    assert tables(engine) >= APP_TABLES
    assert version(engine) == head

    command.downgrade(config, "base")
    assert tables(engine) == {"alembic_version"}
    assert version(engine) is None

    command.upgrade(config, "head")
    assert tables(engine) >= APP_TABLES
    assert version(engine) == head
    assert schema_differences(engine) == []


def test_schema_after_upgrade_matches_models(engine: Engine, config: Config) -> None:
    command.upgrade(config, "head")
    assert schema_differences(engine) == []
    # Alembic's own check: autogenerate would produce no new operations.
    command.check(config)
    assert tables(engine) == APP_TABLES | {"alembic_version"}


def test_step_by_step_down_and_up(engine: Engine, config: Config) -> None:
    """Every revision's downgrade works on its own, not only as part of "base"."""
    script = ScriptDirectory.from_config(config)
    revisions = list(reversed(list(script.walk_revisions())))  # oldest first
    for revision in revisions:
        command.upgrade(config, revision.revision)
        assert version(engine) == revision.revision
    for revision in reversed(revisions):
        down = revision.down_revision
        assert down is None or isinstance(down, str)  # no merge revisions
        command.downgrade(config, down or "base")
        expected = revision.down_revision
        assert version(engine) == (expected if isinstance(expected, str) else None)


def test_downgrade_with_data_in_the_tables(engine: Engine, config: Config) -> None:
    command.upgrade(config, "head")
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into platform (issuer, client_id, auth_login_url, auth_token_url,"
                " jwks_url, canvas_url, auto_register_deployments, registered_via, created_at)"
                " values ('https://canvas.instructure.com', '1', 'https://a', 'https://t',"
                " 'https://j', 'https://c', false, 'cli', CURRENT_TIMESTAMP)"
            )
        )
        platform_id = conn.execute(text("select id from platform")).scalar_one()
        conn.execute(
            text(
                "insert into deployment (platform_id, deployment_id, created_at)"
                " values (:p, '1:abc', CURRENT_TIMESTAMP)"
            ),
            {"p": platform_id},
        )
    command.downgrade(config, "base")
    assert tables(engine) == {"alembic_version"}
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from platform")).scalar_one() == 0


def test_single_head_and_every_revision_has_a_real_downgrade(config: Config) -> None:
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert revision.module.__file__ is not None
        source = Path(revision.module.__file__).read_text()
        tree = ast.parse(source)
        [downgrade] = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name == "downgrade"
        ]
        # A docstring or ``pass`` alone does nothing; an ``op.…`` call does.
        body = [
            n
            for n in downgrade.body
            if not isinstance(n, ast.Pass)
            and not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
        ]
        assert body, f"revision {revision.revision} has an empty downgrade"


def test_app_runs_on_the_migrated_schema(backend_url: str, config: Config, tmp_path: Path) -> None:
    """The app (which never creates tables itself) works on a database made by Alembic."""
    command.upgrade(config, "head")
    app = create_app(
        {
            "app_env": "testing",
            "database_url": backend_url,
            "public_base_url": TOOL_BASE,
            "secret_key": "migrated-" + "x" * 32,
            "instance_path": str(tmp_path / "instance"),
        }
    )
    try:
        result = app.test_cli_runner().invoke(args=FakePlatform().cli_args())
        assert result.exit_code == 0, result.output
        rotated = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert rotated.exit_code == 0, rotated.output
        jwks = app.test_client().get("/.well-known/jwks.json", base_url=TOOL_BASE)
        assert jwks.status_code == 200
        assert len(jwks.get_json()["keys"]) == 1
    finally:
        app.extensions["db_engine"].dispose()


def test_0007_keeps_existing_policies_on_the_district_level_basis(
    engine: Engine, config: Config
) -> None:
    """Policies saved before the choice existed keep today's arithmetic (a level per piece of
    evidence); policies saved afterwards default to "as Canvas computes it"."""
    command.upgrade(config, "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "insert into platform (issuer, client_id, auth_login_url, auth_token_url,"
                " jwks_url, canvas_url, auto_register_deployments, registered_via, created_at)"
                " values ('https://canvas.instructure.com', '1', 'https://a', 'https://t',"
                " 'https://j', 'https://c', false, 'cli', CURRENT_TIMESTAMP)"
            )
        )
        pid = conn.execute(text("select id from platform")).scalar_one()
        conn.execute(
            text(
                "insert into proficiency_scale (platform_id, name, created_at)"
                " values (:p, 'm', CURRENT_TIMESTAMP)"
            ),
            {"p": pid},
        )
        sid = conn.execute(text("select id from proficiency_scale")).scalar_one()
        conn.execute(
            text(
                "insert into proficiency_scale_version (scale_id, version, definition,"
                " created_at) values (:s, 1, '{}', CURRENT_TIMESTAMP)"
            ),
            {"s": sid},
        )
        vid = conn.execute(text("select id from proficiency_scale_version")).scalar_one()
        conn.execute(
            text(
                "insert into mastery_policy (platform_id, canvas_course_id, scale_version_id,"
                " method, parameter, minimum_evidence, override_rule, mapping, updated_at)"
                " values (:p, NULL, :v, 'latest', NULL, 1, 'resume_after_newer_evidence',"
                " '{}', CURRENT_TIMESTAMP)"
            ),
            {"p": pid, "v": vid},
        )
    command.upgrade(config, "0007")
    with engine.begin() as conn:
        assert conn.execute(text("select basis from mastery_policy")).scalar_one() == (
            "district_level"
        )
        conn.execute(
            text(
                "insert into mastery_policy (platform_id, canvas_course_id, scale_version_id,"
                " method, parameter, minimum_evidence, override_rule, mapping, updated_at)"
                " values (:p, '12', :v, 'latest', NULL, 1, 'resume_after_newer_evidence',"
                " '{}', CURRENT_TIMESTAMP)"
            ),
            {"p": pid, "v": vid},
        )
        new = conn.execute(
            text("select basis from mastery_policy where canvas_course_id = '12'")
        ).scalar_one()
        assert new == "canvas"
    command.downgrade(config, "0011")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from mastery_policy")).scalar_one() == 2
