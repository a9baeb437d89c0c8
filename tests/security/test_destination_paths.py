"""Every way a destination gets set applies the same policy, with the rule in the message.

Allowlist mode (``*.shopee.sg`` and ``shopee.sg``) plus an operator blocklist, through the
API (create, bulk, edit), the dashboard (form, live preview, edit, CSV bulk upload); the
CLI is covered in test_domain_verification.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

import factories
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "dashboard"))
from dashboard_harness import Dash, running_dashboard

SHORTENER = "blocked: known URL shortener (bit.ly); link the final page instead"
NOT_ALLOWED = (
    "not allowed: shop.example.com is not on the platform allowlist or your verified domains"
)
PRIVATE = "blocked: private address (169.254.169.254: link-local address)"


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(
        db_url,
        tmp_path / "data",
        destination_policy="allowlist",
        destination_allowlist="*.shopee.sg,shopee.sg",
        # The names here have no DNS (no internet in tests); the create-time resolution
        # check has its own tests (test_destination_resolution.py).
        destination_resolve="off",
        destination_blocklist="evil.example",
        rate_limit_create_ip="off",
    ) as running:
        yield running


async def _api(dash: Dash) -> tuple[httpx.AsyncClient, Any]:
    ws = await dash.workspace("Api Store")
    async with dash.db.transaction() as tx:
        key = await factories.api_key(tx, ws)
    http = httpx.AsyncClient(
        transport=dash.transport,
        base_url="http://hop.test/api/v1",
        headers={"Authorization": f"Bearer {key}"},
    )
    dash.clients.append(http)
    return http, ws


def _first_error(response: httpx.Response) -> tuple[str, str, str]:
    error = response.json()["errors"][0]
    return error["field"], error["code"], error["message"]


async def test_api_create_bulk_and_edit_name_the_rule(dash: Dash) -> None:
    http, _ = await _api(dash)
    cases = {
        "https://bit.ly/3xYz": ("url_shortener", SHORTENER),
        "https://shop.example.com/item/1": ("not_allowed", NOT_ALLOWED),
        "http://169.254.169.254/latest/": ("private_address", PRIVATE),
        "https://evil.example/": ("blocked_domain", "blocked: evil.example is on the platform"),
        "https://hop.test/abc": ("own_domain", "blocked: hop.test is this service's own"),
        "https://printer.local/": ("internal_host", "is a local network name (.local)"),
    }
    for url, (code, message) in cases.items():
        r = await http.post("/links", json={"url": url})
        assert r.status_code == 422
        field, got_code, got_message = _first_error(r)
        assert (field, got_code) == ("url", code) and message in got_message, got_message

    ok = await http.post("/links", json={"url": "https://shopee.sg/Earbuds-i.1.2"})
    assert ok.status_code == 201, ok.text
    bulk = await http.post(
        "/links/bulk",
        json={"items": [{"url": "https://mall.shopee.sg/x"}, {"url": "https://bit.ly/a"}]},
    )
    results = bulk.json()["results"]
    assert results[0]["ok"] is True
    assert results[1]["errors"][0]["code"] == "url_shortener"
    assert results[1]["errors"][0]["field"] == "url"

    link_id = ok.json()["id"]
    edit = await http.patch(f"/links/{link_id}", json={"url": "https://bit.ly/swap"})
    assert edit.status_code == 422 and _first_error(edit)[1:] == ("url_shortener", SHORTENER)
    assert (await http.get(f"/links/{link_id}")).json()["url"] == "https://shopee.sg/Earbuds-i.1.2"


async def test_an_existing_link_the_policy_now_refuses_can_still_be_edited(dash: Dash) -> None:
    """Tightening the policy must not lock sellers out of renaming or archiving old links;
    only a new destination is judged."""
    http, ws = await _api(dash)
    async with dash.db.transaction() as tx:  # made before the allowlist existed
        old = await service.create_link(
            tx,
            workspace=ws,
            domain=dash.domain,
            spec=LinkSpec(url="https://shop.example.com/old"),
            actor="test",
            rules=LinkRules(),
        )
    renamed = await http.patch(f"/links/{old.id}", json={"title": "Old sale", "archived": True})
    assert renamed.status_code == 200, renamed.text
    moved = await http.patch(f"/links/{old.id}", json={"url": "https://shop.example.com/new"})
    assert moved.status_code == 422 and _first_error(moved)[1] == "not_allowed"


async def test_dashboard_form_preview_edit_and_bulk_upload_name_the_rule(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    form = {"url": "https://bit.ly/3xYz", "channel": "", "campaign_id": "", "title": ""}
    created = await b.post(f"{base}/links", form)
    assert created.status_code == 422 and SHORTENER in created.text

    preview = await b.post(f"{base}/links/preview", {"url": "https://shop.example.com/item/1"})
    assert preview.json()["final_url"] is None
    assert any(NOT_ALLOWED in m for m in preview.json()["errors"]["url"])

    good = await b.post(f"{base}/links", {**form, "url": "https://shopee.sg/item/1"})
    assert good.status_code == 303, good.text
    link_path = good.headers["location"].split("?")[0]
    await b.get(f"{link_path}/edit")
    edit = await b.post(f"{link_path}/edit", {**form, "url": "http://169.254.169.254/"})
    assert edit.status_code == 422 and PRIVATE in edit.text

    text = "url\nhttps://shopee.sg/a\nhttps://bit.ly/b\nhttps://evil.example/c\nhttps://shopee.sg/d"
    started = await b.post(f"{base}/bulk", {"text": text})
    assert started.status_code == 303
    location = started.headers["location"]
    for _ in range(200):
        if (await b.get(f"{location}/progress")).json()["state"] != "running":
            break
        await asyncio.sleep(0.05)
    result = await b.get(f"{location}/results.csv")
    rows = list(csv.DictReader(io.StringIO(result.text.lstrip("\ufeff"))))
    assert [r["status"] for r in rows] == ["created", "error", "error", "created"]
    assert rows[1]["field"] == "url" and rows[1]["error"] == SHORTENER
    assert rows[2]["error"] == "blocked: evil.example is on the platform's blocklist"
