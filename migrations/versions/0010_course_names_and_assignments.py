"""course names and time zones, and the names of the Canvas assignments results come from
(read in sync); the launching user's time zone (Canvas's $Person.address.timezone)

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("canvas_course") as batch:
        batch.add_column(sa.Column("name", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("launch_session") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.create_table(
        "course_alignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_pk", sa.Integer(), nullable=False),
        sa.Column("alignment", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_pk"],
            ["canvas_course.id"],
            name=op.f("fk_course_alignment_course_pk_canvas_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_alignment")),
        sa.UniqueConstraint(
            "course_pk", "alignment", name="uq_course_alignment_course_alignment"
        ),
    )


def downgrade() -> None:
    op.drop_table("course_alignment")
    with op.batch_alter_table("launch_session") as batch:
        batch.drop_column("time_zone")
    with op.batch_alter_table("canvas_course") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("name")
