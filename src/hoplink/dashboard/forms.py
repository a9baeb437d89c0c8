"""Link forms: channel presets, form fields → ``LinkSpec``, service errors → fields.

A preset fills the channel and the UTM source/medium only where the seller left them
empty, on the server as in the page's JavaScript, so a form sent without JavaScript and
the live preview give the same link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hoplink.dashboard.i18n import N_
from hoplink.errors import FieldError, InvalidInput
from hoplink.links.models import Link
from hoplink.links.spec import LinkEdit, LinkSpec
from hoplink.links.urls import UTM_FIELDS


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    label: str  # translated where shown
    channel: str
    source: str
    medium: str


PRESETS: tuple[Preset, ...] = (
    Preset("facebook", N_("Facebook post"), "facebook", "facebook", "social"),
    Preset("facebook_ads", N_("Facebook Ads"), "facebook", "facebook", "paid_social"),
    Preset("tiktok", N_("TikTok video"), "tiktok", "tiktok", "social"),
    Preset("tiktok_ads", N_("TikTok Ads"), "tiktok", "tiktok", "paid_social"),
    Preset("instagram", N_("Instagram post"), "instagram", "instagram", "social"),
    Preset("instagram_ads", N_("Instagram Ads"), "instagram", "instagram", "paid_social"),
    Preset("google_ads", N_("Google Ads"), "google", "google", "cpc"),
    Preset("email", N_("E-mail newsletter"), "email", "newsletter", "email"),
    Preset("kol", N_("KOL / influencer"), "kol", "kol", "influencer"),
)
PRESETS_BY_KEY = {p.key: p for p in PRESETS}
# The channel a UTM source usually belongs to (a channel's own name maps to itself).
SOURCE_CHANNELS = {p.source: p.channel for p in PRESETS}


def suggested_channel(values: Mapping[str, str], channels: Sequence[str]) -> str | None:
    """The channel the UTM source points to when the form's channel is another (or none):
    a seller who changes utm_source from facebook to tiktok is reminded of the channel,
    which the reports group by. None when they agree or the source names no channel."""
    source = values.get("utm_source", "").strip().lower()
    if not source:
        return None
    wanted = source if source in channels else SOURCE_CHANNELS.get(source)
    if wanted is None or wanted not in channels or values.get("channel", "") == wanted:
        return None
    return wanted


TEXT_FIELDS = ("url", *UTM_FIELDS, "channel", "campaign_id", "tags", "title", "notes", "code")


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The form as typed (for showing it again), with the preset applied."""
    values = {name: _text(form, name) for name in TEXT_FIELDS}
    values["preset"] = _text(form, "preset")
    values["forward_query"] = "on" if _text(form, "forward_query") else ""
    values["pass_ad_click_ids"] = "on" if _text(form, "pass_ad_click_ids") else ""
    preset = PRESETS_BY_KEY.get(values["preset"])
    if preset is not None:
        if not values["channel"].strip():
            values["channel"] = preset.channel
        if not values["utm_source"].strip():
            values["utm_source"] = preset.source
        if not values["utm_medium"].strip():
            values["utm_medium"] = preset.medium
    return values


def split_tags(text: str) -> list[str]:
    # A Chinese keyboard types the full-width comma U+FF0C.
    return [t.strip() for t in text.replace("\uff0c", ",").split(",") if t.strip()]


def _or_none(text: str) -> str | None:
    return text.strip() or None


def spec_from(values: Mapping[str, str]) -> LinkSpec:
    return LinkSpec(
        url=values["url"],
        utm={name: values[name] for name in UTM_FIELDS},
        channel=_or_none(values["channel"]),
        campaign_id=_or_none(values["campaign_id"]),
        tags=split_tags(values["tags"]),
        title=values["title"],
        notes=values["notes"],
        code=_or_none(values["code"]),
        forward_query=bool(values["forward_query"]),
        pass_ad_click_ids=bool(values["pass_ad_click_ids"]),
    )


def edit_from(values: Mapping[str, str]) -> LinkEdit:
    """An edit: every field of the form as it has it (the service keeps what is equal)."""
    return LinkEdit(
        url=values["url"],
        utm={name: values[name] for name in UTM_FIELDS},
        channel=_or_none(values["channel"]),
        campaign_id=_or_none(values["campaign_id"]),
        tags=split_tags(values["tags"]),
        title=values["title"],
        notes=values["notes"],
        forward_query=bool(values["forward_query"]),
        pass_ad_click_ids=bool(values["pass_ad_click_ids"]),
    )


def link_values(link: Link) -> dict[str, str]:
    values = {
        "url": link.destination_url,
        **{name: link.utm.get(name) or "" for name in UTM_FIELDS},
        "channel": link.channel or "",
        "campaign_id": link.campaign_id or "",
        "tags": ", ".join(link.tags),
        "title": link.title or "",
        "notes": link.notes or "",
        "code": link.code,
        "preset": "",
        "forward_query": "on" if link.forward_query else "",
        "pass_ad_click_ids": "on" if link.pass_ad_click_ids else "",
    }
    return values


def form_field(error: FieldError) -> str:
    """The form field an error belongs to: ``tags.3`` → ``tags``, ``param_template.x`` →
    ``param_template``; anything unknown goes to the top of the form."""
    head = error.field.split(".", 1)[0]
    return head if head else "_form"


def errors_by_field(exc: InvalidInput) -> dict[str, list[FieldError]]:
    out: dict[str, list[FieldError]] = {}
    for error in exc.errors:
        out.setdefault(form_field(error), []).append(error)
    return out


