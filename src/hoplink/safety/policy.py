"""Where a short link may point: the destination policy.

Pure domain logic (no HTTP, no SQL). It judges a URL that ``links.urls`` has already
canonicalised, so syntax (schemes, credentials, control characters, backslashes, odd IPv4
spellings) has exactly one home, there; this module decides *where* a link may go. Each
refusal is a ``FieldError`` whose code names the rule and whose message says why:

    private_address   an IP literal that is not a public unicast address
    internal_host     localhost, *.local, *.internal, single-label hosts ...
    blocked_port      a port browsers refuse to connect to (Fetch "bad ports")
    own_domain        one of hoplink's own short-link domains (chains and loops)
    url_shortener     a known URL shortener (hides the real destination)
    blocked_domain    the operator's blocklist
    confusable_host   a label mixing scripts, a whole-script homograph of a Latin name
                      (Unicode TS #39, as browsers decide to show punycode), or a look-alike
                      of a blocked domain
    wildcard_dns      a service whose names resolve to any address written in them
                      (127.0.0.1.nip.io, localtest.me): a private address in disguise
    not_allowed       allowlist mode: neither the platform allowlist nor a verified domain

With the create-time resolution check on (``HOPLINK_DESTINATION_RESOLVE``: by default in
allowlist mode), a name is also looked up through the outbound resolver (``net.fetch``'s,
the operator's DNS servers or the system's) when a link is created or its destination
edited; ``check_resolves`` then refuses:

    resolves_private  a name with any address that is not public unicast (a name pointed
                      at 127.0.0.1 or 10.x: the same private address in another spelling)
    unresolvable_host a name with no address at all (a typo, an expired domain), or whose
                      lookup failed

This is a check at write time only: DNS may change later, and the redirect itself never
resolves anything (it answers with the URL; the visitor's browser connects).

Blocks always win over the allowlist and over verified domains.
"""

from __future__ import annotations

import asyncio
import functools
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import idna
from confusable_homoglyphs import categories, confusables

from hoplink.errors import FieldError
from hoplink.net.addresses import IPAddress, host_address, non_global_reason
from hoplink.safety.patterns import normalize_pattern

if TYPE_CHECKING:
    from hoplink.config import Settings


# The outbound resolver's shape (``hoplink.net.fetch.Resolver``): every A and AAAA address
# of a host; OSError when there is none or the lookup failed.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
# Seconds one name may take to resolve at create time; longer counts as unresolvable.
RESOLVE_TIMEOUT = 5.0
# Names looked up at once for a bulk call (distinct hosts only).
RESOLVE_CONCURRENCY = 16


class PolicyMode(StrEnum):
    OPEN = "open"  # any public destination
    ALLOWLIST = "allowlist"  # platform allowlist patterns or the workspace's verified domains


# Names that never reach the public internet (RFC 6761/6762, ICANN's .internal, and the
# suffixes routers and intranets use); a browser resolves them to the visitor's own network.
_INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "private",
    "home.arpa",
    "arpa",
    "onion",
    "invalid",
)
# WHATWG Fetch "bad ports": browsers refuse them, so such a link can only be an attack on a
# non-HTTP service.
_BAD_PORTS = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101}
    | {102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179}
    | {389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587}
    | {601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061}
    | {6000, 6566, 6665, 6666, 6667, 6668, 6669, 6697, 10080}
)
# Look-alikes of Latin letters, for comparing a Unicode host with the blocked ones.
# Escaped: the look-alikes themselves would be invisible in review (and trip ruff RUF001).
_LOOKALIKES = {
    "\u0430\u0251\u03b1": "a",
    "\u042c\u042a": "b",
    "\u0441\u03f2": "c",
    "\u0501": "d",
    "\u0435\u0454\u03b5": "e",
    "\u0261": "g",
    "\u04bb": "h",
    "\u0456\u03b9\u04cf": "i",
    "\u0458": "j",
    "\u03ba\u043a": "k",
    "\u217c": "l",
    "\u0578\u043f": "n",
    "\u043e\u03bf\u0585": "o",
    "\u0440\u03c1": "p",
    "\u051b": "q",
    "\u0455": "s",
    "\u03c4\u0442": "t",
    "\u03c5\u057d": "u",
    "\u0475\u03bd": "v",
    "\u051d\u0461": "w",
    "\u0445\u03c7": "x",
    "\u0443\u03b3": "y",
    "\u1d22": "z",
}
_SKELETON = str.maketrans({c: latin for chars, latin in _LOOKALIKES.items() for c in chars})


