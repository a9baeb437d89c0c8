"""clicks and rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 03:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ROLLUPS = (
    # (table, owner column, bucket column, with dim/value)
    ("rollup_link_hours", "link_id", "hour", False),
    ("rollup_link_days", "link_id", "day", False),
    ("rollup_workspace_hours", "workspace_id", "hour", False),
    ("rollup_workspace_days", "workspace_id", "day", False),
    ("rollup_link_dim_hours", "link_id", "hour", True),
    ("rollup_link_dim_days", "link_id", "day", True),
    ("rollup_workspace_dim_hours", "workspace_id", "hour", True),
    ("rollup_workspace_dim_days", "workspace_id", "day", True),
)


def _create_rollup(name: str, owner: str, bucket: str, dims: bool) -> None:
    key = [owner, bucket, *(("dim", "value") if dims else ())]
    columns: list[sa.Column[Any]] = [
        sa.Column(owner, sa.String(length=32), nullable=False),
        sa.Column(bucket, sa.Integer(), nullable=False),
    ]
    if dims:
        columns += [
            sa.Column("dim", sa.String(length=16), nullable=False),
            sa.Column("value", sa.String(length=255), nullable=False),
        ]
    if owner == "link_id":
        columns.append(sa.Column("workspace_id", sa.String(length=32), nullable=False))
    columns += [
        sa.Column("pv", sa.Integer(), nullable=False),
        sa.Column("human_pv", sa.Integer(), nullable=False),
        sa.Column("uv_day", sa.Integer(), nullable=False),
    ]
    if bucket == "hour" and not dims:
        columns.append(sa.Column("uv_hour", sa.Integer(), nullable=False))
    op.create_table(
        name,
        *columns,
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )
    if owner == "link_id" and not dims:
        # Covering: workspace-wide breakdowns by channel/campaign never touch the rows.
        op.create_index(
            f"ix_{name}_workspace",
            name,
            ["workspace_id", bucket, "link_id", "pv", "human_pv", "uv_day"],
        )


def upgrade() -> None:
    op.create_table(
        "clicks",
        sa.Column("click_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), nullable=False),
        sa.Column("link_id", sa.String(length=32), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("country", sa.String(length=16), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=False),
        sa.Column("referrer_host", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("os", sa.String(length=100), nullable=False),
        sa.Column("browser", sa.String(length=100), nullable=False),
        sa.Column("bot", sa.String(length=32), nullable=True),
        sa.Column("bot_name", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("click_id", name=op.f("pk_clicks")),
    )
    op.create_index("ix_clicks_ts", "clicks", ["ts"])
    op.create_index("ix_clicks_link_ts", "clicks", ["link_id", "ts"])
    for name, owner, bucket, dims in _ROLLUPS:
        _create_rollup(name, owner, bucket, dims)
    op.create_table(
        "visitor_seen",
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.String(length=32), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "bucket", "scope_id", "visitor_hash", name=op.f("pk_visitor_seen")
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("visitor_seen")
    for name, owner, _bucket, dims in reversed(_ROLLUPS):
        if owner == "link_id" and not dims:
            op.drop_index(f"ix_{name}_workspace", table_name=name)
        op.drop_table(name)
    op.drop_index("ix_clicks_link_ts", table_name="clicks")
    op.drop_index("ix_clicks_ts", table_name="clicks")
    op.drop_table("clicks")
