"""visitor salts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitor_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_visitor_salts")),
    )


def downgrade() -> None:
    op.drop_table("visitor_salts")
