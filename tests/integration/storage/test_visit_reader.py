"""The visit reader on real SQLite and PostgreSQL (each test rolled back): pages of raw
clicks by link, tag, host and time, newest first, with the total; and all-time totals per
tag from the daily rollups. Always within one workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from factories import domain, workspace
from hoplink.analytics.models import Totals, Visit, VisitQuery, VisitScope
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx
from hoplink.storage.visits import VisitReader
from hoplink.workspaces.models import Workspace

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"


async def _link(tx: Tx, ws: Workspace, path: str, tags: list[str] | None = None) -> Link:
    return await service.create_link(
        tx,
        workspace=ws,
        domain=await domain(tx),
        spec=LinkSpec(url=f"https://shop.example.com/{path}", tags=tags or []),
        actor="test",
        rules=LinkRules(),
    )


async def _click(tx: Tx, link: Link, cid: str, minutes: int, **overrides: Any) -> None:
    row: dict[str, Any] = {
        "click_id": cid,
        "ts": T0 + timedelta(minutes=minutes),
        "workspace_id": link.workspace_id,
        "link_id": link.id,
        "domain": "hop.test",
        "method": "GET",
        "country": "DE",
        "visitor_hash": "v" * 64,
        "user_agent": UA,
        "referrer_host": "t.co",
        "language": "de",
        "device": "mobile",
        "os": "iOS",
        "browser": "Mobile Safari",
        "bot": None,
    }
    await tx.conn.execute(t.clicks.insert().values(**(row | overrides)))


def q(ws: Workspace, scope: VisitScope, ref: str | None = None, **kw: Any) -> VisitQuery:
    return VisitQuery(workspace_id=ws.id, scope=scope, ref=ref, **kw)


async def test_a_page_of_visits_newest_first_with_unknowns_blanked(tx: Tx) -> None:
    ws = await workspace(tx)
    link = await _link(tx, ws, "a")
    await _click(tx, link, "c1", 0, referrer_host="(direct)", country="(unknown)")
    await _click(tx, link, "c2", 5, bot="crawler", referrer_host="(unknown)")
    await _click(tx, link, "c3", 10, domain="go.example", referrer_host="news.example")
    reader = VisitReader(tx.conn, ws.id)
    visits, total = await reader.page(q(ws, VisitScope.WORKSPACE))
    assert total == 3
    assert visits == [
        Visit(
            T0 + timedelta(minutes=10),
            link.code,
            "hop.test",
            "go.example",
            "news.example",
            UA,
            "DE",
            None,
        ),
        Visit(
            T0 + timedelta(minutes=5), link.code, "hop.test", "hop.test", "", UA, "DE", "crawler"
        ),
        Visit(T0, link.code, "hop.test", "hop.test", "", UA, None, None),
    ]
    assert visits[0].ts.tzinfo is not None


async def test_visits_by_link_tag_host_time_and_humans_with_paging(tx: Tx) -> None:
    ws = await workspace(tx)
    a = await _link(tx, ws, "a", tags=["sale"])
    b = await _link(tx, ws, "b", tags=["sale", "shoes"])
    c = await _link(tx, ws, "c")
    await _click(tx, a, "a1", 0)
    await _click(tx, a, "a2", 20, bot="preview")
    await _click(tx, b, "b1", 30, domain="go.example")
    await _click(tx, c, "c1", 40)
    reader = VisitReader(tx.conn, ws.id)

    async def codes(query: VisitQuery) -> tuple[list[str], int]:
        visits, total = await reader.page(query)
        return [f"{v.link_code}@{v.ts.minute}" for v in visits], total

    assert await codes(q(ws, VisitScope.LINK, a.id)) == ([f"{a.code}@20", f"{a.code}@0"], 2)
    assert await codes(q(ws, VisitScope.TAG, "sale")) == (
        [f"{b.code}@30", f"{a.code}@20", f"{a.code}@0"],
        3,
    )
    assert await codes(q(ws, VisitScope.TAG, "shoes")) == ([f"{b.code}@30"], 1)
    assert await codes(q(ws, VisitScope.TAG, "none")) == ([], 0)
    assert await codes(q(ws, VisitScope.DOMAIN, "go.example")) == ([f"{b.code}@30"], 1)
    # [start, end): the start is in, the end is out.
    window = q(
        ws, VisitScope.WORKSPACE, start=T0 + timedelta(minutes=20), end=T0 + timedelta(minutes=40)
    )
    assert await codes(window) == ([f"{b.code}@30", f"{a.code}@20"], 2)
    humans = q(ws, VisitScope.LINK, a.id, humans_only=True)
    assert await codes(humans) == ([f"{a.code}@0"], 1)
    # A page holds `limit` visits from `offset`; the total counts them all.
    page2 = q(ws, VisitScope.WORKSPACE, limit=2, offset=2)
    assert await codes(page2) == ([f"{a.code}@20", f"{a.code}@0"], 4)
    assert await codes(q(ws, VisitScope.WORKSPACE, offset=10)) == ([], 4)


async def test_visits_never_cross_workspaces(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    theirs = await _link(tx, other, "theirs", tags=["sale"])
    await _click(tx, theirs, "t1", 0)
    mine = await _link(tx, ws, "mine", tags=["sale"])
    reader = VisitReader(tx.conn, ws.id)
    for query in (
        q(ws, VisitScope.WORKSPACE),
        q(ws, VisitScope.LINK, theirs.id),
        q(ws, VisitScope.TAG, "sale"),
        q(ws, VisitScope.DOMAIN, "hop.test"),
    ):
        assert await reader.page(query) == ([], 0)
    assert (await VisitReader(tx.conn, other.id).page(q(other, VisitScope.WORKSPACE)))[1] == 1
    assert mine.tags == ["sale"]


async def test_tag_totals_sum_the_daily_rollups_of_each_tags_links(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    a = await _link(tx, ws, "a", tags=["sale"])
    b = await _link(tx, ws, "b", tags=["sale", "shoes"])
    await _link(tx, ws, "c", tags=["quiet"])  # no clicks: absent
    theirs = await _link(tx, other, "t", tags=["sale"])
    day = int(T0.timestamp()) // 86400
    rows = [
        (a, day, 10, 8, 5),
        (a, day + 1, 4, 4, 3),
        (b, day, 6, 1, 1),
        (theirs, day, 100, 100, 100),
    ]
    for link, d, pv, hp, uv in rows:
        await tx.conn.execute(
            t.rollup_link_days.insert().values(
                link_id=link.id,
                day=d,
                workspace_id=link.workspace_id,
                pv=pv,
                human_pv=hp,
                uv_day=uv,
            )
        )
    assert await VisitReader(tx.conn, ws.id).tag_totals() == {
        "sale": Totals(pv=20, human_pv=13, uv=9),
        "shoes": Totals(pv=6, human_pv=1, uv=1),
    }
    assert await VisitReader(tx.conn, other.id).tag_totals() == {
        "sale": Totals(pv=100, human_pv=100, uv=100)
    }