def _shipped_shorteners() -> frozenset[str]:
    text = resources.files("hoplink.safety").joinpath("shorteners.txt").read_text("utf-8")
    return frozenset(_entries(text.splitlines()))


def _shipped_wildcard_dns() -> frozenset[str]:
    text = resources.files("hoplink.safety").joinpath("wildcard_dns.txt").read_text("utf-8")
    return frozenset(_entries(text.splitlines()))


def _entries(lines: Iterable[str]) -> list[str]:
    return [s for line in lines if (s := line.split("#", 1)[0].strip().lower())]


def matches(host: str, pattern: str) -> bool:
    """``*.x.com`` matches any subdomain of x.com (not x.com itself); ``x.com`` only x.com."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _in_domain(host: str, domains: Iterable[str]) -> str | None:
    """The first of ``domains`` that ``host`` equals or is a subdomain of."""
    if isinstance(domains, frozenset):
        # The shipped lists (hundreds of shorteners): a look-up per suffix of the host
        # (a.b.com, b.com, com) instead of a scan of the list, for every destination of a
        # 100,000-link import. The most specific match is the one named.
        name = host
        while True:
            if name in domains or "*." + name in domains:
                return name
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1 :]
    for domain in domains:
        bare = domain.removeprefix("*.")
        if host == bare or host.endswith("." + bare):
            return bare
    return None


def _unicode_host(host: str) -> str:
    if "xn--" not in host:  # canonical hosts are lower-case ASCII: nothing to decode
        return host
    try:
        return idna.decode(host)
    except UnicodeError:
        return host


# Unicode TS #39 "Highly Restrictive": one script, or Latin with the scripts written
# together in Chinese, Japanese or Korean (what browsers show in Unicode, not punycode).
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NEUTRAL = frozenset({"COMMON", "INHERITED"})  # digits, hyphen, combining marks


def _label_scripts(label: str) -> set[str]:
    return {categories.alias(c) for c in label} - _NEUTRAL


@functools.lru_cache(maxsize=4096)
def _looks_ascii(char: str) -> bool:
    """Whether ``char`` is confusable with an ASCII letter or digit (Unicode's
    confusables data, through confusable_homoglyphs)."""
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    return any(
        h["c"].isascii() and h["c"].isalnum() for entry in found for h in entry["homoglyphs"]
    )


def confusable_label(label: str, *, tld: str = "") -> str | None:
    """Why a (Unicode) host label is a homograph risk per Unicode TS #39, or None.

    Mixed script: letters of scripts that are not written together (Latin with Cyrillic,
    Greek with Latin ...). Whole-script confusable: every letter of a single non-Latin
    script looks like an ASCII letter (``xn--80ak6aa92e``: "apple" in Cyrillic), except under a
    top-level domain of that same script (``.xn--p1ai``), where users expect such names.
    """
    scripts = _label_scripts(label)
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
        return f"mixes letters of different scripts ({', '.join(sorted(scripts)).lower()})"
    if len(scripts) == 1 and scripts != {"LATIN"} and _label_scripts(tld) != scripts:
        letters = [c for c in label if categories.alias(c) not in _NEUTRAL]
        if letters and all(_looks_ascii(c) for c in letters):
            return "is made only of letters that look like Latin ones (a homograph)"
    return None


def _skeleton(unicode_host: str) -> str:
    return unicodedata.normalize("NFKC", unicode_host).translate(_SKELETON).lower()


def split_host_port(url: str) -> tuple[str, int | None]:
    """Host (``[v6]`` keeps its brackets) and explicit port of a canonical URL."""
    authority = url.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        return host + "]", int(rest[1:]) if rest.startswith(":") else None
    host, colon, port = authority.partition(":")
    return host, int(port) if colon and port.isdigit() else None


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """The operator's rules (from settings); per-call facts come as arguments to check()."""

    mode: PolicyMode = PolicyMode.OPEN
    allowlist: tuple[str, ...] = ()  # normalised patterns
    blocklist: tuple[str, ...] = ()  # normalised; a domain also blocks its subdomains
    shorteners: frozenset[str] = field(default_factory=_shipped_shorteners)
    wildcard_dns: frozenset[str] = field(default_factory=_shipped_wildcard_dns)
    # Set: destinations' names are resolved at create/edit time (``check_resolves``).
    resolver: Resolver | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        *,
        mode: str = "open",
        allowlist: Iterable[str] = (),
        blocklist: Iterable[str] = (),
        blocklist_file: Path | None = None,
        resolver: Resolver | None = None,
    ) -> DestinationPolicy:
        """Normalise operator input; raises ValueError naming a bad pattern."""
        blocked = list(blocklist)
        if blocklist_file is not None:
            blocked += _entries(blocklist_file.read_text("utf-8").splitlines())
        return cls(
            mode=PolicyMode(mode),
            allowlist=tuple(normalize_pattern(p) for p in allowlist),
            blocklist=tuple(normalize_pattern(p) for p in blocked),
            resolver=resolver,
        )

    def check(
        self,
        url: str,
        *,
        own_hosts: Iterable[str] = (),
        verified: Iterable[str] = (),
        field: str = "url",
    ) -> FieldError | None:
        """Why ``url`` (canonical, from ``canonicalize_destination``) may not be a destination.

        ``own_hosts``: hoplink's short-link domains (ports are ignored); ``verified``: the
        workspace's verified domains (each also covers its subdomains). None means allowed.
        """
        host, port = split_host_port(url)
        problem = self._refusal(host, port, own_hosts, verified)
        return None if problem is None else FieldError(field, *problem)

    async def check_resolves(
        self, urls: Iterable[str], *, field: str = "url"
    ) -> dict[str, FieldError]:
        """The create-time resolution check of ``urls`` (canonical, already allowed by
        ``check``): the refused ones, each with why. Nothing when the check is off; IP
        literals are judged by ``check`` alone. Each distinct host is looked up once."""
        if self.resolver is None:
            return {}
        hosts = {url: split_host_port(url) for url in urls}
        names = {(h, p or 443) for h, p in hosts.values() if host_address(h) is None}
        if not names:
            return {}
        gate = asyncio.Semaphore(RESOLVE_CONCURRENCY)

        async def judge(host: str, port: int) -> tuple[str, str] | None:
            async with gate:
                return await self._resolution_refusal(host, port)

        ordered = sorted(names)
        found = await asyncio.gather(*(judge(h, p) for h, p in ordered))
        refused = {name: problem for name, problem in zip(ordered, found, strict=True) if problem}
        out: dict[str, FieldError] = {}
        for url, (host, port) in hosts.items():
            problem = refused.get((host, port or 443))
            if problem is not None:
                out[url] = FieldError(field, *problem)
        return out

    async def _resolution_refusal(self, host: str, port: int) -> tuple[str, str] | None:
        assert self.resolver is not None
        shown = _unicode_host(host)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                addresses = await self.resolver(host, port)
        except (OSError, TimeoutError, UnicodeError, ValueError):
            addresses = []
        if not addresses:
            return "unresolvable_host", (
                f"blocked: {shown} does not resolve to any address; check the spelling (or"
                " try again later if its DNS is down)"
            )
        for address in addresses:
            reason = non_global_reason(address)
            if reason is not None:
                return "resolves_private", (
                    f"blocked: {shown} resolves to {address} ({reason}); links must lead to"
                    " a public web site"
                )
        return None

    def _refusal(
        self, host: str, port: int | None, own_hosts: Iterable[str], verified: Iterable[str]
    ) -> tuple[str, str] | None:
        address = host_address(host)
        if address is not None:
            reason = non_global_reason(address)
            if reason is not None:
                return "private_address", (
                    f"blocked: private address ({host}: {reason}); "
                    "links must lead to a public web site"
                )
        elif "." not in host:
            return "internal_host", (
                f"blocked: '{host}' is not a public domain name (it has no dot); "
                "use the shop's full domain, e.g. shop.example.com"
            )
        elif suffix := _in_domain(host, _INTERNAL_SUFFIXES):
            return "internal_host", (
                f"blocked: '{host}' is a local network name (.{suffix}), not a public web site"
            )
        if port is not None and port in _BAD_PORTS:
            return "blocked_port", f"blocked: port {port} is not a web port; browsers refuse it"
        if address is None:
            problem = self._domain_refusal(host, own_hosts)
            if problem is not None:
                return problem
        if self.mode is PolicyMode.ALLOWLIST:
            allowed = any(matches(host, p) for p in self.allowlist) or (
                address is None and _in_domain(host, verified) is not None
            )
            if not allowed:
                return "not_allowed", (
                    f"not allowed: {_unicode_host(host)} is not on the platform allowlist or your "
                    "verified domains; verify the domain first (/api/v1/workspace/domains), "
                    "or ask the operator to allow it"
                )
        return None

    def _domain_refusal(self, host: str, own_hosts: Iterable[str]) -> tuple[str, str] | None:
        own = [h.rsplit(":", 1)[0].lower() for h in own_hosts]
        if domain := _in_domain(host, own):
            return "own_domain", (
                f"blocked: {domain} is this service's own short-link domain; "
                "a short link to a short link makes chains and loops"
            )
        if domain := _in_domain(host, self.wildcard_dns):
            return "wildcard_dns", (
                f"blocked: {domain} names resolve to whatever address they spell (often a"
                " private or loopback one); link the site's own domain instead"
            )
        if domain := _in_domain(host, self.shorteners):
            return "url_shortener", (
                f"blocked: known URL shortener ({domain}); link the final page instead"
            )
        if domain := _in_domain(host, self.blocklist):
            return "blocked_domain", f"blocked: {domain} is on the platform's blocklist"
        unicode_host = _unicode_host(host)
        if unicode_host.isascii():
            return None
        labels = unicode_host.split(".")
        for label in labels:
            problem = confusable_label(label, tld=labels[-1])
            if problem is not None:
                return "confusable_host", f"blocked: the label '{label}' {problem}"
        skeleton = _skeleton(unicode_host)
        for domains in (own, self.shorteners, self.blocklist, self.wildcard_dns):
            if domain := _in_domain(skeleton, domains):
                return "confusable_host", (
                    f"blocked: '{unicode_host}' looks like {domain}, which is blocked"
                )
        return None


