"""``hoplink fx``: the operator's daily exchange rates (never downloaded by hoplink)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import out
from hoplink.config import Settings
from hoplink.conversions.rates import Rate, import_rates, latest_rates

app = typer.Typer(
    help="Exchange rates the reports convert order amounts with: one CSV line per day and"
    " pair, 'date,base,quote,rate' (1 base = rate quote).\n\n"
    "Example:\n\n$ hoplink fx import rates-2026-11.csv",
    no_args_is_help=True,
)


async def _import(settings: Settings, text: str) -> int:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        return await import_rates(tx, text=text)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV: date,base,quote,rate (header optional)")],
) -> None:
    """Load daily rates from a CSV file; a rate given again for a day replaces it.

    Example:
    $ hoplink fx import rates.csv
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        _common.fail(f"cannot read {file}: {exc.strerror}")
    n = _common.run(_import(_common.settings(), text))
    out.print(f"{n} rates stored", markup=False)


async def _list(settings: Settings, limit: int) -> list[Rate]:
    async with _common.runtime(settings) as rt, rt.db.transaction(write=False) as tx:
        return await latest_rates(tx, limit=limit)


@app.command("list")
def list_(limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50) -> None:
    """The newest rates.

    Example:
    $ hoplink fx list --limit 20
    """
    table = _common.table("day", "base", "quote", "rate")
    for day, base, quote, rate in _common.run(_list(_common.settings(), limit)):
        table.add_row(day.isoformat(), base, quote, str(rate))
    out.print(table)
