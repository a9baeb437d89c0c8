"""click identity: per-workspace click-id parameter, per-link ad click id pass-through,
and the ad platforms' click ids kept with each raw click (issue 10)

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN with a constant default on both backends: existing rows
    # get the default in place (no table rebuild, which on SQLite would cascade-delete the
    # rows referencing workspaces), existing workspaces append click ids from now on.
    op.add_column(
        "workspaces",
        sa.Column("click_id_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("workspaces", sa.Column("click_id_param", sa.String(length=64), nullable=True))
    op.add_column(
        "links",
        sa.Column("pass_ad_click_ids", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("clicks", sa.Column("ad_click_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("clicks", "ad_click_ids")
    op.drop_column("links", "pass_ad_click_ids")
    op.drop_column("workspaces", "click_id_param")
    op.drop_column("workspaces", "click_id_enabled")
