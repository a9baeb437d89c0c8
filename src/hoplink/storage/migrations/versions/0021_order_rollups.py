"""order rollups: orders, GMV and refunds per model, hour or day, link, currency and touch
count, kept with the orders; backfilled from the existing orders

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _sums() -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in ("orders", "gmv", "refunded")]


# The rollups as storage/order_rollups.py writes them, from the orders and their touches:
# last click = the order's link ('' when unattributed), first click = the touch marked
# first, linear = every touch, grouped by the order's touch count (the reader divides).
# Plain SQL that SQLite and PostgreSQL both run (integer division of positive hours).
BACKFILL = [
    "INSERT INTO order_rollup_hours"
    " (workspace_id, model, hour, link_id, currency, touches, orders, gmv, refunded)"
    " SELECT workspace_id, 'last_click', placed_hour, COALESCE(link_id, ''), currency, 1,"
    " COUNT(*), SUM(amount), SUM(refunded) FROM orders"
    " GROUP BY workspace_id, placed_hour, COALESCE(link_id, ''), currency",
    "INSERT INTO order_rollup_hours"
    " (workspace_id, model, hour, link_id, currency, touches, orders, gmv, refunded)"
    " SELECT o.workspace_id, 'first_click', o.placed_hour, x.link_id, o.currency, 1,"
    " COUNT(*), SUM(o.amount), SUM(o.refunded)"
    " FROM order_touches x JOIN orders o ON o.id = x.order_pk"
    " WHERE x.is_first GROUP BY o.workspace_id, o.placed_hour, x.link_id, o.currency",
    "INSERT INTO order_rollup_hours"
    " (workspace_id, model, hour, link_id, currency, touches, orders, gmv, refunded)"
    " SELECT o.workspace_id, 'linear', o.placed_hour, x.link_id, o.currency, x.touches,"
    " COUNT(*), SUM(o.amount), SUM(o.refunded)"
    " FROM order_touches x JOIN orders o ON o.id = x.order_pk"
    " GROUP BY o.workspace_id, o.placed_hour, x.link_id, o.currency, x.touches",
    "INSERT INTO order_rollup_days"
    " (workspace_id, model, day, link_id, currency, touches, orders, gmv, refunded)"
    " SELECT workspace_id, model, hour / 24, link_id, currency, touches,"
    " SUM(orders), SUM(gmv), SUM(refunded) FROM order_rollup_hours"
    " GROUP BY workspace_id, model, hour / 24, link_id, currency, touches",
    "INSERT INTO order_rollup_workspace_hours"
    " (workspace_id, hour, currency, orders, gmv, refunded)"
    " SELECT workspace_id, hour, currency, SUM(orders), SUM(gmv), SUM(refunded)"
    " FROM order_rollup_hours WHERE model = 'last_click'"
    " GROUP BY workspace_id, hour, currency",
]


def _create(name: str, bucket: str) -> None:
    op.create_table(
        name,
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=12), nullable=False),
        sa.Column(bucket, sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint(
            "workspace_id", "model", bucket, "link_id", "currency", "touches", name=f"pk_{name}"
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(f"ix_{name}_link", name, ["workspace_id", "link_id", "model", bucket])


def upgrade() -> None:
    _create("order_rollup_hours", "hour")
    _create("order_rollup_days", "day")
    op.create_table(
        "order_rollup_workspace_hours",
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_sums(),
        sa.PrimaryKeyConstraint(
            "workspace_id", "hour", "currency", name="pk_order_rollup_workspace_hours"
        ),
        sqlite_with_rowid=False,
    )
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("order_rollup_workspace_hours")
    op.drop_index("ix_order_rollup_days_link", table_name="order_rollup_days")
    op.drop_table("order_rollup_days")
    op.drop_index("ix_order_rollup_hours_link", table_name="order_rollup_hours")
    op.drop_table("order_rollup_hours")
