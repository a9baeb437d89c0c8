"""Another workspace's IDs must look exactly like IDs that do not exist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from api_client import Api
from hoplink.storage.tables import metadata


async def _snapshot(api: Api) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with api.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = await conn.execute(text(f"SELECT * FROM {table.name}"))
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    # last_used_at moves with every authenticated call; it is not tenant data.
    out.pop("api_keys", None)
    return out


async def test_foreign_ids_get_the_same_404_as_missing_ones(api: Api) -> None:
    _, owner = await api.tenant("Owner Store")
    _, intruder = await api.tenant("Intruder Store")
    link = (
        await api.http.post(
            "/api/v1/links", json={"url": "https://shop.example.com/"}, headers=owner
        )
    ).json()
    campaign = (
        await api.http.post("/api/v1/campaigns", json={"name": "Secret"}, headers=owner)
    ).json()
    before = await _snapshot(api)

    def calls(link_id: str, campaign_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
        return [
            ("GET", f"/api/v1/links/{link_id}", None),
            ("PATCH", f"/api/v1/links/{link_id}", {"title": "pwned"}),
            ("PATCH", f"/api/v1/links/{link_id}", {"url": "https://evil.example.net/"}),
            ("DELETE", f"/api/v1/links/{link_id}", None),
            ("GET", f"/api/v1/links/{link_id}/history", None),
            ("GET", f"/api/v1/campaigns/{campaign_id}", None),
            ("PATCH", f"/api/v1/campaigns/{campaign_id}", {"name": "pwned"}),
            ("DELETE", f"/api/v1/campaigns/{campaign_id}", None),
            (
                "POST",
                "/api/v1/links",
                {"url": "https://x.example.com/", "campaign_id": campaign_id},
            ),
            ("GET", f"/api/v1/links?campaign_id={campaign_id}", None),
        ]

    foreign = calls(link["id"], campaign["id"])
    missing = calls("lnk_0000000000000000", "cmp_0000000000000000")
    for (method, url, body), (_, missing_url, missing_body) in zip(foreign, missing, strict=True):
        a = await api.http.request(method, url, json=body, headers=intruder)
        b = await api.http.request(method, missing_url, json=missing_body, headers=intruder)
        assert a.status_code == b.status_code, (method, url, a.text)
        assert a.status_code in (404, 422, 200), (method, url, a.text)
        assert a.json() == b.json(), (method, url)
        assert dict(a.headers) == dict(b.headers) or a.headers.get(
            "content-length"
        ) == b.headers.get("content-length")
    listed = (await api.http.get("/api/v1/links", headers=intruder)).json()
    assert listed["total"] == 0
    assert (await api.http.get("/api/v1/campaigns", headers=intruder)).json() == []
    assert (await api.http.get("/api/v1/tags", headers=intruder)).json() == []
    after = await _snapshot(api)
    assert after == before
