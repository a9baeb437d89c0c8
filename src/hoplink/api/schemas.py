"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hoplink.ids import utcnow
from hoplink.links.models import Campaign, HistoryEntry, Link
from hoplink.links.routing import Rule


class ProblemError(BaseModel):
    field: str
    code: str
    message: str


class Problem(BaseModel):
    """RFC 7807 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    code: str = Field(description="Stable machine-readable reason, e.g. invalid_input")
    detail: str = Field(description="What went wrong, for a person")
    field: str | None = Field(None, description="The first offending field, dotted path")
    errors: list[ProblemError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers an endpoint can give."""
    text = {
        400: "Malformed request (e.g. invalid JSON)",
        401: "Missing, invalid or revoked API key",
        403: "The key lacks the scope, or the workspace is suspended",
        404: "No such object in this workspace",
        409: "Conflict, e.g. the custom code is taken",
        413: "The request body is too large",
        422: "Invalid input; `errors` names each field",
        429: "Too many requests; retry after `Retry-After` seconds",
    }
    return {
        s: {"model": Problem, "description": text[s], "content": {"application/problem+json": {}}}
        for s in statuses
    }


class _In(BaseModel):
    # Strict: JSON types as JSON says them. "yes", "1" or 1 are not booleans, "5" is not a
    # number (pydantic's lax mode would take each and act on it).
    model_config = ConfigDict(extra="forbid", strict=True)


class LinkCreate(_In):
    url: str = Field(description="The destination, e.g. a product page. http or https only.")
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    channel: str | None = Field(None, description="facebook, tiktok, instagram, google, …")
    campaign_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    title: str | None = None
    notes: str | None = None
    code: str | None = Field(None, description="Custom back-half; random when omitted.")
    domain: str | None = Field(
        None,
        description="Short-link domain (a platform one or your verified custom one); your"
        " default custom domain, else the platform's, when omitted.",
    )
    forward_query: bool | None = Field(
        None, description="Pass the visitor's query on; omitted: the domain's default"
    )
    # ISO 8601 text is how JSON carries a time: strict mode would refuse every string.
    starts_at: datetime | None = Field(
        None, description="Served from this time (with a zone)", strict=False
    )
    ends_at: datetime | None = Field(
        None, description="Expires at this time (with a zone)", strict=False
    )
    max_clicks: int | None = Field(None, description="Expires after this many human clicks")
    expiry_url: str | None = Field(
        None, description="Where an expired (or not yet started) link sends; else a 410 page"
    )
    pass_ad_click_ids: bool = Field(
        False, description="Pass fbclid, gclid, ttclid, ... on to the destination."
    )


class LinkUpdate(_In):
    url: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    channel: str | None = None
    campaign_id: str | None = None
    tags: list[str] | None = None
    title: str | None = None
    notes: str | None = None
    archived: bool | None = Field(
        None, description="Hide from the list and reports; the short URL keeps redirecting."
    )
    disabled: bool | None = Field(
        None, description="Turn off: visitors get the visitor page (404) instead of the product."
    )
    forward_query: bool | None = None
    # ISO 8601 text is how JSON carries a time: strict mode would refuse every string.
    starts_at: datetime | None = Field(
        None, description="Served from this time (with a zone)", strict=False
    )
    ends_at: datetime | None = Field(
        None, description="Expires at this time (with a zone)", strict=False
    )
    max_clicks: int | None = Field(None, description="Expires after this many human clicks")
    expiry_url: str | None = Field(
        None, description="Where an expired (or not yet started) link sends; else a 410 page"
    )
    pass_ad_click_ids: bool | None = None


class BulkCreate(_In):
    # Items are validated one by one so one bad item does not hide the others.
    items: list[Any] = Field(description="Up to 1,000 LinkCreate objects.")
    all_or_nothing: bool = False


class LinkOut(BaseModel):
    id: str
    short_url: str
    code: str
    domain: str
    url: str
    final_url: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    channel: str | None
    campaign_id: str | None
    tags: list[str]
    title: str | None
    notes: str | None
    archived: bool
    disabled: bool
    forward_query: bool
    pass_ad_click_ids: bool
    created_at: datetime
    updated_at: datetime
    banned: bool = Field(
        False, description="Banned by the platform: answers 410 and cannot be changed"
    )
    ban_reason: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_clicks: int | None = None
    expiry_url: str | None = None
    exhausted_at: datetime | None = Field(
        None, description="When the worker counted the max_clicks-th human click"
    )
    state: str = Field("live", description="scheduled, live or expired")

    @classmethod
    def of(cls, link: Link, short_url: str) -> LinkOut:
        return cls(
            id=link.id,
            short_url=short_url,
            code=link.code,
            domain=link.domain,
            url=link.destination_url,
            final_url=link.final_url,
            utm_source=link.utm.get("utm_source"),
            utm_medium=link.utm.get("utm_medium"),
            utm_campaign=link.utm.get("utm_campaign"),
            utm_term=link.utm.get("utm_term"),
            utm_content=link.utm.get("utm_content"),
            channel=link.channel,
            campaign_id=link.campaign_id,
            tags=link.tags,
            title=link.title,
            notes=link.notes,
            archived=link.archived,
            disabled=link.disabled,
            forward_query=link.forward_query,
            pass_ad_click_ids=link.pass_ad_click_ids,
            created_at=link.created_at,
            updated_at=link.updated_at,
            banned=link.ban is not None,
            ban_reason=link.ban.reason if link.ban else None,
            starts_at=link.starts_at,
            ends_at=link.ends_at,
            max_clicks=link.max_clicks,
            expiry_url=link.expiry_url,
            exhausted_at=link.exhausted_at,
            state=link.state(utcnow()),
        )


