"""Shlink's own JavaScript SDK (@shlinkio/shlink-js-sdk 3.x, installed from npm by the
test run) drives a real hoplink server: create, list, get, edit, follow, visits, tags,
domains, delete, and errors parsed as Shlink's problem details."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import npm_packages

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "browser"))
from browser_server import HOST, SLUG, Server, run_async, running_server

SDK = "@shlinkio/shlink-js-sdk@3.2.1"
HERE = Path(__file__).resolve().parent


async def _api_key(server: Server) -> str:
    from hoplink.accounts.apikeys import create_api_key
    from hoplink.accounts.models import Scope
    from hoplink.storage.database import Database

    db = Database.from_url(f"sqlite+aiosqlite:///{server.data_dir / 'hoplink.db'}")
    try:
        async with db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            assert ws is not None
            _, raw = await create_api_key(
                tx,
                workspace=ws,
                name="shlink-sdk",
                scopes=frozenset(Scope),
                created_by=None,
                operator=True,
            )
        return raw
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    root = tmp_path_factory.mktemp("shlink-sdk")
    with running_server(root / "data", root / "server.log") as server:
        yield server, run_async(lambda: _api_key(server))


def _drive(server: Server, key: str) -> dict[str, Any]:
    modules = npm_packages.install([SDK])
    # The script lives in the repository; Node resolves its imports from NODE_PATH only for
    # CommonJS, so it runs from a copy beside the installed node_modules.
    script = modules / "sdk_client.mjs"
    script.write_text((HERE / "sdk_client.mjs").read_text())
    result = subprocess.run(  # noqa: S603 - node from PATH, our script
        ["node", str(script), server.url, key, HOST],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_shlink_js_sdk_manages_hoplink(server: tuple[Server, str]) -> None:
    out = _drive(*server)
    assert out["health"]["status"] == "pass" and out["health"]["version"] >= "5"

    created = out["created"]
    assert created["shortCode"] == "sdk-slug" and created["shortUrl"] == f"http://{HOST}/sdk-slug"
    assert created["longUrl"] == "https://shop.example.com/item/1?sku=9"
    assert sorted(created["tags"]) == ["sdk", "summer"] and created["title"] == "From the SDK"
    assert len(out["second"]["shortCode"]) >= 7
    dup = out["duplicate"]
    assert dup["type"] == "https://shlink.io/api/error/non-unique-slug" and dup["status"] == 400

    page = out["list"]
    assert [s["shortCode"] for s in page["data"]] == ["sdk-slug"]
    assert page["pagination"]["totalItems"] == 2 and page["pagination"]["pagesCount"] == 2
    assert [s["shortCode"] for s in out["tagged"]["data"]] == ["sdk-slug"]
    assert out["got"]["title"] == "From the SDK"
    edited = out["edited"]
    assert edited["longUrl"] == "https://shop.example.com/item/1?sku=10"
    assert edited["title"] == "Edited" and sorted(edited["tags"]) == ["autumn", "sdk"]
    missing = out["missing"]
    assert missing["type"] == "https://shlink.io/api/error/short-url-not-found"
    assert missing["status"] == 404 and missing["shortCode"] == "NoSuchCode"

    assert out["follow"]["status"] == 302
    assert without_click_id(out["follow"]["location"]) == "https://shop.example.com/item/1?sku=10"
    visits = out["visits"]
    assert visits["pagination"]["totalItems"] == 2, visits
    assert {v["potentialBot"] for v in visits["data"]} == {True, False}
    assert all(v["visitedUrl"] == f"http://{HOST}/sdk-slug" for v in visits["data"])
    assert all(v["referer"] == "m.facebook.com" for v in visits["data"])
    assert out["humanVisits"]["pagination"]["totalItems"] == 1
    assert out["tagVisits"]["pagination"]["totalItems"] == 2
    assert out["domainVisits"]["pagination"]["totalItems"] == 2
    assert out["orphanVisits"]["data"] == []
    assert out["overview"]["nonOrphanVisits"] == {"total": 2, "nonBots": 1, "bots": 1}
    assert out["afterVisits"]["visitsSummary"] == {"total": 2, "nonBots": 1, "bots": 1}

    # As in Shlink, a tag outlives its last link until it is deleted.
    assert out["tags"]["data"] == ["autumn", "sdk", "summer"]
    stats = {s["tag"]: s for s in out["tagsStats"]["data"]}
    assert stats["summer"]["shortUrlsCount"] == 0
    assert stats["sdk"]["shortUrlsCount"] == 1 and stats["sdk"]["visitsSummary"]["total"] == 2
    assert out["renamed"] == {"oldName": "autumn", "newName": "fall"}
    assert out["tagsAfter"]["data"] == ["fall", "summer"]
    assert out["domains"]["data"][0] == {
        "domain": HOST,
        "isDefault": True,
        "redirects": {
            "baseUrlRedirect": None,
            "regular404Redirect": None,
            "invalidShortUrlRedirect": None,
        },
    }
    after = out["listAfterDelete"]
    assert [s["shortCode"] for s in after["data"]] == ["sdk-slug"]
    assert after["data"][0]["tags"] == ["fall"]


def without_click_id(location: str) -> str:
    """The Location without the click id hoplink appends to every redirect."""
    return re.sub(r"[?&]hl_click=[0-9a-f]+$", "", location)
