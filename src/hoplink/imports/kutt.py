"""Reading links from Kutt's API v2 (``GET /api/v2/links``, ``X-API-KEY``), page by page,
through the safe outbound fetcher: the Kutt URL is the user's, so it gets every check a
user-chosen URL gets (public addresses only, pinned, time and size limits)."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

from hoplink.errors import FieldError, InvalidInput
from hoplink.imports.formats import MAX_ROWS, ascii_host
from hoplink.imports.models import SourceLink
from hoplink.net.fetch import FetchError, SafeFetcher

PAGE = 50  # Kutt's own maximum per page


def _refused(message: str) -> InvalidInput:
    return InvalidInput(FieldError("kutt_url", "kutt_unreachable", message))


def _host(url: str) -> str | None:
    try:
        return ascii_host(urlsplit(url).hostname or "")
    except ValueError:  # "https://[::1": an unclosed IPv6 bracket, a bad port
        return None


async def read_kutt(fetcher: SafeFetcher, *, base_url: str, api_key: str) -> list[SourceLink]:
    base = base_url.rstrip("/")
    default_host = _host(base)
    if default_host is None:
        raise InvalidInput(
            FieldError("kutt_url", "invalid", "give Kutt's base URL, e.g. https://kutt.example")
        )
    out: list[SourceLink] = []
    skip = 0
    while len(out) < MAX_ROWS:
        url = f"{base}/api/v2/links?{urlencode({'limit': PAGE, 'skip': skip})}"
        try:
            result = await fetcher.get(url, headers=[("X-API-KEY", api_key)])
        except FetchError as exc:
            raise _refused(f"Kutt could not be read: {exc.message}") from None
        if result.status != 200:
            raise _refused(f"Kutt answered {result.status} to {url}")
        try:
            page = json.loads(result.body)
            items = page["data"]
            total = int(page.get("total", 0))
        except (ValueError, KeyError, TypeError):
            raise _refused("Kutt's answer is not its links list") from None
        for item in items:
            link = str(item.get("link") or "")
            host = _host(link)
            clicks = item.get("visit_count", 0)
            out.append(
                SourceLink(
                    row=len(out) + 1,
                    url=str(item.get("target") or "").strip(),
                    code=str(item.get("address") or "").strip() or None,
                    domain=host or ascii_host(str(item.get("domain") or "")) or default_host,
                    title=str(item.get("description") or "").strip() or None,
                    clicks=clicks if isinstance(clicks, int) and clicks >= 0 else 0,
                )
            )
        skip += len(items)
        if not items or skip >= total:
            break
    return out