@functools.lru_cache(maxsize=8)
def _cached_policy(
    mode: str,
    allowlist: tuple[str, ...],
    blocklist: tuple[str, ...],
    blocklist_file: Path | None,
    resolve: bool,
    dns_servers: tuple[str, ...],
) -> DestinationPolicy:
    resolver = None
    if resolve:
        from hoplink.net.fetch import resolver_for

        resolver = resolver_for(dns_servers)
    return DestinationPolicy.build(
        mode=mode,
        allowlist=allowlist,
        blocklist=blocklist,
        blocklist_file=blocklist_file,
        resolver=resolver,
    )


def resolves_at_create(settings: Settings) -> bool:
    """Whether destinations are resolved when a link is created or edited: "on", "off",
    or "auto" (on in allowlist mode; off in open mode, where bulk speed matters more)."""
    if settings.destination_resolve == "auto":
        return settings.destination_policy == "allowlist"
    return settings.destination_resolve == "on"


def policy_from_settings(settings: Settings) -> DestinationPolicy:
    """The operator's policy, built once per distinct configuration (the file read once)."""
    return _cached_policy(
        settings.destination_policy,
        settings.destination_allowlist,
        settings.destination_blocklist,
        settings.destination_blocklist_file,
        resolves_at_create(settings),
        settings.outbound_dns_servers,
    )
