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

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_HOST_RE = re.compile(r"^[a-z0-9.-]+(:[0-9]{1,5})?$")


class ConfigError(Exception):
    """Configuration that cannot work; the message names the variable."""


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
    # Signs sessions and keys visitor hashes. Empty: generated once into <data_dir>/secret_key.
    secret_key: str = ""
    # Apply migrations automatically at start on SQLite (PostgreSQL is never auto-migrated).
    auto_migrate: bool = True
    # Log level of hoplink's own loggers.
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # --- Redirect edge (issue 3) ---
    # Seconds a resolved link stays in a web process's cache: edits made on another node
    # take effect within this time (on the node that made them, at once).
    redirect_cache_ttl: float = Field(default=30.0, ge=0, le=60)
    # Seconds an unknown code stays cached as "not found", so repeats skip the database.
    redirect_negative_ttl: float = Field(default=5.0, ge=0, le=60)
    # Most (host, code) entries in the cache (least recently used go first); ~0.5 KB each.
    redirect_cache_size: int = Field(default=100_000, ge=0, le=10_000_000)
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
    # Most clicks the worker writes in one transaction.
    worker_batch_size: int = Field(default=500, ge=1, le=10_000)
    # Seconds the worker waits to fill a batch after its first click (freshness bound).
    worker_flush_interval: float = Field(default=0.2, ge=0.01, le=10)
    # Days raw clicks are kept (rollups are kept for ever); older ones are purged.
    click_retention_days: int = Field(default=90, ge=1, le=3650)
    # Seconds between runs of the worker's purge job (raw clicks, seen-visitor sets, salts).
    worker_purge_interval: float = Field(default=600.0, ge=1, le=86_400)
    # Distinct user-agent strings whose parse (device, OS, browser, bot) is kept in memory.
    user_agent_cache_size: int = Field(default=20_000, ge=0, le=1_000_000)

    # --- Production mode: Redis click stream and workers (issue 5) ---
    # redis://[:password@]host:6379/0. Set (with a PostgreSQL database_url): clicks go through
    # a Redis Stream to `hoplink worker` processes, link lookups and rate limits are shared.
    # Empty: embedded mode (click journal on disk, in-process worker, per-process limits).
    redis_url: str = ""
    # Prefix of every Redis key hoplink uses, so several installations can share one Redis.
    redis_key_prefix: str = "hoplink:"

    # --- Production mode: shared link cache and invalidation (issue 5) ---

    # --- Rate limits (issues 5 and 6) ---

    # --- Observability and operations (issue 5) ---

    # --- Destination policy and outbound fetching (issue 6) ---

    # --- Seller eligibility, moderation and privacy (issue 6) ---

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
