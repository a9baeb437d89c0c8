"""What the edge puts in a click: trusted country/IP headers only, and never the IP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge_client import PEER, running_edge
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from clickids import without_click_id
from hoplink.storage.database import Database

PRODUCT = "https://shop.example.com/item/1"


async def test_untrusted_peer_cannot_choose_its_ip_or_country(db_url: str, tmp_path: Path) -> None:
    async with running_edge(db_url, tmp_path / "data", trusted_proxies=("10.0.0.0/8",)) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        for fake in ("8.8.8.8", "9.9.9.9"):
            r = await edge.http.get(
                f"/{link.code}",
                headers={"x-forwarded-for": fake, "cf-connecting-ip": fake, "cf-ipcountry": "NZ"},
            )
            assert r.status_code == 302
        first, second = await edge.clicks()
    assert first.country == second.country == "JP"  # from the real peer, not the headers
    assert first.visitor_hash == second.visitor_hash


async def test_trusted_proxy_supplies_client_ip_and_country(db_url: str, tmp_path: Path) -> None:
    trusted = (f"{PEER}/32",)
    async with running_edge(db_url, tmp_path / "data", trusted_proxies=trusted) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        await edge.http.get(f"/{link.code}", headers={"x-forwarded-for": "8.8.8.8"})
        await edge.http.get(f"/{link.code}", headers={"x-forwarded-for": "9.9.9.9"})
        await edge.http.get(
            f"/{link.code}", headers={"x-forwarded-for": "8.8.8.8", "cf-ipcountry": "nz"}
        )
        await edge.http.get(
            f"/{link.code}", headers={"x-forwarded-for": "1.0.16.1", "cf-ipcountry": "XX"}
        )
        a, b, c, d = await edge.clicks()
    assert a.country == "US" and b.country == "US" and c.country == "NZ" and d.country == "JP"
    assert a.visitor_hash != b.visitor_hash
    assert a.visitor_hash == c.visitor_hash  # same IP and user agent, same day


async def test_configured_mmdb_is_used_for_the_country(db_url: str, tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["1.0.16.0/24"]), {"country": {"iso_code": "KR"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))
    async with running_edge(db_url, tmp_path / "data", geoip_database=path) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        await edge.http.get(f"/{link.code}")
        [click] = await edge.clicks()
    assert click.country == "KR"


async def test_the_click_record_holds_no_ip_address(db_url: str, tmp_path: Path) -> None:
    async with running_edge(db_url, tmp_path / "data", trusted_proxies=(f"{PEER}/32",)) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        await edge.http.get(f"/{link.code}", headers={"x-forwarded-for": "2001:db8::beef"})
        [click] = await edge.clicks()
    record = click.to_json().decode()
    assert PEER not in record and "2001:db8::beef" not in record


async def test_wait_for_disk_answers_after_the_group_commit(db_url: str, tmp_path: Path) -> None:
    settings = {"journal_wait_for_disk": True, "journal_fsync_interval": 10}
    async with running_edge(db_url, tmp_path / "data", **settings) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        pending = asyncio.create_task(edge.http.get(f"/{link.code}"))
        await asyncio.sleep(0.3)
        assert not pending.done()  # written, but not yet on disk: no answer yet
        await edge.journal.sync()  # the group commit (normally on the timer)
        r = await pending
        assert r.status_code == 302
        assert len(await edge.clicks()) == 1


async def test_database_outage_serves_recent_links_and_503_for_the_rest(
    db_url: str, tmp_path: Path
) -> None:
    async with running_edge(db_url, tmp_path / "data", redirect_cache_ttl=0.1) as edge:
        link = await edge.link(await edge.workspace(), PRODUCT)
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
        await asyncio.sleep(0.15)  # the cached entry has expired
        broken = Database.from_url("postgresql+asyncpg://127.0.0.1:9/nothing")  # refuses
        healthy, edge.app.redirect.resolver.db = edge.app.redirect.resolver.db, broken
        try:
            r = await edge.http.get(f"/{link.code}")
            assert (
                r.status_code == 302 and without_click_id(r.headers["location"]) == link.final_url
            )
            r = await edge.http.get("/NeverSeen1")
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert edge.app.redirect.lookups_failed == 1
        finally:
            edge.app.redirect.resolver.db = healthy
            await broken.dispose()
        assert len(await edge.clicks()) == 2
