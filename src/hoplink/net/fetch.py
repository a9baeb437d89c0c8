"""The safe outbound fetcher: the one way hoplink fetches a URL someone else chose.

Every hop is checked before any byte is sent: the URL must be canonical http(s) (the same
rules as a link destination), port 80 or 443, and *every* address its host resolves to
must be public. The connection then goes to the address we checked — resolved once, by us,
and pinned in the network backend — so a DNS answer that changes between check and connect
(DNS rebinding) cannot redirect it. The Host header, TLS SNI and certificate check still
use the host name. At most ``max_redirects`` hops, each re-checked; a connect timeout, a
total timeout over DNS, every hop and the body, and a body size cap. Proxy variables of the
environment are never read (httpcore does not look at them).

    FetchError            the fetch did not produce a response we accept
    ├── FetchRefused      refused by policy before connecting (address, port, URL)
    └── FetchFailed       network trouble, TLS, timeout, oversized body, redirect loop
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpcore

from hoplink import __version__
from hoplink.errors import InvalidInput
from hoplink.links.urls import canonicalize_destination
from hoplink.net.addresses import IPAddress, host_address, in_any, non_global_reason

if TYPE_CHECKING:
    from hoplink.config import Settings

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
_WEB_PORTS = (80, 443)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"hoplink/{__version__} (+domain verification)"


class FetchError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FetchRefused(FetchError):
    """The URL, its port or one of its addresses is not allowed; nothing was connected."""


class FetchFailed(FetchError):
    """The fetch was allowed but did not complete (timeout, network, size, redirects)."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float = 3.0
    total_timeout: float = 10.0
    max_bytes: int = 256 * 1024
    max_redirects: int = 3
    # Hosts (exact names) and networks reachable although private, on any port: tests only.
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        allow_private: Iterable[str] = (),
        connect_timeout: float = 3.0,
        total_timeout: float = 10.0,
        max_bytes: int = 256 * 1024,
    ) -> FetchLimits:
        """Limits with ``allow_private`` entries split into CIDRs and exact host names."""
        hosts: set[str] = set()
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow_private:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.strip().lower())
        return cls(
            connect_timeout=connect_timeout,
            total_timeout=total_timeout,
            max_bytes=max_bytes,
            allow_hosts=frozenset(hosts),
            allow_networks=tuple(networks),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls.build(
            allow_private=settings.outbound_allow_private,
            connect_timeout=settings.outbound_connect_timeout,
            total_timeout=settings.outbound_total_timeout,
            max_bytes=settings.outbound_max_bytes,
        )


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # the URL that answered (after redirects)
    status: int
    body: bytes
    address: str  # the IP address that was connected to for that URL
    hops: list[str] = field(default_factory=list)  # every URL requested, in order
    headers: tuple[tuple[str, str], ...] = ()  # of the last answer, names in lower case
    truncated: bool = False  # the body was cut at max_bytes (``fetch(truncate=True)``)


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (A and AAAA), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0])
        if len(sockaddr) == 4 and sockaddr[3]:  # IPv6 with a scope id: keep it, it is refused
            text = f"{text.split('%', 1)[0]}%{sockaddr[3]}"
        address = ipaddress.ip_address(text)
        if address not in found:
            found.append(address)
    return found


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the address we checked, whatever host the URL names (no second lookup)."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("unix_socket", "unix sockets are never used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def resolver_for(servers: tuple[str, ...]) -> Resolver:
    """The outbound resolver: the operator's DNS servers (HOPLINK_OUTBOUND_DNS_SERVERS),
    else the system's. The fetcher and the destination policy's create-time check share it."""
    from hoplink.net.dns import address_lookup

    return address_lookup(servers) if servers else system_resolve


