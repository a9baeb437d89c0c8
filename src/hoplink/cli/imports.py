"""``hoplink import``: links from Bitly, Shlink, YOURLS, Kutt or a CSV (dry run first)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.imports import formats
from hoplink.imports.kutt import read_kutt
from hoplink.imports.models import ImportReport, Source
from hoplink.imports.runner import run_import
from hoplink.imports.service import mapping_csv
from hoplink.net.fetch import SafeFetcher
from hoplink.workspaces.service import find_workspace


async def _import(
    settings: Settings,
    *,
    ref: str,
    source: Source,
    text: str | None,
    domain: str | None,
    kutt_url: str | None,
    kutt_key: str | None,
    apply: bool,
) -> ImportReport:
    if source is Source.KUTT:
        if not kutt_url or not kutt_key:
            _common.fail("kutt needs --kutt-url and --kutt-key (or HOPLINK_KUTT_KEY)")
        links = await read_kutt(
            SafeFetcher.from_settings(settings), base_url=kutt_url, api_key=kutt_key
        )
    else:
        if text is None:
            _common.fail(f"{source.value} needs the exported FILE")
        links = formats.read(source, text, domain=domain)
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction(write=False) as tx:
            ws = await find_workspace(tx, ref)
        return await run_import(
            rt, workspace=ws, source=source, links=links, actor="cli", dry_run=not apply
        )


def import_links(
    source: Annotated[Source, typer.Argument(help="csv, bitly, shlink, yourls or kutt.")],
    file: Annotated[
        Path | None,
        typer.Argument(
            help="The export: a CSV, or YOURLS' SQL dump (not for kutt).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    workspace: Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)] = "",
    domain: Annotated[
        str | None, typer.Option(help="The old short domain, when the file does not say it.")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the links (without it: a dry run).")
    ] = False,
    mapping: Annotated[
        Path | None, typer.Option(help="Write the old → new mapping CSV to this file.")
    ] = None,
    kutt_url: Annotated[str | None, typer.Option(help="Kutt's base URL.")] = None,
    kutt_key: Annotated[
        str | None, typer.Option(envvar="HOPLINK_KUTT_KEY", help="A Kutt API key.")
    ] = None,
) -> None:
    """Import links from another shortener. Dry run unless --apply; running it twice
    changes nothing the second time.

    Examples:
    $ hoplink import bitly bitly-links.csv --workspace my-store
    $ hoplink import yourls yourls.sql -w my-store --apply --mapping old-to-new.csv
    """
    if not workspace:
        _common.fail("give --workspace")
    settings = _common.settings()
    text = None
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            _common.fail(
                f"error: {file}: not UTF-8 text (byte {exc.start}); save the export as UTF-8"
                " (CSV UTF-8) and run the command again"
            )
    report = _common.run(
        _import(
            settings,
            ref=workspace,
            source=source,
            text=text,
            domain=domain,
            kutt_url=kutt_url,
            kutt_key=kutt_key,
            apply=apply,
        )
    )
    counts = report.counts()
    what = "dry run — nothing written" if report.dry_run else "imported"
    out.print(f"{what}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for row in report.rows:
        if row.reason:
            out.print(f"  row {row.row}: {row.action.value}: {row.reason}", soft_wrap=True)
    if mapping is not None:
        mapping.write_text(mapping_csv(report), encoding="utf-8")
        out.print(f"mapping written to {mapping}")
