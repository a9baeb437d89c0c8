"""Alembic environment. hoplink always hands in an open connection (see ``migrate.py``)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from hoplink.storage.tables import UTCDateTime, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `hoplink db upgrade`, not the alembic command")


def _render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    # Migrations must not import application types that may change later.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
