"""conversions: orders (with revisions and attribution touches), conversion events, ingest
keys, attribution settings, commission rules, exchange rates, ad spend; clicks by visitor

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0012"
branch_labels = None
depends_on = None


def _ws_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "workspace_id",
        sa.String(length=32),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _id(table: str) -> tuple[sa.Column[str], sa.PrimaryKeyConstraint]:
    return sa.Column("id", sa.String(length=32), nullable=False), sa.PrimaryKeyConstraint(
        "id", name=f"pk_{table}"
    )


def upgrade() -> None:
    # The other clicks of an order's visitor (attribution paths); built in place.
    op.create_index("ix_clicks_visitor_ts", "clicks", ["visitor_hash", "ts"])

    op.create_table(
        "conversion_settings",
        sa.Column(
            "workspace_id",
            sa.String(length=32),
            sa.ForeignKey(
                "workspaces.id",
                name="fk_conversion_settings_workspace_id_workspaces",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("commission_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_conversion_settings"),
    )
    op.create_table(
        "commission_rules",
        *_id("commission_rules"),
        _ws_fk("commission_rules"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id", "kind", "ref", name="uq_commission_rules_workspace_kind_ref"
        ),
    )
    op.create_table(
        "orders",
        *_id("orders"),
        _ws_fk("orders"),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("placed_hour", sa.Integer(), nullable=False),
        sa.Column("click_id", sa.String(length=64), nullable=True),
        sa.Column("link_id", sa.String(length=32), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=True),
        sa.Column("unattributed", sa.String(length=32), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("customer", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("workspace_id", "order_id", name="uq_orders_workspace_order_id"),
    )
    op.create_index("ix_orders_workspace_hour", "orders", ["workspace_id", "placed_hour"])
    op.create_index("ix_orders_workspace_placed", "orders", ["workspace_id", "placed_at"])
    op.create_table(
        "order_revisions",
        *_id("order_revisions"),
        _ws_fk("order_revisions"),
        sa.Column(
            "order_pk",
            sa.String(length=32),
            sa.ForeignKey(
                "orders.id", name="fk_order_revisions_order_pk_orders", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_order_revisions_order", "order_revisions", ["order_pk", "revision"])
    op.create_table(
        "order_touches",
        sa.Column(
            "order_pk",
            sa.String(length=32),
            sa.ForeignKey("orders.id", name="fk_order_touches_order_pk_orders", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("click_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("is_last", sa.Boolean(), nullable=False),
        sa.Column("touches", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_pk", "click_id", name="pk_order_touches"),
    )
    op.create_index("ix_order_touches_workspace_link", "order_touches", ["workspace_id", "link_id"])
    op.create_table(
        "conversion_events",
        *_id("conversion_events"),
        _ws_fk("conversion_events"),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("customer", sa.JSON(), nullable=False),
        sa.Column("click_id", sa.String(length=64), nullable=True),
        sa.Column("link_id", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.UniqueConstraint(
            "workspace_id", "event_id", name="uq_conversion_events_workspace_event_id"
        ),
    )
    op.create_index(
        "ix_conversion_events_workspace_at", "conversion_events", ["workspace_id", "occurred_at"]
    )
    op.create_table(
        "ingest_keys",
        *_id("ingest_keys"),
        _ws_fk("ingest_keys"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("prefix", name="uq_ingest_keys_prefix"),
    )
    op.create_table(
        "fx_rates",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("quote", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "base", "quote", name="pk_fx_rates"),
    )
    op.create_table(
        "ad_spend",
        *_id("ad_spend"),
        _ws_fk("ad_spend"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("ad_group", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("spend", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "workspace_id",
            "day",
            "platform",
            "campaign",
            "ad_group",
            name="uq_ad_spend_workspace_day",
        ),
    )


def downgrade() -> None:
    op.drop_table("ad_spend")
    op.drop_table("fx_rates")
    op.drop_table("ingest_keys")
    op.drop_index("ix_conversion_events_workspace_at", table_name="conversion_events")
    op.drop_table("conversion_events")
    op.drop_index("ix_order_touches_workspace_link", table_name="order_touches")
    op.drop_table("order_touches")
    op.drop_index("ix_order_revisions_order", table_name="order_revisions")
    op.drop_table("order_revisions")
    op.drop_index("ix_orders_workspace_placed", table_name="orders")
    op.drop_index("ix_orders_workspace_hour", table_name="orders")
    op.drop_table("orders")
    op.drop_table("commission_rules")
    op.drop_table("conversion_settings")
    op.drop_index("ix_clicks_visitor_ts", table_name="clicks")
