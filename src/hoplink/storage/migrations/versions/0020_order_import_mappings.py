"""saved column mappings of marketplace order-export CSVs; covering indexes for the
conversion report

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_import_mappings",
        sa.Column(
            "workspace_id",
            sa.String(length=32),
            sa.ForeignKey(
                "workspaces.id",
                name="fk_order_import_mappings_workspace_id_workspaces",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("preset", sa.String(length=16), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_order_import_mappings"),
    )
    # The report's hour-range scan reads only these columns (an index-only scan); the old
    # (workspace_id, placed_hour) index is its prefix.
    op.create_index(
        "ix_orders_report",
        "orders",
        ["workspace_id", "placed_hour", "link_id", "currency", "amount", "refunded", "id"],
    )
    op.drop_index("ix_orders_workspace_hour", table_name="orders")
    # The orders list pages newest first without a sort, all orders or by link (or none).
    op.create_index("ix_orders_list", "orders", ["workspace_id", "placed_at", "id"])
    op.create_index("ix_orders_link_list", "orders", ["workspace_id", "link_id", "placed_at", "id"])
    op.drop_index("ix_orders_workspace_placed", table_name="orders")
    op.create_index(
        "ix_order_touches_report",
        "order_touches",
        ["order_pk", "workspace_id", "link_id", "touches", "is_first"],
    )


def downgrade() -> None:
    op.drop_index("ix_order_touches_report", table_name="order_touches")
    op.create_index("ix_orders_workspace_placed", "orders", ["workspace_id", "placed_at"])
    op.drop_index("ix_orders_link_list", table_name="orders")
    op.drop_index("ix_orders_list", table_name="orders")
    op.create_index("ix_orders_workspace_hour", "orders", ["workspace_id", "placed_hour"])
    op.drop_index("ix_orders_report", table_name="orders")
    op.drop_table("order_import_mappings")
