"""hoplink fx import / list: the operator's daily rates, and every bad line named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from cli_harness import Cli

from hoplink.conversions.rates import latest_rates
from hoplink.storage.tx import Tx


def test_import_then_list_and_replace(cli: Cli, tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,base,quote,rate\n2026-11-01,USD,CNY,7.12\n2026-11-01,EUR,USD,1.08\n")
    assert "2 rates stored" in cli.ok("fx", "import", str(rates)).stdout
    rates.write_text("2026-11-01,USD,CNY,7.2\n")
    cli.ok("fx", "import", str(rates))

    async def stored(tx: Tx) -> list[tuple[str, str, str, Decimal]]:
        return [(d.isoformat(), b, q, r) for d, b, q, r in await latest_rates(tx)]

    assert sorted(cli.query(stored)) == [
        ("2026-11-01", "EUR", "USD", Decimal("1.08")),
        ("2026-11-01", "USD", "CNY", Decimal("7.2")),
    ]
    assert "7.2" in cli.ok("fx", "list").stdout


def test_bad_lines_are_named_and_nothing_is_stored(cli: Cli, tmp_path: Path) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("2026-11-01,USD,CNY,7.12\n2026-13-01,USD,CNY,7\n2026-11-02,USD,XYZ,1\n")
    err = cli.fails("fx", "import", str(rates)).stderr
    assert "rows.2.date" in err and "rows.3.currency" in err

    async def count(tx: Tx) -> int:
        return len(await latest_rates(tx))

    assert cli.query(count) == 0
