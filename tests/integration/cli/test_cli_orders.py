"""hoplink orders import / mapping: a marketplace export previewed, then imported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_harness import Cli
from sqlalchemy import select

from hoplink.storage import tables as t
from hoplink.storage.tx import Tx

DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")


async def _orders(tx: Tx) -> list[tuple[str, int, str]]:
    rows = await tx.conn.execute(
        select(t.orders.c.order_id, t.orders.c.amount, t.orders.c.currency).order_by(
            t.orders.c.order_id
        )
    )
    return [(r.order_id, r.amount, r.currency) for r in rows]


def test_preview_import_and_saved_mapping(cli: Cli, tmp_path: Path) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    export = tmp_path / "lazada.csv"
    export.write_text(
        "Order Number,Created at,Status,Seller SKU,Paid Price\n"
        f"L-1,{DAY} 10:00:00,delivered,MUG,199.00\n"
        f"L-1,{DAY} 10:00:00,delivered,CAP,50.00\n"
        f"L-2,{DAY} 11:00:00,unpaid,MUG,199.00\n"
        "L-3,soon,delivered,MUG,199.00\n"
    )
    preview = cli.ok(
        "orders", "import", str(export), "-w", "acme", "--preset", "lazada", "--currency", "MYR"
    ).stdout
    assert "4 rows, 1 orders, preview" in preview and "rows: 2 created, 1 error" in preview
    assert "L-3" in preview and "Created at: not a date-time" in preview
    assert cli.query(_orders) == []
    cli.ok("orders", "mapping", "-w", "acme", "--preset", "lazada", "--currency", "MYR")
    shown = cli.ok("orders", "mapping", "-w", "acme").stdout
    assert "preset lazada, currency MYR" in shown
    done = cli.ok("orders", "import", str(export), "-w", "acme", "--apply").stdout
    assert "imported; rows: 2 created, 1 error, 1 skipped" in done
    assert cli.query(_orders) == [("L-1", 24_900, "MYR")]
    again = cli.ok("orders", "import", str(export), "-w", "acme", "--apply").stdout
    assert "rows: 2 duplicate" in again
    bad = cli.fails("orders", "mapping", "-w", "acme", "--column", "colour=Farbe")
    assert "columns.colour" in bad.output
