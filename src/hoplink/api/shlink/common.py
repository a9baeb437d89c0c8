"""What the Shlink routes share: pages, dates, domains, and a link in Shlink's shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hoplink.analytics import visits as visit_service
from hoplink.analytics.models import Totals
from hoplink.api.shlink import redirect_rules
from hoplink.api.shlink.problems import ShlinkProblem, invalid_data, short_url_not_found
from hoplink.api.shlink.schemas import Meta, Pagination, ShortUrl, VisitsSummary
from hoplink.errors import FieldError
from hoplink.instants import OUT_OF_RANGE, in_utc
from hoplink.links.models import Link, ShortDomain
from hoplink.links.rules import rules_of
from hoplink.runtime import Runtime
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace

# startDate / endDate: an ISO 8601 date, optionally with a time and a zone.
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$"
DEFAULT = "DEFAULT"  # Shlink's name for the default domain in query strings and paths


@dataclass(frozen=True, slots=True)
class Page:
    """Shlink's ``page`` and ``itemsPerPage`` (-1: all, up to ``cap``)."""

    number: int
    size: int

    @classmethod
    def of(cls, page: int, items_per_page: int, cap: int) -> Page:
        if items_per_page == 0 or items_per_page < -1:
            raise invalid_data(
                [FieldError("itemsPerPage", "invalid", "must be -1 (all) or a positive number")]
            )
        size = cap if items_per_page == -1 else min(items_per_page, cap)
        return cls(page, size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def pagination(self, total: int, on_page: int) -> Pagination:
        return Pagination(
            currentPage=self.number,
            pagesCount=-(-total // self.size) if total else 0,
            itemsPerPage=self.size,
            itemsInCurrentPage=on_page,
            totalItems=total,
        )


def parse_date(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 date or date-time (Shlink's ATOM format); one without a zone is UTC."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid_data(
            [
                FieldError(
                    field,
                    "invalid_date",
                    "must be an ISO 8601 date, e.g. 2026-11-01T00:00:00+00:00",
                )
            ]
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if in_utc(parsed) is None:
        raise invalid_data([FieldError(field, "out_of_range", OUT_OF_RANGE)])
    return parsed


def atom(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


async def domain_named(tx: Tx, workspace: Workspace, name: str | None) -> ShortDomain | None:
    """The short-link domain ``name`` names for this workspace (None or DEFAULT: the
    default one); None when the workspace cannot use such a domain."""
    if name is None or name == "" or name == DEFAULT:
        return await tx.short_domains.default()
    domain = await tx.short_domains.by_hostname(name.strip().lower())
    if domain is None or domain.workspace_id not in (None, workspace.id):
        return None
    return domain


async def find_link(tx: Tx, workspace: Workspace, code: str, domain: str) -> Link:
    found = await domain_named(tx, workspace, domain)
    link = await tx.links(workspace.id).by_code(found.id, code) if found else None
    if link is None:
        raise short_url_not_found(code, domain or None)
    return link


def summary(totals: Totals) -> VisitsSummary:
    return VisitsSummary(total=totals.pv, nonBots=totals.human_pv, bots=totals.bot_pv)


async def short_urls(
    tx: Tx, runtime: Runtime, workspace: Workspace, links: list[Link]
) -> list[ShortUrl]:
    """The links in Shlink's shape, with their all-time visit totals."""
    totals = await visit_service.link_totals(
        tx, workspace_id=workspace.id, link_ids=[link.id for link in links]
    )
    default = await tx.short_domains.default()
    default_host = default.hostname if default else None
    return [
        ShortUrl(
            shortCode=link.code,
            shortUrl=runtime.short_url(link.domain, link.code),
            longUrl=link.destination_url,
            dateCreated=atom(link.created_at),
            visitsSummary=summary(totals.get(link.id, Totals())),
            tags=link.tags,
            meta=Meta(
                validSince=atom(link.starts_at) if link.starts_at else None,
                validUntil=atom(link.ends_at) if link.ends_at else None,
                maxVisits=link.max_clicks,
            ),
            domain=None if link.domain == default_host else link.domain,
            title=link.title,
            crawlable=False,
            forwardQuery=link.forward_query,
            hasRedirectRules=bool(redirect_rules.to_shlink(rules_of(link))[0]),
        )
        for link in links
    ]


def not_mapped(field: str, why: str) -> ShlinkProblem:
    return invalid_data([FieldError(field, "not_supported", why)])
