"""District text in other languages: the pathway library's and menus' titles and instructions

Scale levels keep theirs inside the version's JSON definition (``translations`` per level), so
only the two pathway tables get a column.

Revision ID: 0013
Revises: 0016
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("pathway_library_kind", "pathway_menu_item")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("translations", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("translations")