# What each stable error code means, in words a translator can work with; the service's
# own message (English, with the specifics: position, character, limit) follows it.
ERROR_HINTS: dict[str, str] = {
    "required": N_("This field is required."),
    "control_character": N_("Remove the invisible control character."),
    "whitespace": N_("Remove the space, or encode it as %20."),
    "backslash": N_("Remove the backslash."),
    "missing_scheme": N_("Start the link with https://"),
    "unsupported_scheme": N_("Only http:// and https:// links are allowed."),
    "missing_host": N_("The link needs a host name, e.g. https://shop.example.com/"),
    "missing_hostname": N_("Enter a domain name, e.g. shop.example.com"),
    "invalid_host": N_("The host name is not valid."),
    "credentials_not_allowed": N_("Remove the user name or password before '@'."),
    "invalid_port": N_("The port is not valid."),
    "too_long": N_("This is too long."),
    "nul_character": N_("Remove the NUL character."),
    "invalid_unicode": N_("This text is not valid Unicode."),
    "utm_conflict": N_("The product URL already sets this UTM value."),
    "reserved_parameter": N_("This parameter name is reserved."),
    "unknown_channel": N_("Choose one of the workspace's channels."),
    "unknown_campaign": N_("Choose an existing campaign."),
    "invalid_length": N_("The length is not allowed."),
    "invalid": N_("This value is not valid."),
    "invalid_characters": N_("Use only letters, digits, '-' and '_'."),
    "reserved": N_("This back-half is reserved; choose another."),
    "code_taken": N_("This back-half is already taken; choose another."),
    "too_many": N_("Too many values."),
    "unknown_timezone": N_("Choose a time zone from the list."),
    "unknown_placeholder": N_("Unknown placeholder."),
    "unbalanced_brace": N_("A '{' or '}' is not matched."),
    "invalid_name": N_("The parameter name is not valid."),
    "email_taken": N_("A user with this e-mail address already exists."),
    "last_owner": N_("A workspace needs at least one owner."),
    # Destination policy refusals (links and claimed domains) and domain claims.
    "private_address": N_("This address is not on the public internet."),
    "internal_host": N_("This is a local network name, not a public web site."),
    "blocked_port": N_("Browsers refuse this port."),
    "own_domain": N_("This is one of this service's own short-link domains."),
    "wildcard_dns": N_("This name stands for a private address; use the site's own domain."),
    "url_shortener": N_("This is a URL shortener; use the final address instead."),
    "blocked_domain": N_("This domain is on the platform's blocklist."),
    "confusable_host": N_("The name mixes look-alike letters of different scripts."),
    "not_allowed": N_("This site is not allowed on this platform."),
    "ip_address": N_("Give a domain name, not an IP address."),
    "duplicate": N_("This domain is already on your list."),
    "domain_taken": N_(
        "Another workspace holds this domain; only the platform operator can move it."
    ),
    "platform_domain": N_("This is the platform's own short domain."),
    # Issue 14: every code a reader can meet has its own words in every language.
    "after_to": N_("The start must be before the end."),
    "empty": N_("Give at least one value."),
    "unknown_country": N_("Use a two-letter ISO country code, e.g. DE or GB (not UK)."),
    "invalid_currency": N_("Use a three-letter ISO 4217 currency code, e.g. EUR or USD."),
    "not_current_currency": N_("This currency is no longer in use; choose one from the list."),
    # Order exports and spend files (Settings → Conversions).
    "encoding": N_("Save the file as UTF-8 (CSV UTF-8) and upload it again."),
    "no_header": N_(
        "No header row with the order id column in the first 20 lines: check the file"
        " or the column mapping."
    ),
    "unreadable_csv": N_("The file cannot be read as CSV: check that it is the export itself."),
    "unclosed_quote": N_(
        "A quote in the file is never closed, so the rows after it cannot be read: check the"
        " quotes on the line named."
    ),
    "missing_column": N_("The file has no column for this field: set it in the column mapping."),
    "invalid_datetime": N_("This is not a valid date and time."),
    "mismatch": N_("The values do not match."),
    "naive_datetime": N_("Give the date and time with its time zone."),
    "null": N_("Leave this field out instead of empty."),
    "out_of_range": N_("This value is outside the allowed range."),
    "range_too_long": N_("The date range is too long; choose a shorter one."),
    "too_many_parameters": N_("The link has too many query parameters."),
    "too_short": N_("This is too short."),
    "unknown_domain": N_("This short-link domain is not available to this workspace."),
    "unknown_field": N_("Unknown field."),
    "unknown_link": N_("This is not a short link of this service."),
    "unknown_scope": N_("Choose scopes from the list."),
    # QR code options and the workspace's QR logo.
    "invalid_choice": N_("Choose one of the listed values."),
    "invalid_colour": N_("Give a colour like #1a2b3c."),
    "low_contrast": N_("The colours are too close: use a dark colour on a light background."),
    "invalid_margin": N_("Use a margin of 0 to 10 modules."),
    "invalid_image": N_("Use a PNG or JPEG image."),
    "image_too_large": N_(
        "The image is too large: at most 512 KB and 4096 × 4096 pixels."  # noqa: RUF001 - a multiplication sign
    ),
    "no_logo": N_("Upload a QR code logo in Settings first."),
    "quota_exceeded": N_(
        "The workspace's link creation quota was reached; try again when it starts again."
    ),
}
