"""Canvas parity: Canvas's own rollup scores per student and outcome (read at every sync),
whether Canvas runs the new decaying average for a course, and the policy's calculation basis
(aggregate as Canvas does, or a district level per evidence)

Existing policies keep today's behaviour ("district_level"); new ones default to "canvas".

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course_rollup",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "course_pk",
            sa.Integer(),
            sa.ForeignKey("canvas_course.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("rollup_key", sa.String(length=130), nullable=False),
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("course_pk", "rollup_key", name="uq_course_rollup_course_key"),
    )
    with op.batch_alter_table("mastery_policy") as batch:
        batch.add_column(
            sa.Column("basis", sa.String(length=32), nullable=False, server_default="canvas")
        )
    with op.batch_alter_table("canvas_course") as batch:
        batch.add_column(
            sa.Column(
                "new_decaying_average", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.execute(sa.text("UPDATE mastery_policy SET basis = 'district_level'"))


def downgrade() -> None:
    with op.batch_alter_table("canvas_course") as batch:
        batch.drop_column("new_decaying_average")
    with op.batch_alter_table("mastery_policy") as batch:
        batch.drop_column("basis")
    op.drop_table("course_rollup")
