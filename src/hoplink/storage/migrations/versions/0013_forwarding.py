"""ad platform forwarding: destinations per workspace, the queue and journal of events

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def _workspace(table: str) -> sa.Column[str]:
    return sa.Column(
        "workspace_id",
        sa.String(length=32),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "forward_destinations",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace("forward_destinations"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("credential_enc", sa.Text(), nullable=False),
        sa.Column("credential_hint", sa.String(length=8), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("click_sample_rate", sa.Float(), nullable=False),
        sa.Column("click_event_name", sa.String(length=50), nullable=True),
        sa.Column("test_code", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_forward_destinations"),
    )
    op.create_index("ix_forward_destinations_workspace", "forward_destinations", ["workspace_id"])
    op.create_table(
        "forward_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace("forward_events"),
        sa.Column(
            "destination_id",
            sa.String(length=32),
            sa.ForeignKey(
                "forward_destinations.id",
                name="fk_forward_events_destination_id_forward_destinations",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_forward_events"),
        sa.UniqueConstraint(
            "destination_id", "event_key", name="uq_forward_events_destination_key"
        ),
    )
    op.create_index("ix_forward_events_due", "forward_events", ["status", "next_attempt_at"])
    op.create_index(
        "ix_forward_events_workspace_created", "forward_events", ["workspace_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("forward_events")
    op.drop_table("forward_destinations")
