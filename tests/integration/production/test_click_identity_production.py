"""Production mode (PostgreSQL + Redis): the click id and the ad click ids from a web node,
through the Redis click stream and the worker, into the raw click log — found again by
``find_click`` in its workspace only."""

from __future__ import annotations

from linkcache_nodes import Node

import factories
from clickids import split_click_id
from hoplink.clicks.service import find_click
from hoplink.ingest.redis_stream import RedisClickSource
from hoplink.ingest.worker import Worker
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database


async def test_ad_click_ids_travel_from_the_edge_through_the_stream_to_postgres(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    a, _ = nodes
    async with pg.transaction() as tx:
        ws = await factories.workspace(tx, click_id_param="cid")
        other = await factories.workspace(tx, "Other Store")
        dom = await factories.domain(tx)
        spec = LinkSpec(url="https://shop.example.com/item/7", pass_ad_click_ids=True)
        link = await service.create_link(
            tx, workspace=ws, domain=dom, spec=spec, actor=None, rules=LinkRules()
        )
    r = await a.get(f"{link.code}?ttclid=E.1-x&fbclid=bad%24&hl_click=FORGED")
    rest, click_id = split_click_id(r.headers["location"], "cid")
    assert rest == f"{link.final_url}?ttclid=E.1-x"

    assert a.runtime.redis is not None
    source = RedisClickSource.from_settings(a.runtime.redis, a.runtime.settings)
    clicks, token = await source.read(10, 2.0)
    assert [(c.click_id, c.ad_click_ids) for c in clicks] == [(click_id, {"ttclid": "E.1-x"})]
    await Worker(db=pg, source=source).process(clicks)
    await source.ack(token)

    async with pg.transaction(write=False) as tx:
        found = await find_click(tx, workspace_id=ws.id, click_id=click_id)
        assert found is not None
        assert (found.link_id, found.ad_click_ids) == (link.id, {"ttclid": "E.1-x"})
        assert await find_click(tx, workspace_id=other.id, click_id=click_id) is None
