"""custom short domains per workspace (verification, settings, suspension), operator
controls per workspace, public stats links

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows are platform domains: verified, with hoplink's own root and 404 pages.
    with op.batch_alter_table("domains") as batch:
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="verified")
        )
        batch.add_column(sa.Column("token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("method", sa.String(16), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(300), nullable=True))
        batch.add_column(sa.Column("checked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("root_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("not_found_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("robots", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("forward_query", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("workspace_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("short_domain_limit", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "short_domains_approved", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "public_stats",
        sa.Column(
            "link_id",
            sa.String(length=32),
            sa.ForeignKey("links.id", name="fk_public_stats_link_id_links", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", name="pk_public_stats"),
        sa.UniqueConstraint("token_hash", name="uq_public_stats_token_hash"),
    )


def downgrade() -> None:
    op.drop_table("public_stats")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("short_domains_approved")
        batch.drop_column("short_domain_limit")
    with op.batch_alter_table("domains") as batch:
        for column in (
            "workspace_default",
            "forward_query",
            "robots",
            "not_found_url",
            "root_url",
            "verified_at",
            "checked_at",
            "last_error",
            "method",
            "token",
            "status",
        ):
            batch.drop_column(column)
