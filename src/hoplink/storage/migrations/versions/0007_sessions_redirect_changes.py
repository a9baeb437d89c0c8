"""server-side dashboard sessions, and the redirect change log serving processes poll

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-03 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New tables only: existing rows are untouched. Sessions signed before this revision
    # carry no session id and are asked to sign in again.
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column(
            "user_id",
            sa.String(length=32),
            sa.ForeignKey("users.id", name="fk_sessions_user_id_users", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "redirect_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_redirect_changes"),
    )
    op.create_index("ix_redirect_changes_at", "redirect_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_redirect_changes_at", table_name="redirect_changes")
    op.drop_table("redirect_changes")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
