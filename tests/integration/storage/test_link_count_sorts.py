"""Sorting links by their counts over a span, on real SQLite and PostgreSQL (rolled back)."""

from __future__ import annotations

import time

from factories import domain, workspace
from hoplink.links import service
from hoplink.links.models import LinkQuery
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import tables as t
from hoplink.storage.link_counts import link_totals_between
from hoplink.storage.tx import Tx

NOW = int(time.time() // 3600)


async def _counts(tx: Tx, ws_id: str, link_id: str, *, hour: int, pv: int, human: int, uv: int):  # type: ignore[no-untyped-def]
    """Counts at ``hour`` in the hour and the day table, as the worker writes them: the day
    rollup is kept live, so today's row holds today's clicks so far (a span ending after
    midnight reads today from it)."""
    row = {"link_id": link_id, "workspace_id": ws_id, "pv": pv, "human_pv": human, "uv_day": uv}
    await tx.conn.execute(t.rollup_link_hours.insert().values(hour=hour, uv_hour=uv, **row))
    await tx.conn.execute(t.rollup_link_days.insert().values(day=hour // 24, **row))


async def test_links_sort_by_clicks_human_clicks_and_visitors_in_a_span(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    other = await workspace(tx, "Other")
    made = await service.create_links(
        tx,
        workspace=ws,
        domain=dom,
        specs=[LinkSpec(url=f"https://shop.example.com/{n}", title=n) for n in "abcd"],
        actor="t",
        rules=LinkRules(),
    )
    a, b, c, d = (m.id for m in made)  # type: ignore[union-attr]
    # a: many bot clicks long ago; b: most human clicks recently; c: most visitors; d: none.
    await _counts(tx, ws.id, a, hour=NOW - 24 * 40, pv=500, human=10, uv=5)
    await _counts(tx, ws.id, b, hour=NOW - 3, pv=60, human=60, uv=6)
    await _counts(tx, ws.id, c, hour=NOW - 24 * 3, pv=40, human=30, uv=25)
    await _counts(tx, ws.id, c, hour=NOW - 1, pv=1, human=1, uv=1)
    o = await service.create_link(
        tx,
        workspace=other,
        domain=dom,
        spec=LinkSpec(url="https://x.example/"),
        actor="t",
        rules=LinkRules(),
    )
    await _counts(tx, other.id, o.id, hour=NOW - 2, pv=9999, human=9999, uv=999)
    repo = tx.links(ws.id)

    async def order(sort: str, days: int | None = None) -> list[str]:
        start = 0 if days is None else NOW - 24 * days
        found, total = await repo.search(
            LinkQuery(sort=sort, clicks_from_hour=start, clicks_to_hour=NOW + 2)
        )
        assert total == 4
        return [link.title or "" for link in found]

    assert await order("-pv") == ["a", "b", "c", "d"]
    assert await order("-human") == ["b", "c", "a", "d"]
    assert await order("-uv") == ["c", "b", "a", "d"]
    assert (await order("pv"))[0] == "d"
    # In the last 7 days a's old clicks do not count: b, then c, then the two without.
    assert (await order("-pv", days=7))[:2] == ["b", "c"]
    assert (await order("-uv", days=7))[:2] == ["c", "b"]
    assert (await order("-pv", days=1))[:2] == ["b", "c"]
    # Paging over the count order, and the page's own totals over the same span.
    page, _ = await repo.search(
        LinkQuery(sort="-human", per_page=2, page=2, clicks_to_hour=NOW + 2)
    )
    assert [link.title for link in page] == ["a", "d"]
    totals = await link_totals_between(tx.conn, ws.id, [a, b, c, d], NOW - 24 * 7, NOW + 2)
    assert (totals[a].pv, totals[b].human_pv, totals[c].uv, totals[d].pv) == (0, 60, 26, 0)
    everything = await link_totals_between(tx.conn, ws.id, [a, c], 0, NOW + 2)
    assert (everything[a].pv, everything[c].pv) == (500, 41)
