"""seller eligibility, moderation and privacy: link bans, visitor reports, audit log,
retired codes, and the reason of a workspace's status

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("lifted_at IS NULL")


def _ws_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "workspace_id",
        sa.String(length=32),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _link_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "link_id",
        sa.String(length=32),
        sa.ForeignKey("links.id", name=f"fk_{table}_link_id_links", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite >= 3.35): never a batch copy of
    # workspaces, whose rebuild would cascade-delete every row that references it.
    op.add_column("workspaces", sa.Column("status_reason", sa.Text(), nullable=True))
    op.add_column(
        "workspaces", sa.Column("status_before_suspension", sa.String(length=16), nullable=True)
    )

    op.create_table(
        "link_bans",
        sa.Column("id", sa.String(length=32), nullable=False),
        _ws_fk("link_bans"),
        _link_fk("link_bans"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=True),
        sa.Column("banned_by", sa.String(length=64), nullable=True),
        sa.Column("banned_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_link_bans"),
    )
    op.create_index(
        "ix_link_bans_active",
        "link_bans",
        ["link_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_index("ix_link_bans_workspace", "link_bans", ["workspace_id", "banned_at"])

    op.create_table(
        "link_reports",
        sa.Column("id", sa.String(length=32), nullable=False),
        _ws_fk("link_reports"),
        _link_fk("link_reports"),
        sa.Column("short_url", sa.String(length=400), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("reporter_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_by", sa.String(length=64), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_link_reports"),
    )
    op.create_index("ix_link_reports_status", "link_reports", ["status", "created_at"])
    op.create_index("ix_link_reports_workspace", "link_reports", ["workspace_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("workspace_id", sa.String(length=32), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_workspace_at", "audit_log", ["workspace_id", "at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "retired_codes",
        sa.Column(
            "domain_id",
            sa.String(length=32),
            sa.ForeignKey(
                "domains.id", name="fk_retired_codes_domain_id_domains", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("domain_id", "code", name="pk_retired_codes"),
    )


def downgrade() -> None:
    op.drop_table("retired_codes")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_workspace_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_link_reports_workspace", table_name="link_reports")
    op.drop_index("ix_link_reports_status", table_name="link_reports")
    op.drop_table("link_reports")
    op.drop_index("ix_link_bans_workspace", table_name="link_bans")
    op.drop_index("ix_link_bans_active", table_name="link_bans")
    op.drop_table("link_bans")
    op.drop_column("workspaces", "status_before_suspension")
    op.drop_column("workspaces", "status_reason")
