"""mastery scales and policy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:17:50.310768
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISTRICT_ONLY = "canvas_course_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "proficiency_scale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_proficiency_scale_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proficiency_scale")),
        sa.UniqueConstraint("platform_id", "name", name="uq_proficiency_scale_platform_name"),
    )
    op.create_table(
        "proficiency_scale_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scale_id"],
            ["proficiency_scale.id"],
            name=op.f("fk_proficiency_scale_version_scale_id_proficiency_scale"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proficiency_scale_version")),
        sa.UniqueConstraint(
            "scale_id", "version", name="uq_proficiency_scale_version_scale_version"
        ),
    )
    op.create_table(
        "mastery_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=True),
        sa.Column("scale_version_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("parameter", sa.Integer(), nullable=True),
        sa.Column("minimum_evidence", sa.Integer(), nullable=False),
        sa.Column("override_rule", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_mastery_policy_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scale_version_id"],
            ["proficiency_scale_version.id"],
            name=op.f("fk_mastery_policy_scale_version_id_proficiency_scale_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mastery_policy")),
        sa.UniqueConstraint(
            "platform_id", "canvas_course_id", name="uq_mastery_policy_platform_course"
        ),
    )
    # At most one district default (canvas_course_id NULL) per platform: a partial unique index,
    # since a unique constraint treats NULLs as distinct on both databases.
    with op.batch_alter_table("mastery_policy", schema=None) as batch_op:
        batch_op.create_index(
            "uq_mastery_policy_platform_district",
            ["platform_id"],
            unique=True,
            sqlite_where=sa.text(DISTRICT_ONLY),
            postgresql_where=sa.text(DISTRICT_ONLY),
        )


def downgrade() -> None:
    with op.batch_alter_table("mastery_policy", schema=None) as batch_op:
        batch_op.drop_index("uq_mastery_policy_platform_district")

    op.drop_table("mastery_policy")
    op.drop_table("proficiency_scale_version")
    op.drop_table("proficiency_scale")
