"""write-back: the outbox, carriers by round with their rubric ids, per-course leases

carrier_assignment had no writer before this revision (it was created empty for the sync's
from_carrier flag), so it is rebuilt with its new columns rather than altered.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 12:35:44
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _platform_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"],
        ["platform.id"],
        name=op.f(f"fk_{table}_platform_id_platform"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.drop_table("carrier_assignment")
    op.create_table(
        "carrier_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("marker", sa.String(length=64), nullable=False),
        sa.Column("canvas_assignment_id", sa.String(length=64), nullable=True),
        sa.Column("rubric_id", sa.String(length=64), nullable=True),
        sa.Column("rubric_association_id", sa.String(length=64), nullable=True),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("ratings_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _platform_fk("carrier_assignment"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_assignment")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_assignment_id",
            name="uq_carrier_assignment_platform_course_assignment",
        ),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "kind",
            "round",
            name="uq_carrier_assignment_platform_course_kind_round",
        ),
    )
    op.create_table(
        "writeback_lease",
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _platform_fk("writeback_lease"),
        sa.PrimaryKeyConstraint("platform_id", "canvas_course_id", name=op.f("pk_writeback_lease")),
    )
    op.create_table(
        "writeback_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("demonstration_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("teacher_canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"],
            ["carrier_assignment.id"],
            name=op.f("fk_writeback_item_carrier_id_carrier_assignment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["demonstration_id"],
            ["demonstration.id"],
            name=op.f("fk_writeback_item_demonstration_id_demonstration"),
            ondelete="SET NULL",
        ),
        _platform_fk("writeback_item"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeback_item")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_user_id",
            "canvas_outcome_id",
            "kind",
            "round",
            name="uq_writeback_item_slot",
        ),
        sa.UniqueConstraint("platform_id", "idempotency_key", name="uq_writeback_item_key"),
    )
    with op.batch_alter_table("writeback_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_writeback_item_course", ["platform_id", "canvas_course_id", "status"]
        )
        batch_op.create_index("ix_writeback_item_due", ["status", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("writeback_item", schema=None) as batch_op:
        batch_op.drop_index("ix_writeback_item_due")
        batch_op.drop_index("ix_writeback_item_course")
    op.drop_table("writeback_item")
    op.drop_table("writeback_lease")
    op.drop_table("carrier_assignment")
    op.create_table(
        "carrier_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_assignment_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _platform_fk("carrier_assignment"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_assignment")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_assignment_id",
            name="uq_carrier_assignment_platform_course_assignment",
        ),
    )
