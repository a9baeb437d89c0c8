"""POST /api/v1/imports end to end on real SQLite and PostgreSQL: dry run, run, second
run, kept codes on the workspace's own short domain, refusals, the mapping CSV, and the
imported click totals kept apart from real clicks."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from api_client import Api, assert_problem
from hoplink.domains import service as domain_service
from hoplink.ids import new_id, utcnow
from hoplink.links.models import ShortDomain
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage import tables as t

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
OWN = "go.xn--jvr800e.cn"  # go.品牌.cn


async def _tenant(api: Api, name: str = "Brand") -> tuple[Any, dict[str, str]]:
    ws, auth = await api.tenant(name)
    return ws, auth


async def _own_domain(api: Api, ws_id: str, host: str = OWN) -> None:
    async with api.db.transaction() as tx:
        await tx.short_domains.insert(
            ShortDomain(id=new_id("dom"), hostname=host, workspace_id=ws_id, is_default=False),
            utcnow(),
        )


async def _count(api: Api, table: Any) -> int:
    async with api.db.transaction(write=False) as tx:
        return int((await tx.conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _import(api: Api, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await api.http.post("/api/v1/imports", json=body, headers=auth)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def test_bitly_dry_run_then_run_then_nothing_to_do(api: Api) -> None:
    ws, auth = await _tenant(api)
    await _own_domain(api, ws.id)
    content = (FIXTURES / "bitly.csv").read_text()
    dry = await _import(api, auth, source="bitly", content=content)
    expected = {
        "rows": 7, "create": 2, "keep_code": 2, "unchanged": 0, "duplicate": 1,
        "code_taken": 0, "refused": 2,
    }  # fmt: skip
    assert dry["dry_run"] is True and dry["counts"] == expected
    assert await _count(api, t.links) == 0 and await _count(api, t.link_imports) == 0
    by_row = {r["row"]: r for r in dry["rows"]}
    assert by_row[1]["action"] == "keep_code" and by_row[1]["new_short_url"] == f"http://{OWN}/red"
    assert by_row[4]["action"] == "refused" and "url" in by_row[4]["reason"]
    assert by_row[5]["action"] == "refused"
    assert by_row[6]["action"] == "duplicate"

    run = await _import(api, auth, source="bitly", content=content, dry_run=False)
    assert run["dry_run"] is False and run["counts"] == expected
    rows = {r["row"]: r for r in run["rows"]}
    assert rows[7]["new_code"] == "green" and rows[7]["imported_clicks"] == 1024
    assert rows[2]["old_short_url"] == "https://bit.ly/3xBlue" and len(rows[2]["new_code"]) >= 7
    assert await _count(api, t.links) == 4
    # Imported click totals are their own series: no click, no rollup.
    assert await _count(api, t.clicks) == 0 and await _count(api, t.rollup_link_days) == 0
    async with api.db.transaction(write=False) as tx:
        totals = sorted((await tx.conn.execute(select(t.link_imports.c.imported_clicks))).scalars())
    assert totals == [0, 35, 1024, 1200]
    # The kept code answers on the workspace's own domain; the new one on the default.
    r = await api.http.get("/red", headers={"host": OWN})
    assert (
        r.status_code == 302
        and without_click_id(r.headers["location"]) == "https://shop.example.com/item/1?sku=42"
    )
    r = await api.http.get(f"/{rows[3]['new_code']}")
    assert r.status_code == 302 and r.headers["location"].startswith("https://xn--")
    listed = (await api.http.get("/api/v1/links?tag=鞋", headers=auth)).json()
    assert [x["title"] for x in listed["items"]] == ["Red shoes 红色鞋子"]

    again = await _import(api, auth, source="bitly", content=content, dry_run=False)
    assert again["counts"]["unchanged"] == 4 and again["counts"]["create"] == 0
    assert {r["new_code"] for r in again["rows"] if r["action"] == "unchanged"} == {
        r["new_code"] for r in run["rows"] if r["new_code"]
    }
    assert await _count(api, t.links) == 4 and await _count(api, t.link_imports) == 4

    mapping = await api.http.post(
        "/api/v1/imports?format=csv",
        json={"source": "bitly", "content": content},
        headers=auth,
    )
    assert mapping.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(mapping.text)))
    assert len(lines) == 7 and lines[0]["old_short_url"] == f"https://{OWN}/red"
    assert lines[0]["new_short_url"] == f"http://{OWN}/red" and lines[0]["action"] == "unchanged"


async def test_yourls_dump_keeps_codes_and_reports_conflicts(api: Api) -> None:
    ws, auth = await _tenant(api)
    await _own_domain(api, ws.id)
    # A code of the dump is already used on that domain.
    r = await api.http.post(
        "/api/v1/links", json={"url": "https://shop.example.com/x", "code": "cjk", "domain": OWN},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    content = (FIXTURES / "yourls.sql").read_text()
    run = await _import(
        api, auth, source="yourls", content=content, domain="go.品牌.cn", dry_run=False
    )
    actions = [(r["old_code"], r["action"]) for r in run["rows"]]
    assert actions == [
        ("ozh", "keep_code"), ("cjk", "code_taken"), ("evil", "refused"), ("idn", "keep_code"),
        ("ozh", "duplicate"),
    ]  # fmt: skip
    async with api.db.transaction(write=False) as tx:
        titles = list(await tx.conn.execute(select(t.links.c.code, t.links.c.title)))
    assert ("ozh", 'Ozh\'s "shop" 商店') in titles
    # The dump's addresses went nowhere.
    async with api.db.transaction(write=False) as tx:
        dump = json.dumps(
            [list(r) for r in await tx.conn.execute(select(t.link_imports))], default=str
        )
    assert "203.0.113" not in dump


async def test_codes_of_other_domains_are_never_kept(api: Api) -> None:
    a, auth_a = await _tenant(api, "A")
    _, auth_b = await _tenant(api, "B")
    await _own_domain(api, a.id)
    content = (FIXTURES / "shlink.csv").read_text()
    # B imports A's short URLs: B does not own that domain, so new codes on the default.
    run = await _import(api, auth_b, source="shlink", content=content, dry_run=False)
    assert [r["action"] for r in run["rows"]] == ["create", "create", "refused"]
    assert all(r["new_short_url"].startswith("http://hop.test/") for r in run["rows"][:2])
    assert (await api.http.get("/abc123", headers={"host": OWN})).status_code == 404
    own = await _import(api, auth_a, source="shlink", content=content, dry_run=False)
    assert [r["action"] for r in own["rows"]] == ["keep_code", "create", "refused"]


async def test_imports_go_on_the_workspace_default_domain_like_single_links(api: Api) -> None:
    """With a default custom domain, a link created alone goes there; so must an imported
    one (they went on the platform's). A row naming one of the workspace's own domains
    still keeps its code there: the row's domain wins."""
    ws, auth = await _tenant(api)
    await _own_domain(api, ws.id)
    async with api.db.transaction() as tx:
        ws = await domain_service.set_workspace_rules(tx, workspace=ws, approved=True)
        added = await domain_service.add_domain(
            tx, workspace=ws, hostname="go.brand.example", settings=api.app.settings,
            policy=DestinationPolicy(),
        )  # fmt: skip
        await domain_service.approve_domain(tx, ref=added.id, actor="admin")
    r = await api.http.patch(
        f"/api/v1/workspace/short-domains/{added.id}", json={"workspace_default": True},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    single = await api.http.post(
        "/api/v1/links", json={"url": "https://shop.example.com/alone"}, headers=auth
    )
    assert single.status_code == 201, single.text
    assert single.json()["domain"] == "go.brand.example"

    content = (FIXTURES / "bitly.csv").read_text()
    for dry_run in (True, False):
        run = await _import(api, auth, source="bitly", content=content, dry_run=dry_run)
        rows = {r["row"]: r for r in run["rows"]}
        assert rows[1]["action"] == "keep_code"
        assert rows[1]["new_short_url"] == f"http://{OWN}/red"
        assert rows[2]["action"] == "create"
        assert rows[2]["new_short_url"].startswith("http://go.brand.example/"), rows[2]
        assert rows[3]["new_short_url"].startswith("http://go.brand.example/"), rows[3]
    resolved = await api.http.get("/" + rows[2]["new_code"], headers={"host": "go.brand.example"})
    assert resolved.status_code in (301, 302, 307, 308), resolved.text
    assert without_click_id(resolved.headers["location"]) == "https://shop.example.com/item/2"

    # A row of a generic CSV naming one of the workspace's own domains, without a code:
    # a new code on that domain (the row's domain wins over the workspace default).
    named = await _import(
        api, auth, source="csv", dry_run=False,
        content=f"url,domain\nhttps://shop.example.com/named,{OWN}\n",
    )  # fmt: skip
    assert named["rows"][0]["action"] == "create"
    assert named["rows"][0]["new_short_url"].startswith(f"http://{OWN}/"), named["rows"][0]


async def test_bad_requests_are_refused(api: Api) -> None:
    _, auth = await _tenant(api)
    r = await api.http.post("/api/v1/imports", json={"source": "bitly"}, headers=auth)
    assert_problem(r, 422, "invalid_input", "content")
    r = await api.http.post(
        "/api/v1/imports", json={"source": "myspace", "content": ""}, headers=auth
    )
    assert_problem(r, 422, "invalid_input", "source")
    r = await api.http.post("/api/v1/imports", json={"source": "kutt"}, headers=auth)
    assert_problem(r, 422, "invalid_input", "kutt_url")
    generic = await _import(api, auth, source="csv", content=(FIXTURES / "generic.csv").read_text())
    assert [r["action"] for r in generic["rows"]] == ["create", "create", "refused", "refused"]
    # A NUL anywhere in the body is refused at the API edge (PostgreSQL stores no NUL in
    # text): a 422 naming the field, never a 500 and never a half-done import.
    r = await api.http.post(
        "/api/v1/imports",
        json={"source": "csv", "content": "url,code\nhttps://shop.example.com/n,a\u0000b\n",
              "dry_run": False},
        headers=auth,
    )  # fmt: skip
    assert_problem(r, 422, "invalid_input", "content")
    # Another control character in an old code is refused for that row only.
    ctl = await _import(
        api, auth, source="csv", content="url,code\nhttps://shop.example.com/n,a\u0001b\n",
        dry_run=False,
    )  # fmt: skip
    assert ctl["rows"][0]["action"] == "refused" and "control" in ctl["rows"][0]["reason"]
    # Cells the readers used to crash on (a 500): refused for their row, the field named.
    odd = await _import(
        api, auth, source="csv", dry_run=False,
        content="url,clicks,short_url\nhttps://shop.example.com/o,²,\n"
        "https://shop.example.com/p,-5,\nhttps://shop.example.com/q,,http://[::1/x\n",
    )  # fmt: skip
    assert [r["reason"] for r in odd["rows"]] == [
        "clicks: '²' is not a whole number",
        "clicks: must be 0 or more, not -5",
        "short_url: 'http://[::1/x' is not a URL",
    ]
    before = await _count(api, t.links)
    r = await api.http.post(
        "/api/v1/imports",
        json={"source": "yourls", "content": (FIXTURES / "yourls.sql").read_text(),
              "domain": "sho.rt/x", "dry_run": False},
        headers=auth,
    )  # fmt: skip
    assert_problem(r, 422, "invalid_input", "domain")
    r = await api.http.post(
        "/api/v1/imports",
        json={"source": "csv", "content": "url,title\nhttps://shop.example.com/z," + "x" * 140_000,
              "dry_run": False},
        headers=auth,
    )  # fmt: skip
    assert_problem(r, 422, "invalid_input", "content")
    r = await api.http.post(
        "/api/v1/imports",
        json={"source": "kutt", "kutt_url": "https://[::1", "kutt_api_key": "k"},
        headers=auth,
    )
    assert_problem(r, 422, "invalid_input", "kutt_url")
    assert await _count(api, t.links) == before


# --- Kutt: a local fake of its documented API v2 ------------------------------------------

KUTT_KEY = "kutt-test-key"
KUTT_LINKS = [
    {
        "id": f"00000000-0000-0000-0000-{i:012d}",
        "address": f"kt{i}",
        "banned": False,
        "created_at": "2025-02-01T00:00:00.000Z",
        "link": f"https://kutt.example/kt{i}",
        "password": False,
        "target": f"https://shop.example.com/kutt/{i}",
        "description": "简介" if i == 0 else None,
        "updated_at": "2025-02-01T00:00:00.000Z",
        "visit_count": i * 10,
    }
    for i in range(120)
]


class _Kutt(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if self.headers.get("X-API-KEY") != KUTT_KEY:
            self._send(401, {"error": "Unauthorized."})
        elif parts.path != "/api/v2/links":
            self._send(404, {"error": "Not found."})
        else:
            query = parse_qs(parts.query)
            limit = min(int(query.get("limit", ["10"])[0]), 50)
            skip = int(query.get("skip", ["0"])[0])
            page = KUTT_LINKS[skip : skip + limit]
            self._send(200, {"limit": limit, "skip": skip, "total": len(KUTT_LINKS), "data": page})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _kutt() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Kutt)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_kutt_api_import(api: Api) -> None:
    ws, auth = await _tenant(api)
    await _own_domain(api, ws.id, "kutt.example")
    with _kutt() as url:
        body = {"source": "kutt", "kutt_url": url, "kutt_api_key": KUTT_KEY, "dry_run": False}
        run = await _import(api, auth, **body)
        assert run["counts"]["rows"] == 120 and run["counts"]["keep_code"] == 120
        assert run["rows"][5]["imported_clicks"] == 50
        again = await _import(api, auth, **body)
        assert again["counts"]["unchanged"] == 120
        r = await api.http.post(
            "/api/v1/imports", json={**body, "kutt_api_key": "wrong"}, headers=auth
        )
        assert_problem(r, 422, "invalid_input", "kutt_url")
    r = await api.http.get("/kt0", headers={"host": "kutt.example"})
    assert (
        r.status_code == 302
        and without_click_id(r.headers["location"]) == "https://shop.example.com/kutt/0"
    )


def without_click_id(location: str) -> str:
    """The Location without the click id hoplink appends to every redirect."""
    return re.sub(r"[?&]hl_click=[0-9a-f]+$", "", location)
