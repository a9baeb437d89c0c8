"""The links a web process loads before it serves (the most clicked of the last days), on
real SQLite and PostgreSQL (rolled back)."""

from __future__ import annotations

import time

from factories import domain, workspace
from hoplink.ids import utcnow
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import tables as t
from hoplink.storage.redirects import most_clicked
from hoplink.storage.tx import Tx

# Days far ahead, so rows other tests committed today (clicks through a real worker) are
# before the range.
TODAY = int(time.time() // 86_400) + 10_000


async def _views(tx: Tx, ws_id: str, link_id: str, *, day: int, pv: int) -> None:
    await tx.conn.execute(
        t.rollup_link_days.insert().values(
            link_id=link_id, workspace_id=ws_id, day=day, pv=pv, human_pv=pv, uv_day=1
        )
    )


async def test_the_most_clicked_links_of_the_range_come_first(tx: Tx) -> None:
    dom = await domain(tx)
    other_dom = await domain(tx, "go.example.com")
    ws = await workspace(tx)
    made = await service.create_links(
        tx,
        workspace=ws,
        domain=dom,
        specs=[LinkSpec(url=f"https://shop.example.com/{n}") for n in range(5)],
        actor="t",
        rules=LinkRules(),
    )
    a, b, old, gone, never = (m for m in made)  # type: ignore[misc]
    elsewhere = await service.create_link(
        tx, workspace=ws, domain=other_dom, spec=LinkSpec(url="https://x.example/"), actor="t",
        rules=LinkRules(),
    )  # fmt: skip
    await _views(tx, ws.id, a.id, day=TODAY, pv=5)
    await _views(tx, ws.id, b.id, day=TODAY - 1, pv=4)  # yesterday and today: 4 + 3
    await _views(tx, ws.id, b.id, day=TODAY, pv=3)
    await _views(tx, ws.id, old.id, day=TODAY - 2, pv=900)  # before the range
    await _views(tx, ws.id, gone.id, day=TODAY, pv=800)  # deleted since
    await _views(tx, ws.id, elsewhere.id, day=TODAY, pv=6)
    await tx.conn.execute(
        t.links.update().where(t.links.c.id == gone.id).values(deleted_at=utcnow())
    )

    found = await most_clicked(tx.conn, since_day=TODAY - 1, limit=10)
    assert found == [
        (dom.hostname, b.code),
        ("go.example.com", elsewhere.code),
        (dom.hostname, a.code),
    ]
    assert (dom.hostname, never.code) not in found
    assert await most_clicked(tx.conn, since_day=TODAY - 1, limit=2) == found[:2]
    assert await most_clicked(tx.conn, since_day=TODAY + 1, limit=10) == []
