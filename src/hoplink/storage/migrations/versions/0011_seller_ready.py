"""seller-ready: disabled links (archive keeps redirecting), the workspace's fallback URL
for the visitor page, and per-workspace creation quotas set by the operator

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both backends: existing rows get the default in place
    # (no batch copy of links or workspaces, whose rebuild would cascade).
    op.add_column(
        "links",
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("workspaces", sa.Column("fallback_url", sa.Text(), nullable=True))
    op.add_column("workspaces", sa.Column("links_per_day", sa.Integer(), nullable=True))
    op.add_column("workspaces", sa.Column("links_per_month", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("workspaces", "links_per_month")
    op.drop_column("workspaces", "links_per_day")
    op.drop_column("workspaces", "fallback_url")
    op.drop_column("links", "disabled")
