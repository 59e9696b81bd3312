"""index sync_run.finished_at, so pruning old sync runs reads only what it deletes

(oidc_login, launch_session and canvas_oauth_state already have their expires_at indexes.)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-04 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.create_index("ix_sync_run_finished_at", ["finished_at"])


def downgrade() -> None:
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_index("ix_sync_run_finished_at")
