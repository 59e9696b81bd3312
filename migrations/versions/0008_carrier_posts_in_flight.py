"""remember a carrier POST whose answer was lost: the carrier row records when the tool asked
Canvas to create the assignment and its rubric, so the next attempt only looks for (and adopts)
what Canvas may still be creating instead of POSTing a twin (docs/canvas.md §3.15)

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("carrier_assignment") as batch:
        batch.add_column(sa.Column("assignment_posted_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("rubric_posted_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("repair_note", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("carrier_assignment") as batch:
        batch.drop_column("repair_note")
        batch.drop_column("rubric_posted_at")
        batch.drop_column("assignment_posted_at")
