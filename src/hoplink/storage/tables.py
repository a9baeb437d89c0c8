"""The schema: one set of tables for SQLite and PostgreSQL.

Public identifiers are random prefixed strings (``lnk_…``), never sequential
numbers, so nothing in a URL can be enumerated. Every tenant-owned table
carries ``workspace_id`` and is only ever queried with it (see ``scope.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def _id() -> Column[str]:
    return Column("id", String(32), primary_key=True)


def _ws() -> Column[str]:
    return Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


workspaces = Table(
    "workspaces",
    metadata,
    _id(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("seller_id", String(64), nullable=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("param_template", JSON, nullable=False, default=dict),
    Column("custom_channels", JSON, nullable=False, default=list),
    Column("status", String(16), nullable=False, default="unverified"),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("is_platform_admin", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _ws(),
    Column("name", String(100), nullable=False),
    # The visible part of the key, unique, used to find the row; the rest is only hashed.
    Column("prefix", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

domains = Table(
    "domains",
    metadata,
    _id(),
    Column("hostname", String(253), nullable=False, unique=True),
    # NULL: a platform domain every workspace may use.
    Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True
    ),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    _ws(),
    Column("name", String(200), nullable=False),
    # The advertiser's own campaign ID (e.g. a Facebook campaign id), bound into links.
    Column("external_id", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_campaigns_workspace_name"),
)

links = Table(
    "links",
    metadata,
    _id(),
    _ws(),
    Column("domain_id", String(32), ForeignKey("domains.id"), nullable=False),
    # Case-sensitive; the unique constraint below is what prevents any overwrite.
    Column("code", String(64), nullable=False),
    Column("destination_url", Text, nullable=False),
    Column("final_url", Text, nullable=False),
    Column("utm_source", String(200), nullable=True),
    Column("utm_medium", String(200), nullable=True),
    Column("utm_campaign", String(200), nullable=True),
    Column("utm_term", String(200), nullable=True),
    Column("utm_content", String(200), nullable=True),
    Column("channel", String(32), nullable=True),
    Column(
        "campaign_id", String(32), ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True
    ),
    Column("title", String(300), nullable=True),
    Column("notes", Text, nullable=True),
    Column("archived", Boolean, nullable=False, default=False),
    # Append the visitor's own query parameters to the destination (never replacing ours).
    Column("forward_query", Boolean, nullable=False, default=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Deleted links stay as tombstones so their code is never handed to anyone else.
    Column("deleted_at", UTCDateTime, nullable=True),
    UniqueConstraint("domain_id", "code", name="uq_links_domain_code"),
    Index("ix_links_workspace_created", "workspace_id", "created_at"),
    Index("ix_links_workspace_campaign", "workspace_id", "campaign_id"),
)

tags = Table(
    "tags",
    metadata,
    _id(),
    _ws(),
    Column("name", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name", name="uq_tags_workspace_name"),
)

link_tags = Table(
    "link_tags",
    metadata,
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", String(32), ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_link_tags_tag", "tag_id"),
)

link_history = Table(
    "link_history",
    metadata,
    _id(),
    _ws(),
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", String(64), nullable=True),
    Column("field", String(32), nullable=False),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Index("ix_link_history_link", "link_id", "changed_at"),
)
