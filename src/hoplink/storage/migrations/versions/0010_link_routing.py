"""link routing (rules, A/B test), schedule and click limit; the rule and variant of clicks

Revision ID: 0010
Revises: 0014
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: existing links route nowhere else, existing clicks had no rule.
    op.add_column("links", sa.Column("routing", sa.Text(), nullable=True))
    op.add_column("links", sa.Column("starts_at", sa.DateTime(), nullable=True))
    op.add_column("links", sa.Column("ends_at", sa.DateTime(), nullable=True))
    op.add_column("links", sa.Column("max_clicks", sa.Integer(), nullable=True))
    op.add_column("links", sa.Column("expiry_url", sa.Text(), nullable=True))
    op.add_column("links", sa.Column("exhausted_at", sa.DateTime(), nullable=True))
    op.add_column("clicks", sa.Column("rule", sa.String(32), nullable=True))
    op.add_column("clicks", sa.Column("variant", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clicks") as batch:
        batch.drop_column("variant")
        batch.drop_column("rule")
    with op.batch_alter_table("links") as batch:
        for column in ("exhausted_at", "expiry_url", "max_clicks", "ends_at", "starts_at"):
            batch.drop_column(column)
        batch.drop_column("routing")
