"""observers: Canvas's observer enrollments per course, each launch's LTI user id, and an
observer launch's role_scope_mentor claim

Revision ID: 0014
Revises: 0013 (main's head when this branch merged it; assigned 0014)
Create Date: 2026-12-05 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course_observer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("link_key", sa.String(length=130), nullable=False),
        sa.Column("observer_user_id", sa.String(length=64), nullable=False),
        sa.Column("student_user_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_observer_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_observer")),
        sa.UniqueConstraint("course_pk", "link_key", name="uq_course_observer_course_link"),
    )
    with op.batch_alter_table("course_observer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_course_observer_course_observer", ["course_pk", "observer_user_id"], unique=False
        )
    op.create_table(
        "lti_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("lti_user_id", sa.String(length=255), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f("fk_lti_user_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_user")),
        sa.UniqueConstraint("platform_id", "lti_user_id", name="uq_lti_user_platform_sub"),
    )
    with op.batch_alter_table("lti_user", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lti_user_platform_canvas_user", ["platform_id", "canvas_user_id"], unique=False
        )
    with op.batch_alter_table("launch_session") as batch:
        batch.add_column(sa.Column("mentor_scope", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.drop_column("mentor_scope")
    with op.batch_alter_table("lti_user", schema=None) as batch_op:
        batch_op.drop_index("ix_lti_user_platform_canvas_user")
    op.drop_table("lti_user")
    with op.batch_alter_table("course_observer", schema=None) as batch_op:
        batch_op.drop_index("ix_course_observer_course_observer")
    op.drop_table("course_observer")
