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
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
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
    # Why the status was last changed (shown to the seller while suspended), and the status
    # a suspension replaced, so reinstating restores it (issue 6).
    Column("status_reason", Text, nullable=True),
    Column("status_before_suspension", String(16), nullable=True),
    # Append the click id to every redirect's Location (issue 10), under this parameter
    # name (NULL: the operator's HOPLINK_CLICK_ID_PARAM).
    Column("click_id_enabled", Boolean, nullable=False, default=True, server_default=true()),
    Column("click_id_param", String(64), nullable=True),
    # Where the visitor page of a disabled or unknown link points the shopper (issue 14).
    Column("fallback_url", Text, nullable=True),
    # Links the workspace may create per UTC day / month; NULL: the operator's defaults.
    Column("links_per_day", Integer, nullable=True),
    Column("links_per_month", Integer, nullable=True),
    # Custom short domains it may have (NULL: the operator's default), and whether a platform
    # admin approved it for them (HOPLINK_CUSTOM_DOMAINS=approval).
    Column("short_domain_limit", Integer, nullable=True),
    Column(
        "short_domains_approved", Boolean, nullable=False, default=False, server_default=false()
    ),
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
    # Custom short domains (issue 16; docs/domains.md). status: pending | verified |
    # suspended (by the operator) | removed (by its workspace: the row and its links stay,
    # so their codes stay reserved). Platform domains are verified.
    Column("status", String(16), nullable=False, default="verified", server_default="verified"),
    # The verification token (TXT value and CNAME label), how and when it was proven.
    Column("token", String(64), nullable=True),
    Column("method", String(16), nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("checked_at", UTCDateTime, nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
    # Where "/" and unknown codes send visitors (NULL: hoplink's page), robots.txt (NULL:
    # disallow all), the default of new links' forward_query, the workspace's default domain.
    Column("root_url", Text, nullable=True),
    Column("not_found_url", Text, nullable=True),
    Column("robots", Text, nullable=True),
    Column("forward_query", Boolean, nullable=False, default=False, server_default=false()),
    Column("workspace_default", Boolean, nullable=False, default=False, server_default=false()),
    # Periodic re-checks of a verified domain's proof (hoplink.domains.rechecker): when the
    # next is due, and the current streak of failed checks (none: 0 and NULL).
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("failed_checks", Integer, nullable=False, default=0, server_default="0"),
    Column("failing_since", UTCDateTime, nullable=True),
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
    # Archived links are hidden from the list and reports but keep redirecting.
    Column("archived", Boolean, nullable=False, default=False),
    # Disabled links answer the visitor page instead of redirecting (issue 14).
    Column("disabled", Boolean, nullable=False, default=False, server_default=false()),
    # Append the visitor's own query parameters to the destination (never replacing ours).
    Column("forward_query", Boolean, nullable=False, default=False),
    # Routing rules (issue 12) as JSON, read by the redirect with the link (NULL: none).
    Column("routing", Text, nullable=True),
    # Schedule and limits (issue 12): served from starts_at until ends_at (NULL: open), up to
    # max_clicks human clicks (the worker sets exhausted_at when they are reached); after
    # that, expiry_url (policy-checked) or a 410 page.
    Column("starts_at", UTCDateTime, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("max_clicks", Integer, nullable=True),
    Column("expiry_url", Text, nullable=True),
    Column("exhausted_at", UTCDateTime, nullable=True),
    # Pass the ad platforms' click ids (fbclid, gclid, ...) on, even without forward_query.
    Column("pass_ad_click_ids", Boolean, nullable=False, default=False, server_default=false()),
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Deleted links stay as tombstones so their code is never handed to anyone else.
    Column("deleted_at", UTCDateTime, nullable=True),
    UniqueConstraint("domain_id", "code", name="uq_links_domain_code"),
    Index("ix_links_workspace_created", "workspace_id", "created_at"),
    Index("ix_links_workspace_campaign", "workspace_id", "campaign_id"),
    # The list's count of live links (tombstones left out), answered from this index alone;
    # the two key columns repeat, so PostgreSQL deduplicates it to a few pages.
    Index(
        "ix_links_live",
        "workspace_id",
        "archived",
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
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

# One random secret per UTC day; visitor hashes are keyed with it so a visitor is the same
# person within a day on every web node, and unlinkable once the row is deleted (day + 2).
visitor_salts = Table(
    "visitor_salts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("secret", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Destination domains a workspace claims (issue 6): allowed as link targets in allowlist mode
# once verified by a token at /.well-known/hoplink-verification/<token>, a DNS TXT record or
# a platform admin. status: pending | verified | failed; method: how it was verified.
workspace_domains = Table(
    "workspace_domains",
    metadata,
    _id(),
    _ws(),
    Column("hostname", String(253), nullable=False),
    Column("token", String(64), nullable=False),
    Column("method", String(16), nullable=True),
    Column("status", String(16), nullable=False, default="pending"),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime, nullable=True),
    Column("verified_at", UTCDateTime, nullable=True),
    # Periodic re-checks of a verified domain's proof (hoplink.domains.rechecker): when the
    # next is due, and the current streak of failed checks (none: 0 and NULL).
    Column("next_check_at", UTCDateTime, nullable=True),
    Column("failed_checks", Integer, nullable=False, default=0, server_default="0"),
    Column("failing_since", UTCDateTime, nullable=True),
    UniqueConstraint("workspace_id", "hostname", name="uq_workspace_domains_workspace_hostname"),
)

# --- Clicks and rollups (issue 3: worker, enrichment, stats) ------------------------------
# No foreign keys below: the worker checks link and workspace once per batch, and a click
# must never block a batch because its link was removed between the redirect and the write.
# Rollup buckets are integers: ``hour`` = unix time // 3600 and ``day`` = hour // 24 (UTC),
# cheap to compare and identical on both backends.

# The raw click log, kept for HOPLINK_CLICK_RETENTION_DAYS; the rollups are derived from it.
# Referrers are kept as a host only: paths and queries can carry personal data.
clicks = Table(
    "clicks",
    metadata,
    Column("click_id", String(64), primary_key=True),
    Column("ts", UTCDateTime, nullable=False),
    Column("workspace_id", String(32), nullable=False),
    Column("link_id", String(32), nullable=False),
    Column("domain", String(253), nullable=False),
    Column("method", String(8), nullable=False),
    Column("country", String(16), nullable=False),
    Column("visitor_hash", String(64), nullable=False),
    Column("user_agent", Text, nullable=False),
    Column("referrer_host", String(255), nullable=False),
    Column("language", String(16), nullable=False),
    Column("device", String(16), nullable=False),
    Column("os", String(100), nullable=False),
    Column("browser", String(100), nullable=False),
    # Why the click was flagged as a bot (NULL: a person) and which bot it was.
    Column("bot", String(32), nullable=True),
    Column("bot_name", String(100), nullable=True),
    # The routing rule that answered ("default": none matched; NULL: the link had no rules).
    Column("rule", String(32), nullable=True),
    # The A/B test variant the visitor was sent to (NULL: no test running).
    Column("variant", String(32), nullable=True),
    # The ad platforms' click ids the visit arrived with, as compact JSON text
    # ({"fbclid": "..."}; NULL: none, as for most clicks). See clicks/adids.py.
    Column("ad_click_ids", Text, nullable=True),
    Index("ix_clicks_ts", "ts"),
    Index("ix_clicks_link_ts", "link_id", "ts"),
    # Attribution (issue 10): the other clicks of the same visitor before an order.
    Index("ix_clicks_visitor_ts", "visitor_hash", "ts"),
)


def _counts(*, uv_hour: bool) -> list[Column[int]]:
    # pv: every click; human_pv: clicks not flagged as bots (bot PV = pv - human_pv);
    # uv_day: visitors whose first human click of their UTC day fell in this bucket, so the
    # sum over any span of a UTC day is that span's exact distinct-visitor count when it
    # starts at midnight; uv_hour: distinct visitors within the hour.
    cols = [
        Column("pv", Integer, nullable=False, default=0),
        Column("human_pv", Integer, nullable=False, default=0),
        Column("uv_day", Integer, nullable=False, default=0),
    ]
    if uv_hour:
        cols.append(Column("uv_hour", Integer, nullable=False, default=0))
    return cols


def _rollup(name: str, owner: str, bucket: str, *, dims: bool) -> Table:
    """One rollup table: counts per ``owner`` (link_id or workspace_id) and ``bucket``."""
    keys: list[Column[Any]] = [
        Column(owner, String(32), primary_key=True),
        Column(bucket, Integer, primary_key=True),
    ]
    if dims:
        keys += [
            Column("dim", String(16), primary_key=True),
            Column("value", String(255), primary_key=True),
        ]
    extra: list[Any] = []
    if owner == "link_id":
        keys.append(Column("workspace_id", String(32), nullable=False))
        if not dims:
            # Workspace-wide breakdowns by channel or campaign read every link's counts of a
            # range: a covering index makes that one contiguous index scan, no row lookups.
            extra.append(
                Index(
                    f"ix_{name}_workspace",
                    "workspace_id",
                    bucket,
                    "link_id",
                    "pv",
                    "human_pv",
                    "uv_day",
                )
            )
    # WITHOUT ROWID: on SQLite the table is its primary-key B-tree, so a range scan over
    # (owner, bucket) reads the counts in place instead of following a rowid per row.
    return Table(
        name,
        metadata,
        *keys,
        *_counts(uv_hour=bucket == "hour" and not dims),
        *extra,
        sqlite_with_rowid=False,
    )


rollup_link_hours = _rollup("rollup_link_hours", "link_id", "hour", dims=False)
rollup_link_days = _rollup("rollup_link_days", "link_id", "day", dims=False)
rollup_workspace_hours = _rollup("rollup_workspace_hours", "workspace_id", "hour", dims=False)
rollup_workspace_days = _rollup("rollup_workspace_days", "workspace_id", "day", dims=False)
rollup_link_dim_hours = _rollup("rollup_link_dim_hours", "link_id", "hour", dims=True)
rollup_link_dim_days = _rollup("rollup_link_dim_days", "link_id", "day", dims=True)
rollup_workspace_dim_hours = _rollup(
    "rollup_workspace_dim_hours", "workspace_id", "hour", dims=True
)
rollup_workspace_dim_days = _rollup("rollup_workspace_dim_days", "workspace_id", "day", dims=True)

# Which visitors were already counted: grain "h" (bucket = hour) or "d" (bucket = day), per
# link or workspace (scope_id). An insert that is ignored means "seen before". Visitor
# hashes rotate every UTC day, so rows older than two days are useless and purged.
visitor_seen = Table(
    "visitor_seen",
    metadata,
    Column("grain", String(1), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("scope_id", String(32), primary_key=True),
    Column("visitor_hash", String(64), primary_key=True),
    sqlite_with_rowid=False,
)


# --- Seller eligibility, moderation and privacy (issue 6) ---------------------------------

# A platform admin's ban of one link (history kept: lifting a ban sets lifted_at). At most one
# active ban per link; the redirect answers 410 while it lasts.
link_bans = Table(
    "link_bans",
    metadata,
    _id(),
    _ws(),
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("report_id", String(32), nullable=True),
    Column("banned_by", String(64), nullable=True),
    Column("banned_at", UTCDateTime, nullable=False),
    Column("lifted_by", String(64), nullable=True),
    Column("lifted_at", UTCDateTime, nullable=True),
    Column("lift_reason", Text, nullable=True),
    Index(
        "ix_link_bans_active",
        "link_id",
        unique=True,
        sqlite_where=text("lifted_at IS NULL"),
        postgresql_where=text("lifted_at IS NULL"),
    ),
    Index("ix_link_bans_workspace", "workspace_id", "banned_at"),
)

# A visitor's report of a short link (the /report form). No client address: reporter_hash is
# a keyed hash that only tells an admin that two reports came from the same visitor that day.
link_reports = Table(
    "link_reports",
    metadata,
    _id(),
    _ws(),
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("short_url", String(400), nullable=False),
    Column("category", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("contact_email", String(254), nullable=True),
    Column("reporter_hash", String(64), nullable=False),
    # open | resolved | dismissed
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("handled_by", String(64), nullable=True),
    Column("handled_at", UTCDateTime, nullable=True),
    Column("resolution", Text, nullable=True),
    Index("ix_link_reports_status", "status", "created_at"),
    Index("ix_link_reports_workspace", "workspace_id"),
)

# Security-relevant actions (hoplink.audit). workspace_id is a plain column, not a foreign
# key: erasing a workspace deletes its entries explicitly, and platform-wide entries have none.
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(64), nullable=False),
    Column("actor", String(64), nullable=True),
    Column("workspace_id", String(32), nullable=True),
    Column("target", String(200), nullable=True),
    Column("detail", JSON, nullable=False, default=dict),
    Index("ix_audit_log_workspace_at", "workspace_id", "at"),
    Index("ix_audit_log_at", "at"),
)

# Codes of an erased workspace's links on platform domains: never handed out again, so an
# old short link shared somewhere can never start sending its visitors to another seller.
retired_codes = Table(
    "retired_codes",
    metadata,
    Column(
        "domain_id",
        String(32),
        ForeignKey("domains.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("code", String(64), primary_key=True),
    Column("retired_at", UTCDateTime, nullable=False),
)

# Codes of an erased workspace's links on its custom short domains (whose rows go with it):
# kept by the SHA-256 of the host name, so a later claim of the same host never hands out
# a code still printed somewhere, and the list names no domain, workspace or person.
retired_host_codes = Table(
    "retired_host_codes",
    metadata,
    Column("host_hash", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("retired_at", UTCDateTime, nullable=False),
)

# A link's public stats page (issue 16): opt-in, found by the SHA-256 of its unguessable
# token (shown once), revoked by deleting the row.
public_stats = Table(
    "public_stats",
    metadata,
    Column(
        "link_id",
        String(32),
        ForeignKey("links.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("workspace_id", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- Webhooks (issue 10): endpoints, the transactional outbox, the delivery log ---

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(),
    _ws(),
    Column("url", Text, nullable=False),
    # Event types it receives, space-separated ("link.created click").
    Column("events", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    # Fernet tokens of the signing secrets (signing needs the raw secret); the previous
    # secret keeps signing too until previous_secret_until (rotation overlap).
    Column("secret_enc", Text, nullable=False),
    Column("previous_secret_enc", Text, nullable=True),
    Column("previous_secret_until", UTCDateTime, nullable=True),
    Column("description", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_webhook_endpoints_workspace", "workspace_id"),
)

# One row per (event, endpoint): written in the transaction of the change, delivered later.
webhook_messages = Table(
    "webhook_messages",
    metadata,
    _id(),  # the webhook-id receivers dedupe by
    _ws(),
    Column(
        "endpoint_id",
        String(32),
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_type", String(40), nullable=False),
    Column("payload", Text, nullable=False),  # the exact JSON body that is signed
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # A worker holds the row until then; past it (the worker died) another takes it.
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_webhook_messages_due", "status", "next_attempt_at"),
    Index("ix_webhook_messages_endpoint", "endpoint_id", "created_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _id(),
    Column(
        "message_id",
        String(32),
        ForeignKey("webhook_messages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),  # None: no HTTP answer (see error)
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(300), nullable=True),
    Column("response_snippet", String(500), nullable=True),
    Index("ix_webhook_attempts_message", "message_id", "attempted_at"),
)

# --- Ad platform forwarding (issue 11): destinations, the queue and journal of events ---

forward_destinations = Table(
    "forward_destinations",
    metadata,
    _id(),
    _ws(),
    Column("kind", String(16), nullable=False),  # ga4 | meta | tiktok
    Column("name", String(100), nullable=False),
    # GA4 measurement id, Meta pixel (dataset) id, TikTok pixel code: not secret.
    Column("account_id", String(64), nullable=False),
    # Fernet token of the API secret / access token; its last 4 characters for display.
    Column("credential_enc", Text, nullable=False),
    Column("credential_hint", String(8), nullable=False),
    # Events it receives, space-separated ("click purchase refund lead").
    Column("events", Text, nullable=False),
    Column("click_sample_rate", Float, nullable=False),  # 0 to 1
    Column("click_event_name", String(50), nullable=True),  # None: the platform's default
    Column("test_code", String(64), nullable=True),  # Meta / TikTok test_event_code
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_forward_destinations_workspace", "workspace_id"),
)

# The queue and journal of forwarded events, one row per BATCH of events for one
# destination (issue 11: a row per event cost ~4 row writes per click). Its events share a
# fate: queued together (by the click forwarder or in the transaction that records the
# conversions), claimed under one lease, sent (one request, or one per GA4 client_id), and
# their outcome written with one update; a request whose answer differs from the others'
# moves its events to a row of their own. status: pending | sent | dead (permanent refusal
# or retries exhausted; replayable) | rejected (outside the platform's rules: never sent,
# each event with its rule in the JSON).
forward_batches = Table(
    "forward_batches",
    metadata,
    _id(),
    _ws(),
    Column(
        "destination_id",
        String(32),
        ForeignKey("forward_destinations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("size", Integer, nullable=False),  # events in the batch
    Column("kinds", String(64), nullable=False),  # distinct kinds, space-separated
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("answer_status", Integer, nullable=True),
    Column("answer", String(500), nullable=True),
    Column("error", String(300), nullable=True),
    Index("ix_forward_batches_due", "status", "next_attempt_at"),
    Index("ix_forward_batches_workspace_created", "workspace_id", "created_at"),
    Index("ix_forward_batches_destination_status", "destination_id", "status"),
)

# The events of a batch: the JSON list of hoplink.forwarding.models.queued_event, each with
# its own id (the journal's entry id) and the platform's dedup key. Apart from the batch's
# row so that claiming and settling a batch (two updates) does not rewrite them: written
# once, read once per attempt, rewritten only when a batch is split.
forward_batch_events = Table(
    "forward_batch_events",
    metadata,
    Column(
        "batch_id",
        String(32),
        ForeignKey("forward_batches.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _ws(),
    Column("events", Text, nullable=False),
)

# Dashboard sign-ins (hoplink.accounts.sessions). The id is the SHA-256 of the secret the
# session cookie carries, so a copy of this table cannot be replayed as cookies; deleting
# a row ends that sign-in on every node at once.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("user_agent", String(200), nullable=True),
    Index("ix_sessions_user_id", "user_id"),
)

# Account recovery and membership (issue 14, hoplink.accounts.tokens / totp). Every token
# is kept as the SHA-256 of the secret the link carries: a copy of these tables opens
# nothing. A token is single-use (used_at / accepted_at) and expires.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the link's secret
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("origin", String(16), nullable=False),  # cli | email
    Index("ix_password_resets_user_id", "user_id"),
)

invitations = Table(
    "invitations",
    metadata,
    _id(),
    Column(
        "workspace_id", String(32), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    ),
    Column("email", String(254), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("accepted_by", String(32), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_invitations_workspace_id", "workspace_id"),
)

# A user's TOTP authenticator: the shared secret sealed (Fernet, key derived from the app
# secret key); confirmed_at is NULL while enrolment waits for the first code. last_step is
# the time step of the last accepted code, so no code is accepted twice.
user_totp = Table(
    "user_totp",
    metadata,
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_sealed", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("last_step", BigInteger, nullable=True),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of user id + the code
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_recovery_codes_user_id", "user_id"),
)

# Security rules a workspace's owner sets: require_totp asks every member to enrol a
# second factor before using the workspace.
workspace_security = Table(
    "workspace_security",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("require_totp", Boolean, nullable=False, default=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# What changed on the redirect path (an edit, archive, delete, ban, suspension, domain
# change), written in the transaction that changed it, so a serving process can drop its
# cached copies when another process made the change (hoplink.redirect.changefeed).
# kind: link (ref = link id) | workspace (ref = workspace id) | all. Kept for an hour.
redirect_changes = Table(
    "redirect_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ref", String(32), nullable=True),
    Index("ix_redirect_changes_at", "at"),
)

# Links brought in from another shortener (issue 16): the original short URL, so a second
# run of the same import changes nothing, and the click total the old service had counted —
# the "imported" series, kept apart from hoplink's own clicks and never added to them.
link_imports = Table(
    "link_imports",
    metadata,
    _id(),
    _ws(),
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(16), nullable=False),
    Column("source_key", String(500), nullable=False),
    Column("old_short_url", Text, nullable=True),
    Column("imported_clicks", BigInteger, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "workspace_id", "source", "source_key", name="uq_link_imports_workspace_source_key"
    ),
    Index("ix_link_imports_link", "link_id"),
)

# --- Conversions, attribution, currency, commission, ad spend (issue 10) -------------------
# Amounts are integers in the currency's minor units, as sent (never converted at rest);
# reports convert them with ``fx_rates``. Customer identifiers are only ever SHA-256 hashes.

# Per-workspace attribution settings; a workspace without a row has the defaults.
conversion_settings = Table(
    "conversion_settings",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("window_days", Integer, nullable=False, default=7),
    # last_click | first_click | linear: the reports' default model.
    Column("model", String(16), nullable=False, default="last_click"),
    Column("currency", String(3), nullable=False, default="USD"),
    # Commission in basis points (800 = 8 %).
    Column("commission_bp", Integer, nullable=False, default=800),
    Column("updated_at", UTCDateTime, nullable=False),
)

# A workspace's saved column mapping for marketplace order-export CSVs (issue 10): which
# preset (shopee, lazada, amazon, tiktok_shop, generic) and, per hoplink field, the column
# header of its export that holds it (JSON {"order_id": "Order ID", ...}).
order_import_mappings = Table(
    "order_import_mappings",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("preset", String(16), nullable=False),
    Column("columns", JSON, nullable=False, default=dict),
    # The currency of amounts when the export names none (null: the workspace's).
    Column("currency", String(3), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Commission overrides for the links of one tag (ref = tag name) or campaign (ref = id).
commission_rules = Table(
    "commission_rules",
    metadata,
    _id(),
    _ws(),
    Column("kind", String(16), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("rate_bp", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "kind", "ref", name="uq_commission_rules_workspace_kind_ref"),
)

# One row per order id and workspace (idempotency); refunds and cancels add to ``refunded``.
orders = Table(
    "orders",
    metadata,
    _id(),
    _ws(),
    Column("order_id", String(128), nullable=False),
    # open | partially_refunded | refunded | cancelled
    Column("status", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False, default=0),
    Column("placed_at", UTCDateTime, nullable=False),
    # unix time // 3600 of placed_at: the reports group by it on both backends alike.
    Column("placed_hour", Integer, nullable=False),
    # The matched click (the last touch) and how: click_id | visitor; NULL: unattributed,
    # with the reason in unattributed (no_click | unknown_click | outside_window).
    Column("click_id", String(64), nullable=True),
    Column("link_id", String(32), nullable=True),
    Column("matched_by", String(16), nullable=True),
    Column("unattributed", String(32), nullable=True),
    Column("items", JSON, nullable=False, default=list),
    Column("customer", JSON, nullable=False, default=dict),
    Column("revision", Integer, nullable=False, default=1),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "order_id", name="uq_orders_workspace_order_id"),
    # The conversion report reads only these columns over an hour range: covering, the
    # scan never visits the table (last-click and unattributed sums, the join's outer side).
    Index(
        "ix_orders_report",
        "workspace_id",
        "placed_hour",
        "link_id",
        "currency",
        "amount",
        "refunded",
        "id",
    ),
    # The orders list, newest first without a sort: all orders, and those of one link or
    # none (attributed filters). Without the second, SQLite's planner answered a page of
    # unattributed orders through the report index above and sorted them all (1 s at 1 M).
    Index("ix_orders_list", "workspace_id", "placed_at", "id"),
    Index("ix_orders_link_list", "workspace_id", "link_id", "placed_at", "id"),
)

# An order's earlier amounts (a purchase re-sent with another amount is an update).
order_revisions = Table(
    "order_revisions",
    metadata,
    _id(),
    _ws(),
    Column("order_pk", String(32), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("items", JSON, nullable=False, default=list),
    Column("changed_at", UTCDateTime, nullable=False),
    Index("ix_order_revisions_order", "order_pk", "revision"),
)

# The clicks of the buyer's path within the window; the reports weigh them per model
# (last: is_last, first: is_first, linear: 1 / touches).
order_touches = Table(
    "order_touches",
    metadata,
    Column("order_pk", String(32), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("click_id", String(64), primary_key=True),
    Column("workspace_id", String(32), nullable=False),
    Column("link_id", String(32), nullable=False),
    Column("ts", UTCDateTime, nullable=False),
    Column("is_first", Boolean, nullable=False),
    Column("is_last", Boolean, nullable=False),
    Column("touches", Integer, nullable=False),
    Index("ix_order_touches_workspace_link", "workspace_id", "link_id"),
    # First-click and linear reports join each order of the range to its touches.
    Index("ix_order_touches_report", "order_pk", "workspace_id", "link_id", "touches", "is_first"),
)


# The orders rolled up, written with them (storage/order_rollups.py) so that reports never
# scan the orders: per attribution model, bucket, credited link ('' = unattributed, under
# last_click only), currency and the order's touch count. Credit stays exact in integers:
# a row holds whole sums of the orders (or touches) it stands for, and the reader divides
# by ``touches`` (the linear share, 1 for last and first click). Hours for range edges and
# the series, whole UTC days (unix hour // 24) for the middle, as the click rollups.
def _order_rollup(name: str, bucket: str) -> Table:
    return Table(
        name,
        metadata,
        Column("workspace_id", String(32), primary_key=True),
        Column("model", String(12), primary_key=True),
        Column(bucket, Integer, primary_key=True),
        Column("link_id", String(32), primary_key=True),
        Column("currency", String(3), primary_key=True),
        Column("touches", Integer, primary_key=True),
        Column("orders", BigInteger, nullable=False),
        Column("gmv", BigInteger, nullable=False),
        Column("refunded", BigInteger, nullable=False),
        # A link, campaign, channel or tag report reads its links' rows only.
        Index(f"ix_{name}_link", "workspace_id", "link_id", "model", bucket),
        sqlite_with_rowid=False,
    )


order_rollup_hours = _order_rollup("order_rollup_hours", "hour")
order_rollup_days = _order_rollup("order_rollup_days", "day")
# The workspace's orders per hour and currency (the same for every model): the series of a
# workspace report, any time zone, without reading every link's hours.
order_rollup_workspace_hours = Table(
    "order_rollup_workspace_hours",
    metadata,
    Column("workspace_id", String(32), primary_key=True),
    Column("hour", Integer, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("orders", BigInteger, nullable=False),
    Column("gmv", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Every accepted event, as the platforms' server-side APIs want it (event id, time, hashed
# customer, value, currency, items): what forwarding to GA4/Meta/TikTok reads.
conversion_events = Table(
    "conversion_events",
    metadata,
    _id(),
    _ws(),
    Column("event_id", String(64), nullable=False),
    # lead | add_to_cart | purchase | refund | cancel
    Column("type", String(16), nullable=False),
    Column("order_id", String(128), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("amount", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("items", JSON, nullable=False, default=list),
    Column("customer", JSON, nullable=False, default=dict),
    Column("click_id", String(64), nullable=True),
    Column("link_id", String(32), nullable=True),
    # api | ingest_key | dashboard
    Column("source", String(16), nullable=False),
    UniqueConstraint("workspace_id", "event_id", name="uq_conversion_events_workspace_event_id"),
    Index("ix_conversion_events_workspace_at", "workspace_id", "occurred_at"),
)

# Server-to-server ingest keys (conversions only): shown once, SHA-256 at rest.
ingest_keys = Table(
    "ingest_keys",
    metadata,
    _id(),
    _ws(),
    Column("name", String(100), nullable=False),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# Daily exchange rates kept by the operator (1 base = rate quote), never downloaded.
fx_rates = Table(
    "fx_rates",
    metadata,
    Column("day", Date, primary_key=True),
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    # A decimal as text: exact on both backends.
    Column("rate", String(32), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Imported ad spend per day, campaign (utm_campaign) and ad group (utm_content, '' = none).
ad_spend = Table(
    "ad_spend",
    metadata,
    _id(),
    _ws(),
    Column("day", Date, nullable=False),
    Column("platform", String(16), nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("ad_group", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("spend", BigInteger, nullable=False),
    Column("impressions", BigInteger, nullable=False, default=0),
    Column("clicks", BigInteger, nullable=False, default=0),
    Column("imported_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "workspace_id",
        "day",
        "platform",
        "campaign",
        "ad_group",
        name="uq_ad_spend_workspace_day",
    ),
)

# --- Seller polish (issue 14) ---------------------------------------------------------------

# The logo a workspace puts in the middle of its QR codes: a PNG hoplink re-encoded itself
# (never the uploaded bytes), base64 so that exports stay JSON.
qr_logos = Table(
    "qr_logos",
    metadata,
    Column(
        "workspace_id",
        String(32),
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("png_base64", Text, nullable=False),
    Column("uploaded_by", String(64), nullable=True),
    Column("uploaded_at", UTCDateTime, nullable=False),
)

# Bulk uploads and their results, kept across restarts until their expiry (24 h after the
# end, sooner once the results were downloaded). ``results`` is JSON, one entry per row.
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    _id(),
    _ws(),
    Column("state", String(16), nullable=False),
    Column("total", Integer, nullable=False),
    Column("created", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("results", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("downloaded_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Index("ix_bulk_jobs_workspace", "workspace_id", "started_at"),
    Index("ix_bulk_jobs_expires", "expires_at"),
)

# Destination health (issue 12): one row per link, the checker's schedule and lease, and
# the link's last verdict. Written by hoplink.linkhealth; a link without a row is added
# by the checker's sync step (spread over the interval) or on creation (due at once).
link_health = Table(
    "link_health",
    metadata,
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), primary_key=True),
    _ws(),
    Column("state", String(16), nullable=False, default="unknown"),  # see linkhealth.models
    Column("reason", String(40), nullable=True),
    Column("detail", String(300), nullable=True),
    Column("url", Text, nullable=True),  # the URL that gave the verdict
    Column("status_code", Integer, nullable=True),
    Column("checked_at", UTCDateTime, nullable=True),
    Column("changed_at", UTCDateTime, nullable=True),
    Column("next_check_at", UTCDateTime, nullable=False),
    # A checker holds the row until then, under its lease token (an atomic claim).
    Column("locked_until", UTCDateTime, nullable=True),
    Column("lease", String(32), nullable=True),
    # off | broken | degraded: send visitors to the fallback URL while that bad or worse.
    Column("auto_fallback", String(16), nullable=False, default="off"),
    # While switched: the destination the checker replaced (and still checks).
    Column("switched_from", Text, nullable=True),
    Column("switched_to", Text, nullable=True),
    # JSON per checked URL: validators (ETag, Last-Modified) and that URL's last verdict.
    Column("validators", Text, nullable=True),
    # A digest of the URLs the link sends to: a change makes the link due at once.
    Column("urls_sig", String(16), nullable=True),
    Index("ix_link_health_due", "next_check_at"),
    Index("ix_link_health_workspace_state", "workspace_id", "state"),
)

# Every state change of a link's health: its history, and the workspace's notification
# list (acknowledged_at: dismissed by someone of the workspace).
link_health_events = Table(
    "link_health_events",
    metadata,
    _id(),
    _ws(),
    Column("link_id", String(32), ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("old_state", String(16), nullable=False),
    Column("new_state", String(16), nullable=False),
    Column("reason", String(40), nullable=True),
    Column("detail", String(300), nullable=True),
    Column("url", Text, nullable=True),
    Column("status_code", Integer, nullable=True),
    # to_fallback | restored | None: what the automatic fallback did with this change.
    Column("switch", String(16), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Index("ix_link_health_events_workspace", "workspace_id", "at"),
    Index("ix_link_health_events_link", "link_id", "at"),
)