class SafeFetcher:
    def __init__(
        self,
        limits: FetchLimits,
        *,
        resolver: Resolver = system_resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.limits = limits
        self.resolver = resolver
        self.ssl_context = ssl_context or ssl.create_default_context()

    @classmethod
    def from_settings(cls, settings: Settings) -> SafeFetcher:
        return cls(
            FetchLimits.from_settings(settings),
            resolver=resolver_for(settings.outbound_dns_servers),
        )

    async def get(self, url: str, *, headers: Sequence[tuple[str, str]] = ()) -> FetchResult:
        """GET ``url`` following at most ``max_redirects`` redirects, each hop re-checked.
        ``headers`` (e.g. an API key) go to ``url``'s host only, never to a redirect's."""
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._follow(url, headers)
        except TimeoutError:
            raise FetchFailed(
                "timeout", f"no complete answer within {self.limits.total_timeout:g} seconds"
            ) from None

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Sequence[tuple[str, str]] = (),
        truncate: bool = False,
        user_agent: str | None = None,
    ) -> FetchResult:
        """Like ``get`` with a method (GET or HEAD), the answer's headers, and, with
        ``truncate``, a body cut at ``max_bytes`` instead of refused (a page is judged by
        its beginning). ``user_agent`` replaces hoplink's default one."""
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._follow(
                    url, headers, method=method, truncate=truncate, user_agent=user_agent
                )
        except TimeoutError:
            raise FetchFailed(
                "timeout", f"no complete answer within {self.limits.total_timeout:g} seconds"
            ) from None

    async def post(
        self, url: str, *, body: bytes, headers: dict[str, str] | None = None
    ) -> FetchResult:
        """POST ``body`` to ``url`` (checked like every hop); redirects are not followed
        (a 3xx is the answer), nor is the body of a too large answer read past the cap."""
        try:
            async with asyncio.timeout(self.limits.total_timeout):
                target, address = await self.check(url)
                extra = [*(headers or {}).items(), ("Content-Length", str(len(body)))]
                answer = await self._request(target, address, method="POST", body=body, extra=extra)
                return FetchResult(target, answer.status, answer.body, str(address), [target])
        except TimeoutError:
            raise FetchFailed(
                "timeout", f"no complete answer within {self.limits.total_timeout:g} seconds"
            ) from None

    async def _follow(
        self,
        url: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        method: str = "GET",
        truncate: bool = False,
        user_agent: str | None = None,
    ) -> FetchResult:
        hops: list[str] = []
        origin = urlsplit(url).netloc
        while True:
            target, address = await self.check(url)
            hops.append(target)
            extra = headers if urlsplit(target).netloc == origin else ()
            answer = await self._request(
                target, address, method=method, extra=extra, truncate=truncate,
                user_agent=user_agent,
            )  # fmt: skip
            status, location = answer.status, _header(answer.headers, b"location")
            if status not in _REDIRECTS or location is None:
                return FetchResult(
                    target,
                    status,
                    answer.body,
                    str(address),
                    hops,
                    headers=tuple(
                        (k.decode("latin-1").lower(), v.decode("latin-1"))
                        for k, v in answer.headers
                    ),
                    truncated=answer.truncated,
                )
            if len(hops) > self.limits.max_redirects:
                raise FetchFailed(
                    "too_many_redirects", f"more than {self.limits.max_redirects} redirects"
                )
            url = urljoin(target, location)

    async def check(self, url: str) -> tuple[str, IPAddress]:
        """The canonical URL and the one address to connect to; FetchRefused if not allowed."""
        try:
            target = canonicalize_destination(url)
        except InvalidInput as exc:
            raise FetchRefused("invalid_url", exc.errors[0].message) from None
        parts = urlsplit(target)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        literal = host_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self.resolver(host, port)
            except (OSError, UnicodeError) as exc:
                raise FetchFailed("dns", f"{host} does not resolve ({exc})") from None
            if not addresses:
                raise FetchFailed("dns", f"{host} has no address")
        exempt = host in self.limits.allow_hosts
        for address in addresses:
            reason = non_global_reason(address)
            if (
                reason is not None
                and not exempt
                and not in_any(address, self.limits.allow_networks)
            ):
                where = f"{host} is" if literal is not None else f"{host} resolves to {address},"
                raise FetchRefused("private_address", f"{where} a {reason}")
        if port not in _WEB_PORTS and not (
            exempt or all(in_any(a, self.limits.allow_networks) for a in addresses)
        ):
            raise FetchRefused("port", f"port {port} is not allowed; only 80 and 443")
        return target, addresses[0]

    async def _request(
        self,
        url: str,
        address: IPAddress,
        *,
        method: str = "GET",
        body: bytes | None = None,
        extra: Sequence[tuple[str, str]] = (),
        truncate: bool = False,
        user_agent: str | None = None,
    ) -> _Answer:
        parts = urlsplit(url)
        timeout = self.limits.connect_timeout
        headers = [
            (b"Host", parts.netloc.encode("ascii")),
            (b"User-Agent", (user_agent or USER_AGENT).encode("ascii")),
            (b"Accept", b"*/*"),
            (b"Accept-Encoding", b"identity"),
            (b"Connection", b"close"),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra),
        ]
        extensions = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }
        async with httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context,
            max_connections=1,
            retries=0,
            network_backend=_PinnedBackend(str(address)),
        ) as pool:
            try:
                async with pool.stream(
                    method, url, headers=headers, content=body, extensions=extensions
                ) as response:
                    answer, truncated = await self._read(response, truncate=truncate)
                    return _Answer(response.status, response.headers, answer, truncated)
            except httpcore.TimeoutException:
                raise FetchFailed("timeout", f"{parts.netloc} did not answer in time") from None
            except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
                # A failed handshake (certificate, protocol) is its own code: a broken TLS
                # set-up is not the same trouble as a host that is down.
                code = "tls" if _caused_by_tls(exc) else "network"
                raise FetchFailed(code, f"{parts.netloc}: {exc or type(exc).__name__}") from None

    async def _read(self, response: httpcore.Response, *, truncate: bool) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        stream = response.aiter_stream()
        async for chunk in stream:
            size += len(chunk)
            if size > self.limits.max_bytes:
                if truncate:
                    chunks.append(chunk[: len(chunk) - (size - self.limits.max_bytes)])
                    return b"".join(chunks), True
                raise FetchFailed(
                    "too_large", f"the answer is larger than {self.limits.max_bytes} bytes"
                )
            chunks.append(chunk)
        return b"".join(chunks), False


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool


def _caused_by_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
