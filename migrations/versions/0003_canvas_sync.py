"""canvas sync: API tokens, OAuth states, sync runs, synced course data, carrier assignments

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:54:38
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canvas_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_canvas_api_token_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_api_token")),
        sa.UniqueConstraint(
            "platform_id", "canvas_user_id", name="uq_canvas_api_token_platform_user"
        ),
    )
    op.create_table(
        "canvas_course",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("scale_source", sa.String(length=32), nullable=False),
        sa.Column("mastery_scale", sa.JSON(), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_canvas_course_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canvas_course")),
        sa.UniqueConstraint(
            "platform_id", "canvas_course_id", name="uq_canvas_course_platform_course"
        ),
    )
    op.create_table(
        "carrier_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_assignment_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_carrier_assignment_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_assignment")),
        sa.UniqueConstraint(
            "platform_id",
            "canvas_course_id",
            "canvas_assignment_id",
            name="uq_carrier_assignment_platform_course_assignment",
        ),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=255), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_sync_run_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_run_platform_course", ["platform_id", "canvas_course_id"], unique=False
        )
        batch_op.create_index("ix_sync_run_status", ["status"], unique=False)

    op.create_table(
        "course_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=False),
        sa.Column("display_name", sa.String(length=1024), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("vendor_guid", sa.String(length=255), nullable=True),
        sa.Column("canvas_group_id", sa.String(length=64), nullable=False),
        sa.Column("group_path", sa.JSON(), nullable=False),
        sa.Column("points_possible", sa.Float(), nullable=True),
        sa.Column("mastery_points", sa.Float(), nullable=True),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("calculation_method", sa.String(length=64), nullable=True),
        sa.Column("calculation_int", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_outcome_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_outcome")),
        sa.UniqueConstraint(
            "course_pk", "canvas_outcome_id", name="uq_course_outcome_course_outcome"
        ),
    )
    op.create_table(
        "course_outcome_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("canvas_result_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("alignment", sa.String(length=255), nullable=True),
        sa.Column("canvas_assignment_id", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("possible", sa.Float(), nullable=True),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("mastery", sa.Boolean(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("submitted_or_assessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("from_carrier", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_outcome_result_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_outcome_result")),
        sa.UniqueConstraint(
            "course_pk", "canvas_result_id", name="uq_course_outcome_result_course_result"
        ),
    )
    with op.batch_alter_table("course_outcome_result", schema=None) as batch_op:
        batch_op.create_index(
            "ix_course_outcome_result_course_user", ["course_pk", "canvas_user_id"], unique=False
        )

    op.create_table(
        "course_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("canvas_section_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_section_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_section")),
        sa.UniqueConstraint(
            "course_pk", "canvas_section_id", name="uq_course_section_course_section"
        ),
    )
    op.create_table(
        "course_student",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("sortable_name", sa.String(length=1024), nullable=False),
        sa.Column("login_id", sa.String(length=255), nullable=True),
        sa.Column("section_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_student_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_student")),
        sa.UniqueConstraint("course_pk", "canvas_user_id", name="uq_course_student_course_user"),
    )
    op.create_table(
        "canvas_oauth_state",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("launch_session_id", sa.String(length=32), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["launch_session_id"],
            ["launch_session.id"],
            name=op.f("fk_canvas_oauth_state_launch_session_id_launch_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_canvas_oauth_state_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_canvas_oauth_state")),
    )
    with op.batch_alter_table("canvas_oauth_state", schema=None) as batch_op:
        batch_op.create_index("ix_canvas_oauth_state_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("canvas_oauth_state", schema=None) as batch_op:
        batch_op.drop_index("ix_canvas_oauth_state_expires_at")

    op.drop_table("canvas_oauth_state")
    op.drop_table("course_student")
    op.drop_table("course_section")
    with op.batch_alter_table("course_outcome_result", schema=None) as batch_op:
        batch_op.drop_index("ix_course_outcome_result_course_user")

    op.drop_table("course_outcome_result")
    op.drop_table("course_outcome")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_run_status")
        batch_op.drop_index("ix_sync_run_platform_course")

    op.drop_table("sync_run")
    op.drop_table("carrier_assignment")
    op.drop_table("canvas_course")
    op.drop_table("canvas_api_token")
