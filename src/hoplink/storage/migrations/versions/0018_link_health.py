"""destination health: per-link check schedule and verdict, and the history of changes

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "link_health",
        sa.Column("link_id", sa.String(length=32), _fk("link_health", "link_id", "links"),
                  nullable=False),
        sa.Column("workspace_id", sa.String(length=32),
                  _fk("link_health", "workspace_id", "workspaces"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("next_check_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("lease", sa.String(length=32), nullable=True),
        sa.Column("auto_fallback", sa.String(length=16), nullable=False),
        sa.Column("switched_from", sa.Text(), nullable=True),
        sa.Column("switched_to", sa.Text(), nullable=True),
        sa.Column("validators", sa.Text(), nullable=True),
        sa.Column("urls_sig", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("link_id", name="pk_link_health"),
    )  # fmt: skip
    op.create_index("ix_link_health_due", "link_health", ["next_check_at"])
    op.create_index("ix_link_health_workspace_state", "link_health", ["workspace_id", "state"])
    op.create_table(
        "link_health_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32),
                  _fk("link_health_events", "workspace_id", "workspaces"), nullable=False),
        sa.Column("link_id", sa.String(length=32), _fk("link_health_events", "link_id", "links"),
                  nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("old_state", sa.String(length=16), nullable=False),
        sa.Column("new_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("switch", sa.String(length=16), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_link_health_events"),
    )  # fmt: skip
    op.create_index("ix_link_health_events_workspace", "link_health_events", ["workspace_id", "at"])
    op.create_index("ix_link_health_events_link", "link_health_events", ["link_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_link_health_events_link", table_name="link_health_events")
    op.drop_index("ix_link_health_events_workspace", table_name="link_health_events")
    op.drop_table("link_health_events")
    op.drop_index("ix_link_health_workspace_state", table_name="link_health")
    op.drop_index("ix_link_health_due", table_name="link_health")
    op.drop_table("link_health")
