"""The create-time resolution check of destinations (issue 15): a name that resolves to a
private or reserved address, or to none, is refused when a link is created or edited (and
for rule and A/B variant URLs), with the field named. Names are answered by a local DNS
server (the resolver seam: HOPLINK_OUTBOUND_DNS_SERVERS), never the internet."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from api_client import Api, assert_problem, running_api
from hoplink.net.addresses import IPAddress
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage import tables as t
from security.dns_server import DnsServer, dns_server

RECORDS = {
    ("good.acme.test.", "A"): ["93.184.216.34"],
    ("other.acme.test.", "A"): ["93.184.216.35"],
    ("loop.acme.test.", "A"): ["127.0.0.1"],
    ("intra.acme.test.", "A"): ["10.1.2.3"],
    ("dual.acme.test.", "A"): ["93.184.216.34"],
    ("dual.acme.test.", "AAAA"): ["::1"],
    ("meta.acme.test.", "A"): ["169.254.169.254"],
}


@pytest_asyncio.fixture
async def dns() -> AsyncIterator[DnsServer]:
    async with dns_server() as server:
        server.records.update({k: list(v) for k, v in RECORDS.items()})
        yield server


def _api(db_url: str, tmp_path: Path, dns: DnsServer, **settings: Any) -> Any:
    return running_api(db_url, tmp_path / "data", outbound_dns_servers=dns.address, **settings)


async def _links(api: Api) -> int:
    async with api.db.transaction(write=False) as tx:
        return int((await tx.conn.execute(select(func.count()).select_from(t.links))).scalar_one())


REFUSED = [
    ("https://loop.acme.test/p", "resolves_private"),
    ("https://intra.acme.test/p", "resolves_private"),
    ("https://dual.acme.test/p", "resolves_private"),  # one private address is enough
    ("https://meta.acme.test/p", "resolves_private"),
    ("https://nowhere.acme.test/p", "unresolvable_host"),
]


async def test_allowlist_mode_resolves_at_create_and_edit_by_default(
    db_url: str, tmp_path: Path, dns: DnsServer
) -> None:
    async with _api(
        db_url, tmp_path, dns, destination_policy="allowlist", destination_allowlist="*.acme.test"
    ) as api:
        _, auth = await api.tenant()
        made = await api.http.post(
            "/api/v1/links", json={"url": "https://good.acme.test/item"}, headers=auth
        )
        assert made.status_code == 201, made.text
        link = made.json()
        for url, code in REFUSED:
            r = await api.http.post("/api/v1/links", json={"url": url}, headers=auth)
            body = assert_problem(r, 422, "invalid_input", "url")
            assert body["errors"][0]["code"] == code, body
            assert url.split("/")[2] in body["errors"][0]["message"]
        assert await _links(api) == 1
        # The fallback URL is a destination too.
        r = await api.http.post(
            "/api/v1/links",
            json={
                "url": "https://good.acme.test/x",
                "max_clicks": 5,
                "expiry_url": "https://loop.acme.test/",
            },
            headers=auth,
        )
        assert_problem(r, 422, "invalid_input", "expiry_url")
        # Edits: a new destination is looked up; the refused edit changes nothing.
        patch = f"/api/v1/links/{link['id']}"
        r = await api.http.patch(patch, json={"url": "https://intra.acme.test/"}, headers=auth)
        assert_problem(r, 422, "invalid_input", "url")
        r = await api.http.patch(patch, json={"url": "https://other.acme.test/"}, headers=auth)
        assert r.status_code == 200 and r.json()["url"] == "https://other.acme.test/"
        # Bulk: each item answers for itself.
        items = [{"url": "https://good.acme.test/b1"}, {"url": "https://nowhere.acme.test/b2"}]
        r = await api.http.post("/api/v1/links/bulk", json={"items": items}, headers=auth)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert results[0]["ok"] and not results[1]["ok"]
        assert results[1]["errors"][0]["field"] == "url"
        assert results[1]["errors"][0]["code"] == "unresolvable_host"
        # A/B variant and routing rule URLs.
        r = await api.http.put(
            f"{patch}/ab",
            json={"variants": [{"weight": 1}, {"url": "https://loop.acme.test/", "weight": 1}]},
            headers=auth,
        )
        assert_problem(r, 422, "invalid_input", "variants.1.url")
        rule = {
            "conditions": [{"type": "os", "values": ["android"]}],
            "action": {"type": "url", "url": "https://intra.acme.test/app"},
        }
        r = await api.http.post(f"{patch}/rules", json=rule, headers=auth)
        body = assert_problem(r, 422, "invalid_input")
        assert body["errors"][0]["field"].endswith("action.url"), body
        assert body["errors"][0]["code"] == "resolves_private"
        # The private addresses were never stored anywhere.
        async with api.db.transaction(write=False) as tx:
            urls = (await tx.conn.execute(select(t.links.c.destination_url))).scalars().all()
        assert not any("loop." in u or "intra." in u for u in urls)


async def test_open_mode_does_not_resolve_unless_turned_on(
    db_url: str, tmp_path: Path, dns: DnsServer
) -> None:
    async with _api(db_url, tmp_path, dns) as api:
        _, auth = await api.tenant()
        r = await api.http.post(
            "/api/v1/links", json={"url": "https://loop.acme.test/p"}, headers=auth
        )
        assert r.status_code == 201, r.text
        assert dns.queries == []  # no lookup at all: bulk creation keeps its speed
    async with _api(db_url, tmp_path / "on", dns, destination_resolve="on") as api:
        _, auth = await api.tenant("Other Store")
        r = await api.http.post(
            "/api/v1/links", json={"url": "https://loop.acme.test/p"}, headers=auth
        )
        assert_problem(r, 422, "invalid_input", "url")
        ok = await api.http.post(
            "/api/v1/links", json={"url": "https://good.acme.test/p"}, headers=auth
        )
        assert ok.status_code == 201, ok.text
    async with _api(
        db_url,
        tmp_path / "off",
        dns,
        destination_policy="allowlist",
        destination_allowlist="*.acme.test",
        destination_resolve="off",
    ) as api:
        _, auth = await api.tenant("Third Store")
        before = len(dns.queries)
        r = await api.http.post(
            "/api/v1/links", json={"url": "https://nowhere.acme.test/p"}, headers=auth
        )
        assert r.status_code == 201 and len(dns.queries) == before


# --- the policy's seam, with an in-process resolver ------------------------------------


class FakeResolver:
    def __init__(self, answers: dict[str, list[str] | Exception | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        found = self.answers.get(host)
        if found is None:
            await asyncio.sleep(60)  # a server that never answers
            return []
        if isinstance(found, Exception):
            raise found
        return [ipaddress.ip_address(a) for a in found]


async def test_each_host_is_asked_once_and_failures_are_unresolvable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hoplink.safety.policy.RESOLVE_TIMEOUT", 0.2)
    fake = FakeResolver(
        {
            "shop.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
            "cgnat.example.com": ["100.64.0.9"],
            "broken.example.com": OSError("SERVFAIL"),
            "empty.example.com": [],
        }
    )
    policy = DestinationPolicy(resolver=fake)
    urls = [
        "https://shop.example.com/a",
        "https://shop.example.com/b",
        "https://cgnat.example.com/",
        "https://broken.example.com/",
        "https://empty.example.com/",
        "https://slow.example.com/",
        "https://93.184.216.34/literal",
    ]
    refused = await policy.check_resolves(urls, field="url")
    assert sorted(fake.asked) == sorted(
        [
            "shop.example.com",
            "cgnat.example.com",
            "broken.example.com",
            "empty.example.com",
            "slow.example.com",
        ]
    )
    assert {u: e.code for u, e in refused.items()} == {
        "https://cgnat.example.com/": "resolves_private",
        "https://broken.example.com/": "unresolvable_host",
        "https://empty.example.com/": "unresolvable_host",
        "https://slow.example.com/": "unresolvable_host",
    }
    assert all(e.field == "url" for e in refused.values())
    assert await DestinationPolicy().check_resolves(urls) == {}  # the check is off
