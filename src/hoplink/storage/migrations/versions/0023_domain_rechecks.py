"""periodic re-checks of verified domains (schedule and failure streak), codes of erased
workspaces' custom short domains kept reserved

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_TABLES = ("domains", "workspace_domains")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("next_check_at", sa.DateTime(), nullable=True))
            batch.add_column(
                sa.Column("failed_checks", sa.Integer(), nullable=False, server_default="0")
            )
            batch.add_column(sa.Column("failing_since", sa.DateTime(), nullable=True))
    op.create_table(
        "retired_host_codes",
        sa.Column("host_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("host_hash", "code", name="pk_retired_host_codes"),
    )


def downgrade() -> None:
    op.drop_table("retired_host_codes")
    for table in reversed(_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("failing_since")
            batch.drop_column("failed_checks")
            batch.drop_column("next_check_at")
