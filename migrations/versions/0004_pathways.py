"""pathways: district library, target menus, demonstrations and their audit trail, overrides

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:19:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mastery_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("teacher_canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_mastery_override_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mastery_override")),
    )
    with op.batch_alter_table("mastery_override", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mastery_override_course_student",
            ["platform_id", "canvas_course_id", "canvas_user_id"],
            unique=False,
        )

    op.create_table(
        "pathway_library_kind",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_pathway_library_kind_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_library_kind")),
        sa.UniqueConstraint("platform_id", "kind", name="uq_pathway_library_kind_platform_kind"),
    )
    op.create_table(
        "pathway_menu_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_limit", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_pathway_menu_item_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_menu_item")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_outcome_id",
            "kind",
            name="uq_pathway_menu_item_target_kind",
        ),
    )
    op.create_table(
        "demonstration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("menu_item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("open_slot", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("proposal_text", sa.Text(), nullable=True),
        sa.Column("evidence_text", sa.Text(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("reflection_text", sa.Text(), nullable=True),
        sa.Column("reflection_links", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scale_version_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("scored_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["menu_item_id"],
            ["pathway_menu_item.id"],
            name=op.f("fk_demonstration_menu_item_id_pathway_menu_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_demonstration_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["demonstration.id"],
            name=op.f("fk_demonstration_previous_id_demonstration"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scale_version_id"],
            ["proficiency_scale_version.id"],
            name=op.f("fk_demonstration_scale_version_id_proficiency_scale_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demonstration")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_user_id",
            "canvas_outcome_id",
            "open_slot",
            name="uq_demonstration_one_open_per_target",
        ),
    )
    with op.batch_alter_table("demonstration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demonstration_course_state",
            ["platform_id", "canvas_course_id", "state"],
            unique=False,
        )
        batch_op.create_index(
            "ix_demonstration_course_student",
            ["platform_id", "canvas_course_id", "canvas_user_id"],
            unique=False,
        )

    op.create_table(
        "demonstration_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demonstration_id", sa.Integer(), nullable=False),
        sa.Column("actor_canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["demonstration_id"],
            ["demonstration.id"],
            name=op.f("fk_demonstration_event_demonstration_id_demonstration"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demonstration_event")),
    )
    with op.batch_alter_table("demonstration_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_demonstration_event_demonstration", ["demonstration_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("demonstration_event", schema=None) as batch_op:
        batch_op.drop_index("ix_demonstration_event_demonstration")

    op.drop_table("demonstration_event")
    with op.batch_alter_table("demonstration", schema=None) as batch_op:
        batch_op.drop_index("ix_demonstration_course_student")
        batch_op.drop_index("ix_demonstration_course_state")

    op.drop_table("demonstration")
    op.drop_table("pathway_menu_item")
    op.drop_table("pathway_library_kind")
    with op.batch_alter_table("mastery_override", schema=None) as batch_op:
        batch_op.drop_index("ix_mastery_override_course_student")

    op.drop_table("mastery_override")
