"""link routing (rules) and the rule that answered each click

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: existing links route nowhere else, existing clicks had no rule.
    op.add_column("links", sa.Column("routing", sa.Text(), nullable=True))
    op.add_column("clicks", sa.Column("rule", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clicks") as batch:
        batch.drop_column("rule")
    with op.batch_alter_table("links") as batch:
        batch.drop_column("routing")
