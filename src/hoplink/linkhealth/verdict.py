"""Judging one fetched URL: the answer (status, where redirects ended, the page's first
bytes) or the failure becomes a ``Verdict`` with a reason code. Pure functions over
values, so every rule is tested without a network.

Reasons (docs/campaigns.md lists them for users):

    ok                   2xx on the product's own site, no unavailable marker
    http_404, http_410   the page is gone                                         broken
    http_4xx (others)    403/429 are usually bot walls: not proof of anything      degraded
    http_5xx             the shop has trouble                                      degraded
    redirected_off_host  the product now sends visitors to another site           broken
    redirected_search    ... to the marketplace's search or category page         broken
    redirected_home      ... to the site's home page                              broken
    <marker reason>      a preset's text was found: sold_out (degraded),
                         not_found / listing_ended (broken), or the operator's own
    timeout, unreachable the host is slow or down                                  degraded
    tls, dns             certificate / handshake failure, the name does not resolve broken
    refused              the URL now leads to an address hoplink never fetches    broken
    redirect_loop        more redirects than allowed                              broken
    robots_disallowed    the site's robots.txt asks hoplink not to fetch it       unknown
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from hoplink.linkhealth.markers import Preset, preset_for
from hoplink.linkhealth.models import HealthState, Verdict

_GONE = frozenset({404, 410, 451})
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_FAILURES: dict[str, tuple[HealthState, str]] = {
    "timeout": ("degraded", "timeout"),
    "network": ("degraded", "unreachable"),
    "tls": ("broken", "tls"),
    "dns": ("broken", "dns"),
    "too_many_redirects": ("broken", "redirect_loop"),
}


def _site(host: str) -> str:
    for prefix in ("www.", "m."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def same_site(a: str, b: str, preset: Preset | None) -> bool:
    """Whether ``b`` is the site of ``a`` (a subdomain either way, or the same preset's
    hosts, e.g. one marketplace's country sites)."""
    sa, sb = _site(a), _site(b)
    if sa == sb or sa.endswith("." + sb) or sb.endswith("." + sa):
        return True
    return preset is not None and preset.matches(a) and preset.matches(b)


def _text(body: bytes, content_type: str | None) -> str:
    charset = "utf-8"
    if content_type and (found := _CHARSET.search(content_type)):
        charset = found.group(1)
    try:
        return body.decode(charset, "replace").casefold()
    except LookupError:
        return body.decode("utf-8", "replace").casefold()


def judge_redirect(url: str, final_url: str, presets: Sequence[Preset]) -> Verdict | None:
    """A broken verdict when the redirects ended somewhere that means "delisted"."""
    start, end = urlsplit(url), urlsplit(final_url)
    host, final_host = (start.hostname or "").lower(), (end.hostname or "").lower()
    preset = preset_for(host, presets)
    if not same_site(host, final_host, preset):
        return Verdict("broken", "redirected_off_host", f"redirected to {final_host}")
    path, final_path = start.path or "/", end.path or "/"
    if (final_host, final_path) == (host, path):
        return None
    if final_path == "/" and path != "/":
        return Verdict("broken", "redirected_home", f"redirected to {final_url[:200]}")
    where = preset_for(final_host, presets) or preset
    # (a link that itself points at a search page is judged by where it ends, not as moved)
    if (
        where is not None
        and where.delisted(final_host, final_path)
        and not where.delisted(host, path)
    ):
        return Verdict("broken", "redirected_search", f"redirected to {final_url[:200]}")
    return None


def judge_answer(
    url: str,
    *,
    status: int,
    final_url: str,
    body: bytes | None,
    content_type: str | None,
    presets: Sequence[Preset],
) -> Verdict:
    """The verdict of an answer; ``body`` None: not read (a HEAD), markers not looked at."""
    if status in _GONE:
        return Verdict("broken", f"http_{status}", "", status, final_url)
    if 400 <= status < 600:
        return Verdict("degraded", f"http_{status}", "", status, final_url)
    if not 200 <= status < 300:
        return Verdict("degraded", f"http_{status}", "unexpected status", status, final_url)
    moved = judge_redirect(url, final_url, presets)
    if moved is not None:
        return Verdict(moved.state, moved.reason, moved.detail, status, final_url)
    preset = preset_for((urlsplit(final_url).hostname or "").lower(), presets)
    if body is not None and preset is not None and preset.markers:
        text = _text(body, content_type)
        found = [m for m in preset.markers if m.text in text]
        for marker in sorted(found, key=lambda m: m.state != "broken"):
            return Verdict(marker.state, marker.reason, marker.text[:200], status, final_url)
    return Verdict("healthy", "ok", "", status, final_url)


def needs_body(final_url: str, presets: Sequence[Preset]) -> bool:
    """Whether a page on that host must be read (a preset has markers for it)."""
    preset = preset_for((urlsplit(final_url).hostname or "").lower(), presets)
    return preset is not None and bool(preset.markers)


def judge_failure(code: str, message: str, *, refused: bool) -> Verdict:
    """The verdict of a fetch that produced no answer (the fetcher's error code)."""
    if refused:
        return Verdict("broken", "refused", message[:300])
    state, reason = _FAILURES.get(code, ("degraded", "unreachable"))
    return Verdict(state, reason, message[:300])