class LinkPage(BaseModel):
    items: list[LinkOut]
    page: int
    per_page: int
    total: int
    next_page: int | None


class ItemError(BaseModel):
    field: str
    code: str
    message: str


class BulkItem(BaseModel):
    index: int
    ok: bool
    link: LinkOut | None = None
    errors: list[ItemError] | None = None


class BulkResult(BaseModel):
    created: int
    failed: int
    results: list[BulkItem]


class HistoryOut(BaseModel):
    changed_at: datetime
    changed_by: str | None
    field: str
    old_value: str | None
    new_value: str | None

    @classmethod
    def of(cls, e: HistoryEntry) -> HistoryOut:
        return cls(
            changed_at=e.changed_at,
            changed_by=e.changed_by,
            field=e.field,
            old_value=e.old_value,
            new_value=e.new_value,
        )


class CampaignIn(_In):
    name: str
    external_id: str | None = None


class CampaignUpdate(_In):
    name: str | None = None
    external_id: str | None = None


class CampaignOut(BaseModel):
    id: str
    name: str
    external_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        return cls(id=c.id, name=c.name, external_id=c.external_id, created_at=c.created_at)


class TagOut(BaseModel):
    name: str
    links: int


class TagRenameIn(BaseModel):
    name: str = Field(max_length=200, description="the tag's new name")


class WorkspaceOut(BaseModel):
    id: str
    slug: str
    name: str
    seller_id: str | None
    timezone: str
    status: str
    channels: list[str]
    param_template: dict[str, str]
    click_id_param: str | None = Field(
        description="The parameter every redirect adds the click id under; null: turned off."
    )
    api_key: dict[str, Any]


class ConditionIn(_In):
    type: Literal["device", "os", "country", "language", "in_app", "query", "time"]
    values: list[str] | None = Field(
        None,
        description="device: mobile/tablet/desktop/other; os: ios/android/other; country: "
        "ISO 3166-1 alpha-2; language: BCP 47 tags (en, zh-CN); in_app: facebook, instagram, "
        "messenger, tiktok, wechat, line, snapchat, pinterest, x (empty: any in-app browser)",
    )
    name: str | None = Field(None, description="query: the parameter name")
    equals: str | None = Field(None, description="query: the value; null = present")
    start: str | None = Field(None, description="time: ISO 8601 with a zone (inclusive)")
    end: str | None = Field(None, description="time: ISO 8601 with a zone (exclusive)")


class ActionIn(_In):
    type: Literal["url", "app"]
    url: str | None = Field(
        None, description="url: the alternate destination; app: the web URL (default: the link's)"
    )
    preset: str | None = Field(None, description="app: an app preset (GET /api/v1/app-presets)")


class RuleIn(_In):
    name: str | None = None
    match: Literal["all", "any"] = "all"
    conditions: list[ConditionIn]
    action: ActionIn

    def raw(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "match": self.match,
            "conditions": [c.model_dump(exclude_none=True) for c in self.conditions],
            "action": self.action.model_dump(exclude_none=True),
        }


class RuleCreate(RuleIn):
    position: int | None = Field(None, description="0 = checked first; omitted = last")


class RuleItem(RuleIn):
    id: str | None = Field(None, description="An existing rule's id, to keep it")


class RuleList(_In):
    rules: list[RuleItem] = Field(description="The whole ordered list; first match wins")


class RuleOut(BaseModel):
    id: str
    name: str | None
    match: str
    conditions: list[dict[str, Any]]
    action: dict[str, Any] = Field(
        description="type, url; for app: preset and the Location per OS (ios/android/other)"
    )

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        data = rule.to_json()
        return cls(**data)


class AppPresetOut(BaseModel):
    name: str
    label: str
    android_package: str | None
    ios_template: str | None


class VariantIn(_In):
    url: str | None = Field(None, description="The destination; null: the link's own (control)")
    weight: int = Field(1, description="Relative share of visitors, 1 to 1000")


class AbStart(_In):
    variants: list[VariantIn] = Field(description="2 to 5; the first is the control")


class AbStop(_In):
    winner: str = Field(description="The id of the variant the link keeps redirecting to")


class VariantComparison(BaseModel):
    z: float | None = Field(description="Two-proportion z-test on conversion rate")
    p_value: float | None = Field(description="Two-sided")
    probability_to_beat: float | None = Field(
        description="P(this variant's rate > the control's) (null: no conversion in either arm yet)"
    )
    needed_per_variant: int | None = Field(
        description="Human clicks each arm needs for 80 % power at 5 % significance"
        " (null: no difference observed yet)"
    )


class VariantOut(BaseModel):
    id: str
    url: str | None
    weight: int
    clicks: int
    human_clicks: int
    human_visitors: int = Field(description="Sum of daily unique visitors since the start")
    orders: int = Field(description="Orders attributed to a human click of this variant")
    conversions: int = Field(description="Distinct human clicks that led to an order")
    conversion_rate: float | None = Field(description="conversions / human_clicks")
    gmv: int = Field(description="Minor units of the workspace currency")
    net_gmv: int = Field(description="GMV less refunds and cancels")
    vs_control: VariantComparison | None = Field(
        description="Against the control (the first variant); null for the control"
    )


class AbTestOut(BaseModel):
    id: str
    started_at: datetime
    currency: str = Field(description="The workspace currency of gmv and net_gmv")
    variants: list[VariantOut]
    missing_rates: list[str] = Field(
        description="CURRENCY:YYYY-MM-DD without an exchange rate: those orders are counted"
        " but not in GMV"
    )
