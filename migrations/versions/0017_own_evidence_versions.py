"""own evidence versions: a version per course and the version of each pair's last change, so
the class grid re-reads only the pairs a write changed and the district aggregates refresh the
students whose evidence changed

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-05 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keyed(name: str, *columns: sa.Column[object], unique: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("canvas_course_id", sa.String(length=64), nullable=False),
        *columns,
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platform.id"],
            name=op.f(f"fk_{name}_platform_id_platform"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=f"uq_{name}" + ("_course" if len(unique) == 2 else "")),
    )


def upgrade() -> None:
    _keyed(
        "own_evidence_version",
        sa.Column("district_version", sa.Integer(), server_default="0", nullable=False),
        unique=("platform_id", "canvas_course_id"),
    )
    _keyed(
        "own_evidence_pair_version",
        sa.Column("canvas_user_id", sa.String(length=64), nullable=False),
        sa.Column("canvas_outcome_id", sa.String(length=64), nullable=False),
        unique=("platform_id", "canvas_course_id", "canvas_user_id", "canvas_outcome_id"),
    )
    op.create_index(
        "ix_own_evidence_pair_version_since",
        "own_evidence_pair_version",
        ["platform_id", "canvas_course_id", "version"],
    )


def downgrade() -> None:
    op.drop_index("ix_own_evidence_pair_version_since", table_name="own_evidence_pair_version")
    op.drop_table("own_evidence_pair_version")
    op.drop_table("own_evidence_version")
