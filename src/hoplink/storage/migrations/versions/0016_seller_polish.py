"""seller polish: QR logos of workspaces; bulk upload results kept across restarts

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 20:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _workspace_fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(
        "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "qr_logos",
        sa.Column("workspace_id", sa.String(length=32), _workspace_fk("qr_logos"), nullable=False),
        sa.Column("png_base64", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_qr_logos"),
    )
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.String(length=32), _workspace_fk("bulk_jobs"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_jobs"),
    )
    op.create_index("ix_bulk_jobs_workspace", "bulk_jobs", ["workspace_id", "started_at"])
    op.create_index("ix_bulk_jobs_expires", "bulk_jobs", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_bulk_jobs_expires", table_name="bulk_jobs")
    op.drop_index("ix_bulk_jobs_workspace", table_name="bulk_jobs")
    op.drop_table("bulk_jobs")
    op.drop_table("qr_logos")
