"""Shlink's JSON shapes (v3 of its REST API), as pydantic models for the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Shlink ignores members it does not know (older clients send deprecated ones such as
# validateUrl); so do these bodies.
_LENIENT = ConfigDict(extra="ignore")


class VisitsSummary(BaseModel):
    total: int
    nonBots: int
    bots: int


class Meta(BaseModel):
    validSince: str | None = None
    validUntil: str | None = None
    maxVisits: int | None = None


class ShortUrl(BaseModel):
    shortCode: str
    shortUrl: str
    longUrl: str
    dateCreated: str
    visitsSummary: VisitsSummary
    tags: list[str]
    meta: Meta
    domain: str | None
    title: str | None
    crawlable: bool
    forwardQuery: bool
    hasRedirectRules: bool


class Pagination(BaseModel):
    currentPage: int
    pagesCount: int
    itemsPerPage: int
    itemsInCurrentPage: int
    totalItems: int


class ShortUrlList(BaseModel):
    data: list[ShortUrl]
    pagination: Pagination


class ShortUrlsOut(BaseModel):
    shortUrls: ShortUrlList


_Tags = list[str]


class ShortUrlCreate(BaseModel):
    model_config = _LENIENT
    longUrl: str = Field(max_length=8000)
    tags: _Tags = Field(default_factory=list, max_length=20)
    title: str | None = Field(default=None, max_length=300)
    customSlug: str | None = Field(default=None, max_length=64)
    shortCodeLength: int | None = Field(default=None, ge=4, le=32)
    domain: str | None = Field(default=None, max_length=253)
    findIfExists: bool = False
    crawlable: bool = False
    # Shlink forwards the visitor's query string unless told not to; so does this API.
    forwardQuery: bool = True
    validSince: str | None = None
    validUntil: str | None = None
    maxVisits: int | None = None


class ShortUrlEdit(BaseModel):
    model_config = _LENIENT
    longUrl: str | None = Field(default=None, max_length=8000)
    tags: _Tags | None = Field(default=None, max_length=20)
    title: str | None = Field(default=None, max_length=300)
    crawlable: bool | None = None
    forwardQuery: bool | None = None
    validSince: str | None = None
    validUntil: str | None = None
    maxVisits: int | None = None


class VisitLocation(BaseModel):
    countryCode: str | None
    countryName: str | None
    regionName: str | None
    cityName: str | None
    latitude: float | None
    longitude: float | None
    timezone: str | None
    isEmpty: bool


class Visit(BaseModel):
    referer: str
    date: str
    userAgent: str
    visitLocation: VisitLocation | None
    potentialBot: bool
    visitedUrl: str
    redirectUrl: str | None


class VisitList(BaseModel):
    data: list[Visit]
    pagination: Pagination


class VisitsOut(BaseModel):
    visits: VisitList


class VisitsOverview(BaseModel):
    nonOrphanVisits: VisitsSummary
    orphanVisits: VisitsSummary


class VisitsOverviewOut(BaseModel):
    visits: VisitsOverview


class TagList(BaseModel):
    data: list[str]
    pagination: Pagination


class TagsOut(BaseModel):
    tags: TagList


class TagStats(BaseModel):
    tag: str
    shortUrlsCount: int
    visitsSummary: VisitsSummary


class TagStatsList(BaseModel):
    data: list[TagStats]
    pagination: Pagination


class TagStatsOut(BaseModel):
    tags: TagStatsList


class TagRename(BaseModel):
    oldName: str = Field(min_length=1, max_length=64)
    newName: str = Field(min_length=1, max_length=64)


class DomainRedirects(BaseModel):
    baseUrlRedirect: str | None = None
    regular404Redirect: str | None = None
    invalidShortUrlRedirect: str | None = None


class Domain(BaseModel):
    domain: str
    isDefault: bool
    redirects: DomainRedirects


class DomainList(BaseModel):
    data: list[Domain]
    defaultRedirects: DomainRedirects


class DomainsOut(BaseModel):
    domains: DomainList


class DomainRedirectsEdit(DomainRedirects):
    domain: str = Field(max_length=253)


class Health(BaseModel):
    status: Literal["pass", "fail"]
    version: str
    links: dict[str, str]


class RedirectRules(BaseModel):
    defaultLongUrl: str
    redirectRules: list[dict[str, object]]


class RedirectRulesSet(BaseModel):
    model_config = _LENIENT
    redirectRules: list[dict[str, object]] = Field(default_factory=list)


class Problem(BaseModel):
    """Shlink's problem details (RFC 7807) with its extra members."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    detail: str
    status: int


_PROBLEMS = {
    400: "Invalid data: `invalidElements` names each field (Shlink's invalid-data)",
    401: "Missing or invalid `X-Api-Key`",
    403: "The key lacks the scope, or the workspace is suspended",
    404: "No such short URL, tag or domain in the key's workspace",
    405: "The route does not take that method",
    409: "Conflict, e.g. renaming a tag to an existing one",
    429: "Too many requests; retry after `Retry-After` seconds",
    501: "Not available in hoplink (e.g. Mercure)",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        s: {
            "model": Problem,
            "description": _PROBLEMS[s],
            "content": {"application/problem+json": {}},
        }
        for s in statuses
    }
