"""bind Canvas tokens and the API key secret to the Canvas origin that issued or received them;
mark auto-registered and removed deployments

Existing rows were obtained from (or stored for) the platform's current canvas_url, so that
origin is filled in. Existing deployments of platforms that auto-register are marked as
auto-registered (nothing tells them apart from the one a registration answer named).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:10:00
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _origin(url: str) -> str:
    # Frozen copy of lti_app.urls.origin_of as of this revision.
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == {"http": 80, "https": 443}.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def upgrade() -> None:
    with op.batch_alter_table("canvas_api_token") as batch:
        batch.add_column(sa.Column("canvas_origin", sa.String(length=255), nullable=True))
    with op.batch_alter_table("platform") as batch:
        batch.add_column(sa.Column("api_key_origin", sa.String(length=255), nullable=True))
    with op.batch_alter_table("deployment") as batch:
        batch.add_column(
            sa.Column("auto_registered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    platform = sa.table(
        "platform",
        sa.column("id", sa.Integer),
        sa.column("canvas_url", sa.String),
        sa.column("api_client_id", sa.String),
        sa.column("api_key_origin", sa.String),
        sa.column("auto_register_deployments", sa.Boolean),
    )
    deployment = sa.table(
        "deployment",
        sa.column("platform_id", sa.Integer),
        sa.column("auto_registered", sa.Boolean),
    )
    token = sa.table(
        "canvas_api_token",
        sa.column("platform_id", sa.Integer),
        sa.column("canvas_origin", sa.String),
    )
    for pid, canvas_url, api_client_id, auto in conn.execute(
        sa.select(
            platform.c.id,
            platform.c.canvas_url,
            platform.c.api_client_id,
            platform.c.auto_register_deployments,
        )
    ):
        origin = _origin(canvas_url)
        conn.execute(token.update().where(token.c.platform_id == pid).values(canvas_origin=origin))
        if auto:
            conn.execute(
                deployment.update()
                .where(deployment.c.platform_id == pid)
                .values(auto_registered=True)
            )
        if api_client_id:
            conn.execute(
                platform.update().where(platform.c.id == pid).values(api_key_origin=origin)
            )

    with op.batch_alter_table("canvas_api_token") as batch:
        batch.alter_column("canvas_origin", existing_type=sa.String(length=255), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("removed_at")
        batch.drop_column("auto_registered")
    with op.batch_alter_table("platform") as batch:
        batch.drop_column("api_key_origin")
    with op.batch_alter_table("canvas_api_token") as batch:
        batch.drop_column("canvas_origin")
