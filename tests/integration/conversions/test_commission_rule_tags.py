"""A tag's commission rule follows the tag: renamed with it (hoplink API and Shlink's
PUT /rest/v3/tags), removed with it, and refused for a tag the workspace does not have.
Real app, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from conv_support import Shop, shop
from sqlalchemy import select

from api_client import Api, assert_problem, running_api
from hoplink.storage import tables as t

RULES = "/api/v1/conversions/commission-rules"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def _tagged(api: Api) -> Shop:
    return await shop(
        api,
        links=[
            {"url": "https://shop.example.com/a", "tags": ["tt", "q4"]},
            {"url": "https://shop.example.com/b", "tags": ["bags"]},
        ],
    )


async def _rules(api: Api, s: Shop) -> dict[str, float]:
    r = await api.http.get(RULES, headers=s.headers)
    assert r.status_code == 200, r.text
    return {rule["ref"]: rule["percent"] for rule in r.json() if rule["kind"] == "tag"}


async def _put(api: Api, s: Shop, ref: str, percent: float) -> Any:
    return await api.http.put(
        RULES, headers=s.headers, json={"kind": "tag", "ref": ref, "percent": percent}
    )


def _shlink(s: Shop) -> dict[str, str]:
    return {"X-Api-Key": s.headers["Authorization"].removeprefix("Bearer ")}


async def test_rule_for_unknown_tag_is_refused_naming_ref(api: Api) -> None:
    s = await _tagged(api)
    r = await _put(api, s, "nosuchtag", 5)
    assert_problem(r, 422, "invalid_input", "ref")
    assert r.json()["errors"][0]["code"] == "unknown_tag"
    assert await _rules(api, s) == {}
    assert (await _put(api, s, " tt ", 5)).status_code == 200
    assert await _rules(api, s) == {"tt": 5}


async def test_renaming_through_the_api_carries_the_rule(api: Api) -> None:
    s = await _tagged(api)
    assert (await _put(api, s, "tt", 5)).status_code == 200
    r = await api.http.patch("/api/v1/tags/tt", headers=s.headers, json={"name": "tiktok"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "tiktok", "links": 1}
    assert await _rules(api, s) == {"tiktok": 5}
    link = (await api.http.get(f"/api/v1/links/{s.links[0]['id']}", headers=s.headers)).json()
    assert sorted(link["tags"]) == ["q4", "tiktok"]


async def test_renaming_through_shlink_carries_the_rule(api: Api) -> None:
    s = await _tagged(api)
    assert (await _put(api, s, "tt", 7)).status_code == 200
    r = await api.http.put(
        "/rest/v3/tags", headers=_shlink(s), json={"oldName": "tt", "newName": "tiktok"}
    )
    assert r.status_code == 204, r.text
    assert await _rules(api, s) == {"tiktok": 7}


async def test_renaming_onto_another_tag_is_refused_and_changes_nothing(api: Api) -> None:
    s = await _tagged(api)
    assert (await _put(api, s, "tt", 5)).status_code == 200
    assert (await _put(api, s, "bags", 12)).status_code == 200
    r = await api.http.patch("/api/v1/tags/tt", headers=s.headers, json={"name": "bags"})
    assert_problem(r, 409, "tag_conflict")
    shl = await api.http.put(
        "/rest/v3/tags", headers=_shlink(s), json={"oldName": "tt", "newName": "bags"}
    )
    assert shl.status_code == 409 and shl.json()["type"].endswith("tag-conflict")
    assert await _rules(api, s) == {"tt": 5, "bags": 12}


async def test_renaming_onto_a_name_with_a_leftover_rule_is_refused(api: Api) -> None:
    """A rule stored before unknown tags were refused (or by hand) keeps its name free."""
    s = await _tagged(api)
    assert (await _put(api, s, "tt", 5)).status_code == 200
    async with api.db.transaction() as tx:
        await tx.conn.execute(
            t.commission_rules.insert().values(
                id="com_leftover",
                workspace_id=s.ws_id,
                kind="tag",
                ref="tiktok",
                rate_bp=1200,
                created_at=datetime.now(UTC),
            )
        )
    r = await api.http.patch("/api/v1/tags/tt", headers=s.headers, json={"name": "tiktok"})
    assert_problem(r, 409, "tag_rule_conflict")
    assert "tiktok" in r.json()["detail"]
    shl = await api.http.put(
        "/rest/v3/tags", headers=_shlink(s), json={"oldName": "tt", "newName": "tiktok"}
    )
    assert shl.status_code == 409 and "commission rule" in shl.json()["detail"]
    assert await _rules(api, s) == {"tt": 5, "tiktok": 12}
    link = (await api.http.get(f"/api/v1/links/{s.links[0]['id']}", headers=s.headers)).json()
    assert "tt" in link["tags"]


async def test_deleting_a_tag_removes_its_rule(api: Api) -> None:
    s = await _tagged(api)
    for ref in ("tt", "bags", "q4"):
        assert (await _put(api, s, ref, 6)).status_code == 200
    r = await api.http.delete("/api/v1/tags/tt", headers=s.headers)
    assert r.status_code == 204
    assert await _rules(api, s) == {"bags": 6, "q4": 6}
    assert_problem(await api.http.delete("/api/v1/tags/tt", headers=s.headers), 404, "not_found")
    shl = await api.http.delete("/rest/v3/tags?tags[]=bags", headers=_shlink(s))
    assert shl.status_code == 204
    assert await _rules(api, s) == {"q4": 6}
    async with api.db.transaction(write=False) as tx:
        refs = (await tx.conn.execute(select(t.commission_rules.c.ref))).scalars().all()
    assert refs == ["q4"]


async def test_another_workspace_keeps_its_rule_of_the_same_name(api: Api) -> None:
    mine = await _tagged(api)
    theirs = await shop(api, "Other", links=[{"url": "https://shop.example.com/c", "tags": ["tt"]}])
    assert (await _put(api, mine, "tt", 5)).status_code == 200
    assert (await _put(api, theirs, "tt", 9)).status_code == 200
    r = await api.http.patch("/api/v1/tags/tt", headers=mine.headers, json={"name": "tiktok"})
    assert r.status_code == 200
    assert (await api.http.delete("/api/v1/tags/tiktok", headers=mine.headers)).status_code == 204
    assert await _rules(api, theirs) == {"tt": 9}
