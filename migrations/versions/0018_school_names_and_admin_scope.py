"""course account name and parent, admin scope: the district dashboard names each school as
Canvas does and keeps a school (sub-account) admin to their schools

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("canvas_course") as batch:
        batch.add_column(sa.Column("account_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("account_parent_id", sa.String(64), nullable=True))
    with op.batch_alter_table("launch_session") as batch:
        batch.add_column(sa.Column("admin_account_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.drop_column("admin_account_id")
    with op.batch_alter_table("canvas_course") as batch:
        batch.drop_column("account_parent_id")
        batch.drop_column("account_name")
