"""ad platform forwarding: one queue row per batch of events (forward_batches) instead of
one per event (forward_events); queued and journalled events are carried over

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 00:00:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_CHUNK = 1000

_events = sa.table(
    "forward_events",
    sa.column("id", sa.String),
    sa.column("workspace_id", sa.String),
    sa.column("destination_id", sa.String),
    sa.column("event_key", sa.String),
    sa.column("kind", sa.String),
    sa.column("ref", sa.String),
    sa.column("group_key", sa.String),
    sa.column("payload", sa.Text),
    sa.column("occurred_at", sa.DateTime),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("next_attempt_at", sa.DateTime),
    sa.column("locked_until", sa.DateTime),
    sa.column("created_at", sa.DateTime),
    sa.column("sent_at", sa.DateTime),
    sa.column("answer_status", sa.Integer),
    sa.column("answer", sa.String),
    sa.column("error", sa.String),
)
_batches = sa.table(
    "forward_batches",
    sa.column("id", sa.String),
    sa.column("workspace_id", sa.String),
    sa.column("destination_id", sa.String),
    sa.column("status", sa.String),
    sa.column("size", sa.Integer),
    sa.column("kinds", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("next_attempt_at", sa.DateTime),
    sa.column("locked_until", sa.DateTime),
    sa.column("created_at", sa.DateTime),
    sa.column("sent_at", sa.DateTime),
    sa.column("answer_status", sa.Integer),
    sa.column("answer", sa.String),
    sa.column("error", sa.String),
)
_batch_events = sa.table(
    "forward_batch_events",
    sa.column("batch_id", sa.String),
    sa.column("workspace_id", sa.String),
    sa.column("events", sa.Text),
)
_SHARED = (
    "workspace_id",
    "destination_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "sent_at",
    "answer_status",
    "answer",
    "error",
)


def _workspace(table: str) -> sa.Column[str]:
    return sa.Column(
        "workspace_id",
        sa.String(length=32),
        sa.ForeignKey(
            "workspaces.id", name=f"fk_{table}_workspace_id_workspaces", ondelete="CASCADE"
        ),
        nullable=False,
    )


def _destination(table: str) -> sa.Column[str]:
    return sa.Column(
        "destination_id",
        sa.String(length=32),
        sa.ForeignKey(
            "forward_destinations.id",
            name=f"fk_{table}_destination_id_forward_destinations",
            ondelete="CASCADE",
        ),
        nullable=False,
    )


def _unix(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _naive(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None)


def upgrade() -> None:
    op.create_table(
        "forward_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace("forward_batches"),
        _destination("forward_batches"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kinds", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_forward_batches"),
    )
    op.create_index("ix_forward_batches_due", "forward_batches", ["status", "next_attempt_at"])
    op.create_index(
        "ix_forward_batches_workspace_created", "forward_batches", ["workspace_id", "created_at"]
    )
    op.create_index(
        "ix_forward_batches_destination_status", "forward_batches", ["destination_id", "status"]
    )
    op.create_table(
        "forward_batch_events",
        sa.Column(
            "batch_id",
            sa.String(length=32),
            sa.ForeignKey(
                "forward_batches.id",
                name="fk_forward_batch_events_batch_id_forward_batches",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        _workspace("forward_batch_events"),
        sa.Column("events", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_forward_batch_events"),
    )
    # Each journalled event becomes a batch of one, under its own id (its entry id stays).
    bind = op.get_bind()
    found = bind.execute(sa.select(_events).order_by(_events.c.id)).all()
    for start in range(0, len(found), _CHUNK):
        rows = found[start : start + _CHUNK]
        batches: list[dict[str, Any]] = []
        contents: list[dict[str, Any]] = []
        for r in rows:
            event: dict[str, Any] = {
                "id": r.id,
                "key": r.event_key,
                "kind": r.kind,
                "at": _unix(r.occurred_at),
                "payload": r.payload,  # JSON text, as the new code keeps it
            }
            if r.ref != r.event_key:
                event["ref"] = r.ref
            if r.group_key:
                event["group"] = r.group_key
            if r.status == "rejected" and r.error:
                event["error"] = r.error
            batch = {name: getattr(r, name) for name in _SHARED}
            batch |= {
                "id": r.id,
                "size": 1,
                "kinds": r.kind,
                "locked_until": None,  # a lease of a worker from before the upgrade ends
            }
            batches.append(batch)
            contents.append(
                {
                    "batch_id": r.id,
                    "workspace_id": r.workspace_id,
                    "events": json.dumps([event], separators=(",", ":")),
                }
            )
        bind.execute(_batches.insert(), batches)
        bind.execute(_batch_events.insert(), contents)
    op.drop_table("forward_events")


def downgrade() -> None:
    op.create_table(
        "forward_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        _workspace("forward_events"),
        _destination("forward_events"),
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
    bind = op.get_bind()
    seen: set[tuple[str, str]] = set()  # the old table kept one row per destination and key
    found = bind.execute(
        sa.select(_batches, _batch_events.c.events)
        .join(_batch_events, _batch_events.c.batch_id == _batches.c.id)
        .order_by(_batches.c.created_at, _batches.c.id)
    ).all()
    for start in range(0, len(found), _CHUNK // 10):
        batches = found[start : start + _CHUNK // 10]
        rows: list[dict[str, Any]] = []
        for b in batches:
            for e in json.loads(b.events):
                if (b.destination_id, e["key"]) in seen:
                    continue
                seen.add((b.destination_id, e["key"]))
                row = {name: getattr(b, name) for name in _SHARED}
                row |= {
                    "id": e["id"][:32],
                    "event_key": e["key"],
                    "kind": e["kind"],
                    "ref": e.get("ref", e["key"]),
                    "group_key": e.get("group", ""),
                    "payload": e["payload"],
                    "occurred_at": _naive(e["at"]),
                    "locked_until": None,
                    "error": e.get("error") or b.error,
                }
                rows.append(row)
        if rows:
            bind.execute(_events.insert(), rows)
    op.drop_table("forward_batch_events")
    op.drop_table("forward_batches")
