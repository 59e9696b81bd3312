"""District dashboard: outcome owners, course school and term, and the aggregates

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course_outcome") as batch:
        batch.add_column(sa.Column("context_type", sa.String(16), nullable=True))
        batch.add_column(sa.Column("context_id", sa.String(64), nullable=True))
    with op.batch_alter_table("canvas_course") as batch:
        batch.add_column(sa.Column("account_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("term_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("term_name", sa.String(255), nullable=True))
    op.create_index(
        "ix_course_outcome_result_user_outcome",
        "course_outcome_result",
        ["canvas_user_id", "canvas_outcome_id"],
    )
    op.create_table(
        "district_level",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "platform_id", sa.Integer, sa.ForeignKey("platform.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("canvas_user_id", sa.String(64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(64), nullable=False),
        sa.Column("level", sa.Float, nullable=True),
        sa.Column("level_index", sa.Integer, nullable=True),
        sa.Column("mastered", sa.Boolean, nullable=False),
        sa.Column("on_track", sa.Boolean, nullable=False),
        sa.Column("evidence_count", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_user_id",
            "canvas_outcome_id",
            name="uq_district_level_platform_user_outcome",
        ),
    )
    op.create_index(
        "ix_district_level_platform_outcome",
        "district_level",
        ["platform_id", "canvas_outcome_id", "level_index", "mastered", "on_track"],
    )
    op.create_table(
        "district_cell",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "platform_id", sa.Integer, sa.ForeignKey("platform.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "course_pk", sa.Integer, sa.ForeignKey("canvas_course.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("canvas_section_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("term_id", sa.String(64), nullable=False),
        sa.Column("canvas_user_id", sa.String(64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(64), nullable=False),
        sa.Column("level_index", sa.Integer, nullable=True),
        sa.Column("mastered", sa.Boolean, nullable=False),
        sa.Column("on_track", sa.Boolean, nullable=False),
        sa.Column("leads", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_district_cell_platform_account", "district_cell", ["platform_id", "account_id"]
    )
    op.create_index(
        "ix_district_cell_platform_user", "district_cell", ["platform_id", "canvas_user_id"]
    )
    op.create_index("ix_district_cell_course", "district_cell", ["course_pk"])


def downgrade() -> None:
    op.drop_table("district_cell")
    op.drop_table("district_level")
    op.drop_index("ix_course_outcome_result_user_outcome", table_name="course_outcome_result")
    with op.batch_alter_table("canvas_course") as batch:
        batch.drop_column("term_name")
        batch.drop_column("term_id")
        batch.drop_column("account_id")
    with op.batch_alter_table("course_outcome") as batch:
        batch.drop_column("context_id")
        batch.drop_column("context_type")
