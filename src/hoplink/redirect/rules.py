"""Routing at the edge: the request becomes ``Facts`` once, the link's plan picks a Location.

Called by the handler only for links whose cached target carries a plan, so a plain link
pays nothing. What comes from the user agent (device class, OS, in-app browser) and the
Accept-Language header is derived once per distinct string and kept in small LRU caches:
a few thousand strings make up most traffic. The country is the one the click capture
already worked out (trusted CDN header or geo lookup); no request data is ever copied into
the Location — a plan only picks among URLs stored with the link.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qs

from starlette.types import Scope

from hoplink.clicks.enriched import DeviceClass
from hoplink.clicks.models import Click
from hoplink.ingest.useragents import device_class
from hoplink.links.plan import DEFAULT_RULE, EXPIRED_RULE, Facts, Plan
from hoplink.redirect import abcookie, pages
from hoplink.storage.redirects import Target

MAX_HEADER = 512  # longer user agents / language lists are cut before matching

# Order matters: Messenger and Instagram agents can carry Facebook's markers too.
IN_APP_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("messenger", re.compile(r"FBAN/Messenger|FB_IAB/MESSENGER|Orca-Android")),
    ("instagram", re.compile(r"\bInstagram\b")),
    ("facebook", re.compile(r"FBAN/|FBAV/|FB_IAB/|\bFBIOS\b|\bFB4A\b")),
    ("tiktok", re.compile(r"musical_ly|BytedanceWebview|\bTikTok\b|com\.zhiliaoapp")),
    ("wechat", re.compile(r"MicroMessenger/")),
    ("line", re.compile(r"\bLine/\d")),
    ("snapchat", re.compile(r"\bSnapchat/")),
    ("pinterest", re.compile(r"\bPinterest/")),
    ("x", re.compile(r"Twitter for iP(?:hone|ad)|TwitterAndroid|\bTwitter/\d")),
)
_WINDOWS_PHONE = re.compile(r"Windows Phone")
_IOS = re.compile(r"iPhone|iPad|iPod|\bCPU OS \d|\biOS\b")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*")


@lru_cache(maxsize=8192)
def agent_facts(user_agent: str) -> tuple[str, str, str | None]:
    """(device class, OS, in-app browser) of a user agent."""
    device = device_class(user_agent)
    if device is DeviceClass.BOT:  # pragma: no cover - device_class never says bot
        device = DeviceClass.OTHER
    if _WINDOWS_PHONE.search(user_agent):
        os = "other"
    elif "Android" in user_agent:
        os = "android"
    elif _IOS.search(user_agent):
        os = "ios"
    else:
        os = "other"
    app = next((name for name, pattern in IN_APP_PATTERNS if pattern.search(user_agent)), None)
    return device.value, os, app


@lru_cache(maxsize=4096)
def preferred_language(accept_language: str) -> str:
    """The tag with the highest q (the first of equals), lower case: ``"zh-cn"``; "" none."""
    best, best_q = "", 0.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _LANGUAGE.fullmatch(tag):
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        if q > best_q:
            best, best_q = tag.lower().replace("_", "-"), q
    return best


def facts(plan: Plan, scope: Scope, click: Click | None, now: float) -> Facts:
    user_agent = language = ""
    if click is not None:
        user_agent, language = click.user_agent, click.accept_language
    elif plan.needs_agent or plan.needs_language:
        for name, value in scope["headers"]:
            if name == b"user-agent":  # (a click's is cut to this length already)
                user_agent = value[:MAX_HEADER].decode("utf-8", "replace")
            elif name == b"accept-language":
                language = value[:MAX_HEADER].decode("latin-1")
    device, os, app = agent_facts(user_agent) if plan.needs_agent else ("", "", None)
    query: dict[str, list[str]] = {}
    if plan.needs_query and scope["query_string"]:
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
    return Facts(  # positional: measurably cheaper than keywords on this path
        device,
        os,
        app,
        preferred_language(language) if plan.needs_language else "",
        click.country if click is not None else None,
        query,
        now,
    )


class Routed(NamedTuple):
    location: str | None  # None: answer ``page`` (redirect/pages.py) instead
    forwardable: bool  # the visitor's query may be appended (http(s) Locations only)
    rule: str  # what the click records
    variant: str | None = None  # the A/B variant the visitor was given
    page: str | None = None  # "expired" or "scheduled"
    language: str = "en"  # the page's language
    remember: bool = False  # send the A/B cookie (the visitor's does not name ``variant``)


def route(
    plan: Plan,
    target: Target,
    scope: Scope,
    click: Click | None,
    now: float,
    *,
    ab_cookie: bool = False,
) -> Routed:
    closed = plan.closed(now)
    if closed is not None:
        if plan.expiry_url is not None:
            return Routed(plan.expiry_url, True, EXPIRED_RULE)
        accept = click.accept_language if click is not None else _header(scope, b"accept-language")
        language = pages.language_for(closed, preferred_language(accept))
        return Routed(None, False, EXPIRED_RULE, None, closed, language)
    rule = None
    os = ""
    if plan.rules:
        f = facts(plan, scope, click, now)
        rule, os = plan.decide(f), f.os
    if rule is not None:
        location = rule.location(os)
        # Per Location, not per rule: an app rule's web fallback (or iOS universal link) is
        # an http(s) URL like any other and gets the query and the click id; its
        # ``intent://`` / custom-scheme Locations never do.
        return Routed(location, location.startswith(("http://", "https://")), rule.id)
    if plan.variants:
        pinned = abcookie.pinned(scope) if ab_cookie else None
        variant, location = plan.pick(click.visitor_hash if click is not None else None, pinned)
        remember = ab_cookie and pinned != variant
        return Routed(location, True, DEFAULT_RULE, variant, remember=remember)
    return Routed(target.final_url, True, DEFAULT_RULE)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value[:MAX_HEADER].decode("latin-1"))
    return ""
