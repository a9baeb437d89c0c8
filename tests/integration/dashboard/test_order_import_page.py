"""Settings → Conversions → import orders from a marketplace export: the mapping saved once,
a preview that stores nothing and shows every row, then the import (en and zh-CN)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard_harness import Dash
from sqlalchemy import select

from hoplink.storage import tables as t

DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
EXPORT = f"Bestellnummer,Zeit,Summe\nD-1,{DAY} 10:00:00,19.90\nD-2,{DAY} 11:00:00,nicht\n"


async def _orders(dash: Dash) -> list[tuple[str, int, str]]:
    async with dash.db.transaction(write=False) as tx:
        rows = await tx.conn.execute(
            select(t.orders.c.order_id, t.orders.c.amount, t.orders.c.currency)
        )
        return sorted((r.order_id, r.amount, r.currency) for r in rows)


async def test_mapping_preview_then_import(dash: Dash) -> None:
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}/conversions"
    page = await b.get(base)
    assert page.status_code == 200 and 'id="orders-import"' in page.text
    bad = await b.post(f"{base}/mapping", {"preset": "generic", "currency": "XYZ"})
    assert bad.status_code == 422 and "ISO 4217" in bad.text
    saved = await b.post(
        f"{base}/mapping",
        {
            "preset": "generic",
            "currency": "EUR",
            "col_order_id": "Bestellnummer",
            "col_placed_at": "Zeit",
            "col_amount": "Summe",
        },
    )
    assert saved.status_code == 303
    again = await b.get(base)
    assert 'value="Bestellnummer"' in again.text and '<option value="EUR" selected>' in again.text
    preview = await b.post(
        f"{base}/import",
        {"mode": "preview"},
        files={"file": ("orders.csv", EXPORT.encode(), "text/csv")},
    )
    assert preview.status_code == 200, preview.text[-2000:]
    assert "Preview of the order import" in preview.text
    assert "D-1" in preview.text and "New order" in preview.text
    assert "Summe: not an amount" in preview.text
    assert await _orders(dash) == []
    done = await b.post(f"{base}/import", {"mode": "import", "text": EXPORT})
    assert done.status_code == 200 and "Orders imported" in done.text
    assert await _orders(dash) == [("D-1", 1990, "EUR")]
    twice = await b.post(f"{base}/import", {"mode": "import", "text": EXPORT})
    assert "Already imported" in twice.text
    assert await _orders(dash) == [("D-1", 1990, "EUR")]
    no_header = await b.post(f"{base}/import", {"mode": "preview", "text": "a,b\n1,2\n"})
    assert no_header.status_code == 422 and "Bestellnummer" in no_header.text
    await b.post("/app/lang", {"lang": "zh_CN", "next": base})
    zh = await b.post(f"{base}/import", {"mode": "preview", "text": EXPORT})
    assert "订单导入预览" in zh.text and "已导入过" in zh.text


async def test_file_refusals_are_explained_in_chinese(dash: Dash) -> None:
    """In zh_CN every refused order file read "该值无效。" (this value is not valid): not
    UTF-8, no header row, a mapped column missing. Each now says what to do."""
    b, ws = await dash.signed_in()
    base = f"/app/w/{ws.slug}/conversions"
    await b.post("/app/lang", {"lang": "zh_CN", "next": base})
    binary = await b.post(
        f"{base}/import",
        {"mode": "preview"},
        files={"file": ("orders.csv", b"\xff\xfe\x00\x01garbage", "text/csv")},
    )
    assert binary.status_code == 422 and "UTF-8" in binary.text, binary.text[-2000:]
    no_header = await b.post(f"{base}/import", {"mode": "preview", "text": "a,b\n1,2\n"})
    assert no_header.status_code == 422 and "表头" in no_header.text
    columns = await b.post(f"{base}/import", {"mode": "preview", "text": "order_id,x\n1,2\n"})
    assert columns.status_code == 422 and "列映射" in columns.text
    for page in (binary, no_header, columns):
        assert "该值无效" not in page.text
