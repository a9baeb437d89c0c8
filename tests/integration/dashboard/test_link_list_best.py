"""Finding the best links: count sorts over a span, click columns in the page and the CSV,
numbered pages, "clear filters" (issue 14)."""

from __future__ import annotations

import csv
import io
import time

from dashboard_harness import Dash

from hoplink.storage import tables as t

NOW = int(time.time() // 3600)


async def test_sort_by_clicks_in_a_span_with_columns_pages_and_csv(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}"
    links = [
        await dash.link(ws, title=f"商品{n}", url=f"https://shop.example.com/{n}")
        for n in range(30)
    ]
    async with dash.db.transaction() as tx:
        for n, link in enumerate(links):
            row = {"link_id": link.id, "workspace_id": ws.id}
            # Clicks grow with n, but商品3 had the most, 40 days ago.
            recent = {"pv": n * 2, "human_pv": n, "uv_day": n}
            await tx.conn.execute(
                t.rollup_link_hours.insert().values(hour=NOW - 1, uv_hour=n, **row, **recent)
            )
            # The worker keeps the day rollup live, today's day included.
            await tx.conn.execute(
                t.rollup_link_days.insert().values(day=(NOW - 1) // 24, **row, **recent)
            )
            if n == 3:
                old = {"pv": 1000, "human_pv": 900, "uv_day": 800}
                await tx.conn.execute(
                    t.rollup_link_days.insert().values(day=NOW // 24 - 40, **row, **old)
                )

    default = await b.get(f"{base}/links")
    assert "Clear filters" not in default.text
    top = await b.get(f"{base}/links?sort=-human&per_page=25")
    assert top.text.index("商品3<") < top.text.index("商品29<") < top.text.index("商品28<")
    assert "Clear filters" in top.text and f'href="{base}/links"' in top.text
    week = await b.get(f"{base}/links?sort=-human&range=7d&per_page=25")
    assert week.text.index("商品29<") < week.text.index("商品28<") < week.text.index("商品5<")
    assert "商品3<" not in week.text  # 3 clicks this week: on page 2
    assert ">29</a> <small>(58)</small>" in week.text  # 商品29: 29 human of 58 clicks
    # Numbered pages: 30 links at 25 a page.
    assert 'aria-current="page">1<' in week.text and 'page=2">2</a>' in week.text
    second = await b.get(f"{base}/links?sort=-human&range=7d&per_page=25&page=2")
    assert "商品0<" in second.text and 'aria-current="page">2<' in second.text

    exported = await b.get(f"{base}/links.csv?sort=-human&range=7d")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 30 and rows[0]["title"] == "商品29"
    assert (rows[0]["clicks"], rows[0]["human_clicks"], rows[0]["bot_clicks"]) == ("58", "29", "29")
    assert rows[0]["visitors"] == "29" and rows[0]["disabled"] == "no"
    all_time = await b.get(f"{base}/links.csv?sort=-pv")
    first = next(csv.DictReader(io.StringIO(all_time.text.lstrip("\ufeff"))))
    assert first["title"] == "商品3" and first["clicks"] == "1006"
