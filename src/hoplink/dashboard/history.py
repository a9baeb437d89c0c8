"""A link's change history for readers: each field by its label, values in words.

The history stores column names and raw values (``destination_url``, ``true``); the page
shows what the form calls them ("Product URL", "Yes"), a campaign by its name and a date
in the workspace's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from hoplink.dashboard.i18n import N_

FIELD_LABELS: dict[str, str] = {
    "destination_url": N_("Product URL"),
    "utm_source": N_("UTM source"),
    "utm_medium": N_("UTM medium"),
    "utm_campaign": N_("UTM campaign"),
    "utm_term": N_("UTM term"),
    "utm_content": N_("UTM content"),
    "channel": N_("Channel"),
    "campaign_id": N_("Campaign"),
    "tags": N_("Tags"),
    "title": N_("Title"),
    "notes": N_("Notes"),
    "archived": N_("Archived"),
    "disabled": N_("Turned off"),
    "forward_query": N_("Pass the visitor's query parameters on"),
    "pass_ad_click_ids": N_("Pass ad click ids on"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "max_clicks": N_("Click limit"),
    "expiry_url": N_("After the end, send visitors to"),
    "exhausted_at": N_("Click limit reached"),
}
_FLAGS = {"true": N_("Yes"), "false": N_("No")}
_DATES = frozenset({"starts_at", "ends_at", "exhausted_at"})


def field_label(field: str, gettext: Callable[[str], str]) -> str:
    """The field's label in the reader's language; an unknown field keeps its name."""
    label = FIELD_LABELS.get(field)
    return gettext(label) if label else field


def shown_value(
    field: str,
    value: str | None,
    *,
    gettext: Callable[[str], str],
    campaigns: Mapping[str, str],
    timestamp: Callable[[datetime, ZoneInfo | None], str],
    tz: ZoneInfo,
) -> str:
    if value is None or value == "":
        return "—"
    if value in _FLAGS and field in ("archived", "disabled", "forward_query", "pass_ad_click_ids"):
        return gettext(_FLAGS[value])
    if field == "campaign_id":
        return campaigns.get(value, value)
    if field in _DATES:
        try:
            return timestamp(datetime.fromisoformat(value), tz)
        except ValueError:
            return value
    return value
