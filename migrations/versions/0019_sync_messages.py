"""sync run step and error as messages: the sync page says them in the reader's language

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("step_message", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("error_detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("error_detail")
        batch.drop_column("step_message")
