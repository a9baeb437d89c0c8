"""link imports: where each imported link came from, and its historical click total

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_imports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "workspace_id",
            sa.String(length=32),
            sa.ForeignKey(
                "workspaces.id", name="fk_link_imports_workspace_id_workspaces", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column(
            "link_id",
            sa.String(length=32),
            sa.ForeignKey("links.id", name="fk_link_imports_link_id_links", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=500), nullable=False),
        sa.Column("old_short_url", sa.Text(), nullable=True),
        sa.Column("imported_clicks", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_link_imports"),
        sa.UniqueConstraint(
            "workspace_id", "source", "source_key", name="uq_link_imports_workspace_source_key"
        ),
    )
    op.create_index("ix_link_imports_link", "link_imports", ["link_id"])


def downgrade() -> None:
    op.drop_index("ix_link_imports_link", table_name="link_imports")
    op.drop_table("link_imports")
