"""index of live links: the link list's count read from the index alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    # Partial: tombstones (deleted links) are never listed or counted.
    op.create_index(
        "ix_links_live",
        "links",
        ["workspace_id", "archived"],
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_links_live", table_name="links")
