"""The three platforms behind one shape: which module builds, batches and reads answers
for a destination's kind, and where its requests go (the operator's base URLs only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hoplink.forwarding import ga4, meta, tiktok
from hoplink.forwarding.common import Request
from hoplink.forwarding.models import (
    Answer,
    Built,
    ClickFacts,
    ConversionFacts,
    Destination,
    Kind,
    Refused,
)


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The operator's base URLs (config.py: HOPLINK_GA4_BASE_URL ...)."""

    ga4: str = "https://www.google-analytics.com"
    meta: str = "https://graph.facebook.com"
    tiktok: str = "https://business-api.tiktok.com"
    meta_api_version: str = "v21.0"


@dataclass(frozen=True, slots=True)
class Platform:
    kind: Kind
    max_batch: int
    window: timedelta  # how old an event the platform still takes
    # ``request`` takes events as orjson.Fragment (pre-serialised JSON), not only dicts:
    # it puts them in the body as they are (GA4 reads each event's timestamp).
    takes_fragments: bool
    account_id: re.Pattern[str]
    account_hint: str
    credential: re.Pattern[str]
    credential_name: str
    credential_hint: str  # what ``credential`` accepts, for the refusal message
    default_click_event: str
    event_name_problem: Callable[[str], str | None]
    click: Callable[..., Built | Refused]
    conversion: Callable[..., Built | Refused]
    due_problem: Callable[[dict[str, Any], datetime, datetime], str | None]
    answer: Callable[[int, bytes], Answer]

    def build_click(self, dest: Destination, facts: ClickFacts, now: datetime) -> Built | Refused:
        return self.click(dest, facts, now=now)

    def build_conversion(
        self, dest: Destination, facts: ConversionFacts, now: datetime
    ) -> Built | Refused:
        return self.conversion(dest, facts, now=now)

    def request(
        self,
        dest: Destination,
        *,
        credential: str,
        endpoints: Endpoints,
        events: list[dict[str, Any]],
        group: str,
    ) -> Request:
        if self.kind is Kind.GA4:
            return ga4.request(
                dest, credential=credential, base_url=endpoints.ga4, events=events, group=group
            )
        if self.kind is Kind.META:
            return meta.request(
                dest,
                credential=credential,
                base_url=endpoints.meta,
                events=events,
                group=group,
                api_version=endpoints.meta_api_version,
            )
        return tiktok.request(
            dest, credential=credential, base_url=endpoints.tiktok, events=events, group=group
        )


PLATFORMS: dict[Kind, Platform] = {
    Kind.GA4: Platform(
        kind=Kind.GA4,
        max_batch=ga4.MAX_BATCH,
        window=ga4.WINDOW,
        takes_fragments=False,
        account_id=ga4.ACCOUNT_ID,
        account_hint="a measurement id like G-ABC123XYZ (GA4 Admin → Data streams)",
        credential=ga4.CREDENTIAL,
        credential_name="Measurement Protocol API secret",
        credential_hint="8 to 100 letters, digits, - and _",
        default_click_event=ga4.DEFAULT_CLICK_EVENT,
        event_name_problem=ga4.event_name_problem,
        click=ga4.click,
        conversion=ga4.conversion,
        due_problem=ga4.due_problem,
        answer=ga4.answer,
    ),
    Kind.META: Platform(
        kind=Kind.META,
        max_batch=meta.MAX_BATCH,
        window=meta.WINDOW,
        takes_fragments=True,
        account_id=meta.ACCOUNT_ID,
        account_hint="a pixel (dataset) id: 5 to 20 digits (Events Manager → Data sources)",
        credential=meta.CREDENTIAL,
        credential_name="Conversions API access token",
        credential_hint="20 to 512 letters, digits, -, _ and |",
        default_click_event=meta.DEFAULT_CLICK_EVENT,
        event_name_problem=meta.event_name_problem,
        click=meta.click,
        conversion=meta.conversion,
        due_problem=meta.due_problem,
        answer=meta.answer,
    ),
    Kind.TIKTOK: Platform(
        kind=Kind.TIKTOK,
        max_batch=tiktok.MAX_BATCH,
        window=tiktok.WINDOW,
        takes_fragments=True,
        account_id=tiktok.ACCOUNT_ID,
        account_hint="a pixel code: 10 to 32 capital letters and digits (Events Manager)",
        credential=tiktok.CREDENTIAL,
        credential_name="Events API access token",
        credential_hint="16 to 512 letters, digits, - and _",
        default_click_event=tiktok.DEFAULT_CLICK_EVENT,
        event_name_problem=tiktok.event_name_problem,
        click=tiktok.click,
        conversion=tiktok.conversion,
        due_problem=tiktok.due_problem,
        answer=tiktok.answer,
    ),
}
