"""quick evidence: observations a teacher records outside any submission

Revision ID: 0009
Revises: 0010 (main's head when this branch merged it; assigned 0006)
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("scale_version_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_observation_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scale_version_id"],
            ["proficiency_scale_version.id"],
            name=op.f("fk_observation_scale_version_id_proficiency_scale_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation")),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_observation_course_student",
            ["platform_id", "canvas_course_id", "canvas_user_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_course_student")
    op.drop_table("observation")
