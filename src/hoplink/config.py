"""Typed settings, read once at start-up.

Every option comes from a ``HOPLINK_*`` environment variable or from the TOML
file named by ``HOPLINK_CONFIG_FILE`` (environment wins). This is the only
module that reads ``os.environ``. Each option is documented in
``docs/configuration.md``; keep the two in step.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hoplink.ratelimit import parse_limit
from hoplink.safety.patterns import normalize_pattern

_HOST_RE = re.compile(r"^[a-z0-9.-]+(:[0-9]{1,5})?$")


class ConfigError(Exception):
    """Configuration that cannot work; the message names the variable."""


# An operator's API base URL: http(s)://host[:port], nothing after it.
_BASE_URL = r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOPLINK_", extra="forbid", frozen=True)

    # Where embedded storage (SQLite file, secret key) lives; created by `hoplink serve`.
    data_dir: Path = Path("hoplink-data")
    # sqlite:///path/to.db or postgresql://user@host/db. Empty: <data_dir>/hoplink.db.
    database_url: str = ""
    # Address the web server binds to.
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # Host (and port) of the platform's default short-link domain, e.g. "hop.example.com".
    # Empty: "<host>:<port>" for local use.
    default_domain: str = ""
    # Scheme used when printing short URLs.
    short_url_scheme: Literal["http", "https"] = "http"
    # Length of generated codes: random base62, at least 6 (7 = 3.5 * 10^12 codes).
    code_length: int = Field(default=7, ge=6, le=32)
    # Most items accepted by one bulk-create call.
    bulk_max_items: int = Field(default=1000, ge=1, le=10000)
    # Largest /api request body in bytes, enforced while the body is read (413 past it).
    # 8 MiB holds a 1,000-item bulk call of ~8 KB items (a 4,096-character URL, title,
    # UTM and tags each); raise it with bulk_max_items.
    api_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # Signs sessions and keys visitor hashes. Empty: generated once into <data_dir>/secret_key.
    secret_key: str = ""
    # Apply migrations automatically at start on SQLite (PostgreSQL is never auto-migrated).
    auto_migrate: bool = True
    # Log level of hoplink's own loggers.
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # --- Custom short domains (issue 16; docs/domains.md) ---
    # Who may add their own short domain: nobody ("off"), workspaces a platform admin
    # approved ("approval"; the seed reserves white-label domains for large brands), or
    # every workspace ("automatic").
    custom_domains: Literal["off", "approval", "automatic"] = "approval"
    # Custom short domains per workspace unless an admin sets its own limit.
    custom_domain_limit: int = Field(default=3, ge=0, le=10_000)
    # The CNAME target of custom domains: a workspace may prove a domain by pointing it at
    # "<its token label>.<this>" (the operator serves a wildcard record for it). Empty:
    # DNS TXT proof only.
    custom_domain_cname_target: str = ""
    # Periodic re-checks of verified domains' proofs (custom short domains and verified
    # destination domains; docs/domains.md): hours between two checks of one domain (each
    # next check jittered by ±10 %, first checks spread over the interval).
    domain_recheck_enabled: bool = True
    domain_recheck_hours: float = Field(default=12.0, ge=0.01, le=24 * 30)
    # The grace policy: a domain's verification lapses only after this many checks in a
    # row failed, the first at least this many hours before (a DNS hiccup changes nothing).
    domain_recheck_failures: int = Field(default=3, ge=1, le=100)
    domain_recheck_grace_hours: float = Field(default=24.0, ge=0, le=24 * 90)

    # --- Redirect edge (issue 3) ---
    # Seconds a resolved link stays in a web process's cache: edits made on another node
    # take effect within this time (on the node that made them, at once).
    redirect_cache_ttl: float = Field(default=30.0, ge=0, le=60)
    # Seconds an unknown code stays cached as "not found", so repeats skip the database.
    redirect_negative_ttl: float = Field(default=5.0, ge=0, le=60)
    # Most (host, code) entries in the cache (least recently used go first); ~0.5 KB each.
    redirect_cache_size: int = Field(default=100_000, ge=0, le=10_000_000)
    # Links each web process loads before it takes requests: the most clicked of the last
    # two days (a deploy's first minute then answers from memory). 0: start empty.
    redirect_warmup_links: int = Field(default=20_000, ge=0, le=10_000_000)
    # A/B tests: keep each visitor's variant in a first-party cookie (`hl_ab`, scoped to the
    # link's path on the short domain) for this many days, so it survives the midnight-UTC
    # re-split of the daily visitor id. 0 (the default): no cookie. docs/campaigns.md.
    ab_cookie_days: int = Field(default=0, ge=0, le=400)
    # max-age (seconds) of the 302's `Cache-Control: private` header.
    redirect_max_age: int = Field(default=90, ge=0, le=86_400)
    # Referrer-Policy sent with the 302 (the browser applies it to the next hop).
    redirect_referrer_policy: Literal[
        "no-referrer",
        "origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "no-referrer-when-downgrade",
        "unsafe-url",
    ] = "strict-origin-when-cross-origin"
    # Query parameter every redirect's Location carries the click id in, so a store can
    # report an order against the exact click (a workspace may rename it or turn it off).
    click_id_param: str = Field(default="hl_click", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    # Proxies/CDNs (CIDRs, comma-separated) whose forwarding headers are believed; from any
    # other peer X-Forwarded-For, CF-Connecting-IP and country headers are ignored.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Which header of a trusted peer carries the client IP: X-Forwarded-For (right-most
    # untrusted hop) or Cloudflare's CF-Connecting-IP.
    client_ip_header: Literal["x-forwarded-for", "cf-connecting-ip"] = "x-forwarded-for"
    # A MaxMind-format country database (GeoLite2-Country / DB-IP Lite .mmdb). Empty: the
    # registry-allocation data shipped in the `iptocc` package (no download).
    geoip_database: Path | None = None
    # Seconds between group-committed fsyncs of the click journal (power-loss window).
    journal_fsync_interval: float = Field(default=0.05, ge=0.001, le=10)
    # Answer a redirect only after its click is fsynced (survives power loss; adds up to
    # journal_fsync_interval of latency). Off: after the write to the OS (survives kill -9).
    journal_wait_for_disk: bool = False
    # Size at which the click journal starts a new segment file.
    journal_segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)

    # --- Click worker, rollups and stats (issue 3) ---
    # Run the click worker inside the web process (the embedded default). Turn off when
    # `hoplink worker` runs as a separate process.
    embedded_worker: bool = True
    # `hoplink serve` runs that worker as a child process (its own core and GIL; restarted
    # if it dies) rather than as a task of the web process's event loop.
    worker_process: bool = True
    # That child yields the CPU to the web process: SCHED_BATCH (its wake-ups never preempt
    # a request) and this niceness (0 = the web process's priority). Its batches are
    # throughput work, the redirects latency work, on the same cores (issue 17).
    worker_process_nice: int = Field(default=5, ge=0, le=19)
    # Clicks the worker writes in one transaction (up to 32x this while a backlog lasts).
    worker_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Seconds the worker waits to fill a batch after its first click (freshness bound;
    # under load the window grows to 1 s).
    worker_flush_interval: float = Field(default=0.2, ge=0.01, le=10)
    # Days raw clicks are kept (rollups are kept for ever); older ones are purged.
    click_retention_days: int = Field(default=90, ge=1, le=3650)
    # Seconds between runs of the worker's purge job (raw clicks, seen-visitor sets, salts).
    worker_purge_interval: float = Field(default=600.0, ge=1, le=86_400)
    # Distinct user-agent strings whose parse (device, OS, browser, bot) is kept in memory.
    user_agent_cache_size: int = Field(default=20_000, ge=0, le=1_000_000)

    # --- Webhooks (issue 10): delivered by the click worker's process ---
    # Seconds between looks at the webhook outbox while it has nothing due.
    webhook_poll_interval: float = Field(default=1.0, ge=0.01, le=60)
    # Seconds a worker holds a message it is delivering; if it dies, another worker sends
    # it again after this (at-least-once). Above the outbound total timeout.
    webhook_lease: float = Field(default=60.0, ge=1, le=3600)
    # Seconds before the first retry of a failed delivery; doubled each attempt (jittered,
    # at most one hour apart).
    webhook_retry_base: float = Field(default=5.0, ge=0.01, le=3600)
    # Hours a message is retried before it is marked failed (then replayable).
    webhook_retry_hours: float = Field(default=24.0, gt=0, le=720)
    # Most clicks in one `click` webhook message.
    webhook_click_batch: int = Field(default=100, ge=1, le=1000)
    # Seconds the worker gathers clicks before sending a `click` message (at most this often).
    webhook_click_interval: float = Field(default=5.0, ge=0.01, le=3600)

    # --- Ad platform forwarding (issue 11): GA4, Meta CAPI, TikTok Events API ---
    # Base URL of each platform's API (scheme + host [+ port], no path). Only the operator
    # sets these (tests, a proxy, a regional endpoint); a workspace's settings hold ids and
    # credentials, never a URL, so they cannot send anything elsewhere.
    ga4_base_url: str = Field(default="https://www.google-analytics.com", pattern=_BASE_URL)
    meta_base_url: str = Field(default="https://graph.facebook.com", pattern=_BASE_URL)
    tiktok_base_url: str = Field(default="https://business-api.tiktok.com", pattern=_BASE_URL)
    # Graph API version in Meta's URL (/v21.0/<pixel id>/events).
    meta_api_version: str = Field(default="v21.0", pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")
    # Seconds between looks at the forwarding queue while it has nothing due.
    forward_poll_interval: float = Field(default=1.0, ge=0.01, le=60)
    # Seconds a worker holds the events it is sending (then another may send them again:
    # the platforms dedupe by event id). Above the outbound total timeout.
    forward_lease: float = Field(default=60.0, ge=1, le=3600)
    # Seconds before the first retry of a 5xx / 429 / network failure; doubled each time.
    forward_retry_base: float = Field(default=5.0, ge=0.01, le=3600)
    # Hours an event is retried before it becomes a dead letter (replayable).
    forward_retry_hours: float = Field(default=24.0, gt=0, le=720)
    # Seconds the worker gathers clicks before writing them to the forwarding queue.
    forward_click_interval: float = Field(default=2.0, ge=0.01, le=3600)
    # Most gathered clicks held in memory; past it new clicks are counted as not forwarded
    # (back-pressure: a slow platform never slows the click worker).
    forward_click_buffer: int = Field(default=50_000, ge=100, le=10_000_000)
    # --- Destination health (issue 12): checked by the worker's process ---
    # Check the destinations of live links at all (off: no checker runs).
    health_enabled: bool = True
    # Hours between two checks of one link (spread over the interval, not in waves).
    health_interval_hours: float = Field(default=6.0, ge=0.01, le=24 * 30)
    # Links one checker takes per poll, and links it checks at once.
    health_batch: int = Field(default=32, ge=1, le=1000)
    health_concurrency: int = Field(default=16, ge=1, le=256)
    # Politeness towards each destination host: requests at once, and seconds between the
    # starts of two requests.
    health_per_host: int = Field(default=2, ge=1, le=32)
    health_host_delay: float = Field(default=1.0, ge=0, le=60)
    # Seconds one request of a check may take in all (then: degraded, "timeout").
    health_timeout: float = Field(default=10.0, gt=0, le=60)
    # Bytes of a product page read to look for unavailable markers (the rest is not read).
    health_max_bytes: int = Field(default=512 * 1024, ge=1024, le=8 * 1024 * 1024)
    # Seconds between looks for due links while none are due.
    health_poll_interval: float = Field(default=5.0, ge=0.01, le=600)
    # Seconds a checker holds the links it took; if it dies, another checks them after this.
    # Above the longest check of a batch (URLs per link x requests x health_timeout).
    health_lease: float = Field(default=900.0, ge=5, le=86_400)
    # Obey robots.txt (token "hoplink"); only turn off for your own shops' destinations.
    health_respect_robots: bool = True
    # Marketplace presets (JSON, like the shipped src/hoplink/linkhealth/markers.json):
    # unavailable markers per host pattern and where delisted products redirect to.
    health_markers_file: Path | None = None

    # --- Production mode: Redis click stream and workers (issue 5) ---
    # redis://[:password@]host:6379/0. Set (with a PostgreSQL database_url): clicks go through
    # a Redis Stream to `hoplink worker` processes, link lookups and rate limits are shared.
    # Empty: embedded mode (click journal on disk, in-process worker, per-process limits).
    redis_url: str = ""
    # Prefix of every Redis key hoplink uses, so several installations can share one Redis.
    redis_key_prefix: str = "hoplink:"
    # Key of the click stream, after redis_key_prefix (so "hoplink:clicks" by default).
    click_stream_key: str = Field(default="clicks", pattern=r"^[A-Za-z0-9:._-]{1,100}$")
    # Consumer group the `hoplink worker` processes share (each entry goes to one of them).
    click_stream_group: str = Field(default="hoplink-workers", pattern=r"^[A-Za-z0-9:._-]{1,100}$")
    # Most stream entries one worker read (XREADGROUP COUNT) returns.
    click_stream_read_count: int = Field(default=500, ge=1, le=10_000)
    # Seconds an entry may stay read-but-unacknowledged by one worker before another
    # takes it over (XAUTOCLAIM): how long a killed worker's batch waits. Above batch time.
    click_stream_claim_idle: float = Field(default=60.0, ge=0.1, le=86_400)
    # Seconds a web process waits for Redis to take a pipeline of clicks before it writes
    # them to its local spool instead (and answers the redirects).
    click_stream_xadd_timeout: float = Field(default=1.0, ge=0.01, le=30)
    # Where web processes spool clicks while Redis is unreachable, one directory each.
    # Empty: <data_dir>/spool.
    click_spool_dir: Path | None = None
    # Seconds between attempts to replay spooled clicks into Redis.
    click_spool_retry_interval: float = Field(default=1.0, ge=0.05, le=300)

    # --- Production mode: shared link cache and invalidation (issue 5) ---
    # Seconds a resolved link stays in the shared Redis tier (edits, bans and suspensions
    # delete it at once and are published to every node); 0 turns the tier off.
    shared_cache_ttl: float = Field(default=300.0, ge=0, le=86_400)
    # Seconds an unknown code stays in the Redis tier as "not found".
    shared_cache_negative_ttl: float = Field(default=5.0, ge=0, le=3600)
    # Most seconds a redirect waits on Redis before going to the database instead.
    shared_cache_timeout: float = Field(default=0.5, ge=0.01, le=10)
    # Most seconds a redirect waits on a database lookup (connect included) before it is
    # answered from a stale copy or with 503.
    redirect_db_timeout: float = Field(default=3.0, ge=0.1, le=60)
    # After a failed database lookup, seconds during which further misses get 503 at once
    # (doubling per failed retry up to redirect_db_retry_max_delay) instead of piling up.
    redirect_db_retry_delay: float = Field(default=1.0, ge=0.05, le=60)
    # Upper bound of that doubling delay.
    redirect_db_retry_max_delay: float = Field(default=5.0, ge=0.05, le=300)
    # A Jinja template replacing the visitor page of unknown, disabled, expired and banned
    # links (its variables: docs/configuration.md). Empty: the built-in page.
    visitor_page_template: Path | None = None
    # Seconds a new PostgreSQL connection may take (asyncpg's connect timeout; default 60).
    database_connect_timeout: float = Field(default=2.0, ge=0.1, le=120)
    # Seconds a request waits for a free pooled database connection (every one busy)
    # before it is answered 503 unavailable (SQLAlchemy's pool_timeout).
    database_pool_timeout: float = Field(default=30.0, ge=0.1, le=300)
    # SQLite: seconds a write waits on another process's lock (a backup, `hoplink db copy`,
    # a long import) before the database counts as unavailable: 503 with Retry-After.
    sqlite_busy_timeout: float = Field(default=10.0, ge=0.05, le=300)

    # --- Rate limits (issues 5 and 6) ---
    # Requests per API key to /api, as "count/period" (s, m, h, d) or "off"; e.g. 1200/1m
    # allows a burst of 1,200, then 20 a second.
    rate_limit_api_key: str = "1200/1m"
    # Link creations refused (invalid or policy-blocked destinations) per client address,
    # whatever account or key is used: probing for what passes the policy is the abusive
    # pattern; links that are created count against the workspace's quota instead.
    rate_limit_create_ip: str = "2000/1h"
    # Links a workspace may create per UTC day unless the operator set its own quota
    # (`hoplink workspace quota`); bulk uploads count each link.
    quota_links_per_day: int = Field(default=50_000, ge=1, le=100_000_000)
    # Links a workspace may create per UTC calendar month, likewise.
    quota_links_per_month: int = Field(default=500_000, ge=1, le=1_000_000_000)
    # Unknown short codes a client address may ask the redirect host for before it gets
    # 429 for further unknown codes (enumeration); existing links always redirect.
    rate_limit_redirect_404: str = "60/10m"
    # Failed sign-ins an account may have before each further one locks it out.
    login_account_failures: int = Field(default=5, ge=1, le=1000)
    # Failed sign-ins a client address may have (on any accounts) before it is locked out.
    login_address_failures: int = Field(default=20, ge=1, le=100_000)
    # Seconds of the first lockout; each further failure doubles it.
    login_lockout_base: float = Field(default=2.0, gt=0, le=3600)
    # Longest lockout, in seconds.
    login_lockout_max: float = Field(default=900.0, gt=0, le=86_400)

    # --- Accounts: recovery, invitations, two-factor (issue 14) ---
    # Base URL of the dashboard for the links hoplink prints or e-mails (password resets,
    # invitations), e.g. "https://links.example.com". Empty: short_url_scheme://default_domain.
    public_url: str = ""
    # Minutes a password-reset link works (once); `hoplink user reset-password --minutes`
    # may give another lifetime to one link.
    password_reset_minutes: int = Field(default=30, ge=5, le=1440)
    # Days an invitation link works (once) unless it is revoked first.
    invitation_days: int = Field(default=7, ge=1, le=30)
    # Opens of password-reset and invitation links (a page or its form) per client address,
    # as "count/period" or "off": guessing tokens is refused long before one could be found.
    rate_limit_account_tokens: str = "30/10m"
    # Self-service reset requests per client address and, separately, per e-mail address.
    rate_limit_reset_request: str = "5/1h"
    # Invitations a workspace may create (links handed out to new members).
    rate_limit_invitations: str = "100/1d"
    # Second-factor codes (TOTP or recovery) tried per account, at sign-in and on the
    # account page: a six-digit code cannot be guessed at this rate.
    rate_limit_totp: str = "5/5m"
    # SMTP server for self-service password resets. Empty: no e-mail is sent, the sign-in
    # page offers no "forgot password" form and only operators issue reset links.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # "starttls" (upgrade a plain connection, port 587), "tls" (implicit TLS, port 465) or
    # "none" (plain text: a relay on the same host or private network only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    # Credentials for SMTP AUTH; empty user name: no authentication.
    smtp_username: str = ""
    smtp_password: str = ""
    # The From address of hoplink's e-mails, e.g. "hoplink <no-reply@example.com>".
    smtp_from: str = ""
    # Seconds one SMTP conversation (connect, TLS, send) may take.
    smtp_timeout: float = Field(default=10.0, gt=0, le=120)

    # --- Observability and operations (issue 5) ---
    # Log lines as JSON objects (one per line, for log shippers) or for people ("console").
    log_format: Literal["console", "json"] = "console"
    # Log one line per API and dashboard request (method, path, status, duration, request
    # id; never the client address). Redirects are counted in /metrics, not logged.
    log_requests: bool = False
    # Serve Prometheus metrics at /metrics on the web port. Off: /metrics is a 404 and
    # requests are not timed at all.
    metrics_enabled: bool = True
    # /metrics answers only requests with `Authorization: Bearer <this token>`. Empty: it
    # answers 401 to everyone unless metrics_public is on (metrics are private by default).
    metrics_token: str = ""
    # Serve /metrics on the web port without a token (only where the port is reachable from
    # a private network alone, e.g. behind a proxy that does not forward /metrics).
    metrics_public: bool = False
    # `hoplink worker`: serve its metrics on this port (all paths, no token; bind it to a
    # private address with HOPLINK_HOST). 0: off.
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    # Seconds /readyz waits for each dependency (database, Redis) before calling it down.
    readiness_timeout: float = Field(default=2.0, gt=0, le=30)

    # --- Destination policy and outbound fetching (issue 6) ---
    # "open": any public destination (the self-hosted default); "allowlist": only hosts
    # matching destination_allowlist or one of the workspace's verified domains.
    destination_policy: Literal["open", "allowlist"] = "open"
    # Host patterns allowed in allowlist mode, comma-separated: "amazon.com,*.shopee.sg".
    destination_allowlist: Annotated[tuple[str, ...], NoDecode] = ()
    # Domains refused in every mode (each also blocks its subdomains), comma-separated; added
    # to the built-in URL shortener list and hoplink's own domains.
    destination_blocklist: Annotated[tuple[str, ...], NoDecode] = ()
    # A file of more blocked domains, one per line ("#" comments), read at start-up.
    destination_blocklist_file: Path | None = None
    # A JSON file of app hand-off presets for routing rules, merged over the shipped ones
    # (hoplink/links/app_presets.json): {"name": {"label", "android_package", "ios_template"}}.
    app_presets_file: Path | None = None
    # Hosts or CIDRs the outbound fetcher may reach although private, on any port
    # (comma-separated). For tests and private staging only; empty in production.
    outbound_allow_private: Annotated[tuple[str, ...], NoDecode] = ()
    # Seconds the outbound fetcher waits for a TCP/TLS connection.
    outbound_connect_timeout: float = Field(default=3.0, gt=0, le=30)
    # Seconds one outbound fetch may take in all: DNS, every redirect hop and the body.
    outbound_total_timeout: float = Field(default=10.0, gt=0, le=60)
    # Most bytes of a response body the outbound fetcher reads; more is an error.
    outbound_max_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    # DNS servers ("ip" or "ip:port", comma-separated) for the outbound fetcher's address
    # lookups, the create-time resolution check and domain verification TXT records.
    # Empty: the system's resolver.
    outbound_dns_servers: Annotated[tuple[str, ...], NoDecode] = ()
    # Resolve a destination's host when a link is created or its destination edited, and
    # refuse names with a private/reserved address or none at all. "auto": on in allowlist
    # mode, off in open mode (a lookup per new host slows bulk creation); "on"; "off".
    destination_resolve: Literal["auto", "on", "off"] = "auto"

    @field_validator(
        "destination_allowlist",
        "destination_blocklist",
        "outbound_allow_private",
        "outbound_dns_servers",
        mode="before",
    )
    @classmethod
    def _split_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("destination_allowlist", "destination_blocklist")
    @classmethod
    def _check_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_pattern(pattern) for pattern in value)

    @field_validator("app_presets_file")
    @classmethod
    def _check_presets_file(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) in ("", "."):
            return None
        if value is not None:
            from hoplink.links.routing import app_presets

            try:
                app_presets(value)  # fail at start-up on a missing or malformed file
            except (OSError, ValueError, AttributeError) as exc:
                raise ValueError(f"{str(value)!r}: not a file of app presets ({exc})") from None
        return value

    @field_validator("health_markers_file")
    @classmethod
    def _check_markers_file(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) in ("", "."):
            return None
        if value is not None:
            from hoplink.linkhealth.markers import load_presets

            try:
                load_presets(value)  # fail at start-up on a missing or malformed file
            except (OSError, ValueError) as exc:
                raise ValueError(f"{str(value)!r}: not a file of health presets ({exc})") from None
        return value

    @field_validator("destination_blocklist_file")
    @classmethod
    def _check_blocklist_file(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) in ("", "."):
            return None
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a file (one blocked domain per line)")
        return value

    @field_validator("outbound_dns_servers")
    @classmethod
    def _check_dns_servers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for server in value:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            try:
                ipaddress.ip_address(host)
            except ValueError:
                raise ValueError(f"{server!r} is not an IP address (optionally :port)") from None
            if port and not (port.isdigit() and 1 <= int(port) <= 65535):
                raise ValueError(f"{server!r} has a bad port") from None
        return value

    # --- Seller eligibility, moderation and privacy (issue 6) ---
    # Only verified workspaces may create links (the seed's gate). Off: any workspace that is
    # not suspended may (a self-hoster's own sellers, an open instance).
    require_verified_workspace: bool = True
    # Link reports (the public /report form) one client address may send, as "count/period"
    # (s, m, h, d) like the other rate limits, or "off".
    report_rate_limit: str = "5/1h"

    @field_validator("report_rate_limit")
    @classmethod
    def _check_report_rate(cls, value: str) -> str:
        parse_limit("report", value)
        return value

    # --- Conversions and attribution (issue 10) ---
    # Most events one /api/v1/conversions call may carry (each gets its own result).
    conversions_max_events: int = Field(default=1000, ge=1, le=10_000)
    # Largest /api/v1/conversions request body in bytes; larger: 413 before it is parsed.
    conversions_max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024
    )
    # The commission rates a workspace or a tag/campaign override may be given, in percent
    # (the marketplace's category rates, 5 to 12 % in the seed).
    commission_min_percent: float = Field(default=5.0, ge=0, le=100)
    commission_max_percent: float = Field(default=12.0, ge=0, le=100)
    # A report converts an amount with the newest exchange rate at most this many days older
    # than the order's day; with none, the amount is left out and the rate reported missing.
    fx_max_age_days: int = Field(default=7, ge=0, le=366)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("HOPLINK_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        base = scheme.split("+", 1)[0]
        if base not in ("sqlite", "postgresql", "postgres"):
            shown = scheme or value[:20]
            raise ValueError(f"unsupported scheme {shown!r}, use sqlite:// or postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:6379/0 (or rediss:// for TLS, unix:// for a socket)")
        return value

    @field_validator(
        "rate_limit_api_key",
        "rate_limit_create_ip",
        "rate_limit_redirect_404",
        "rate_limit_account_tokens",
        "rate_limit_reset_request",
        "rate_limit_totp",
        "rate_limit_invitations",
    )
    @classmethod
    def _check_rate(cls, value: str) -> str:
        parse_limit("check", value)
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, sep, rest = value.partition("://")
        if value and (
            not sep or scheme not in ("http", "https") or not _HOST_RE.match(rest.lower())
        ):
            raise ValueError(
                f"{value!r}: give a scheme and host only, e.g. https://links.example.com"
            )
        return value

    @field_validator("smtp_from")
    @classmethod
    def _check_smtp_from(cls, value: str) -> str:
        if any(c in value for c in "\r\n"):
            raise ValueError("must be one line")
        return value.strip()

    @model_validator(mode="after")
    def _check_smtp(self) -> Settings:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("HOPLINK_SMTP_FROM is required when HOPLINK_SMTP_HOST is set")
        return self

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def dashboard_url(self) -> str:
        """Where the dashboard is reached from outside, for printed and e-mailed links."""
        return self.public_url or f"{self.short_url_scheme}://{self.domain}"

    @field_validator("custom_domain_cname_target")
    @classmethod
    def _check_cname_target(cls, value: str) -> str:
        value = value.strip().lower().rstrip(".")
        if value and (not _HOST_RE.match(value) or ":" in value or "." not in value):
            raise ValueError(f"{value!r} is not a DNS name, e.g. domains.hop.example.com")
        return value

    @field_validator("default_domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        value = value.strip().lower().rstrip("/")
        if value and not _HOST_RE.match(value):
            raise ValueError(f"{value!r} is not a host name (give it without scheme or path)")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP network, e.g. 10.0.0.0/8") from None
        return value

    @field_validator("visitor_page_template")
    @classmethod
    def _check_visitor_template(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) in ("", "."):
            return None
        if value is None:
            return None
        if not value.is_file():
            raise ValueError(f"{str(value)!r} is not a file (a Jinja template)")
        from hoplink.redirect.pages import VisitorPages

        try:
            VisitorPages(value)
        except Exception as exc:  # the template's own error names line and reason
            raise ValueError(f"{str(value)!r} does not render: {exc}") from None
        return value

    @field_validator("geoip_database")
    @classmethod
    def _check_geoip(cls, value: Path | None) -> Path | None:
        if value is not None and str(value) in ("", "."):
            return None
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a file (a .mmdb country database)")
        return value

    @cached_property
    def database_url_async(self) -> str:
        """The URL with the async driver SQLAlchemy needs."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'hoplink.db').as_posix()}"
        scheme, rest = url.split("://", 1)
        base = scheme.split("+", 1)[0].lower()
        if base == "sqlite":
            return f"sqlite+aiosqlite://{rest}"
        return f"postgresql+asyncpg://{rest}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url_async.startswith("sqlite")

    @property
    def domain(self) -> str:
        if self.default_domain:
            return self.default_domain
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host  # noqa: S104
        return f"{host}:{self.port}"

    def short_url(self, domain: str, code: str) -> str:
        return f"{self.short_url_scheme}://{domain}/{code}"

    def resolve_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise ConfigError with one line per bad option."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "HOPLINK_" + "_".join(str(p) for p in err["loc"]).upper()
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {msg}")
        raise ConfigError("\n".join(lines)) from None
