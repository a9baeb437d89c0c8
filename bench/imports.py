"""Importing 100,000 links (a Bitly-style CSV) on SQLite, against a baseline run side by
side: the same 100,000 links created through the link service in batches of 1,000 (what
the import does under its parsing, plan and provenance rows).

In-process (no HTTP): a temporary data dir, a migrated SQLite file per run. Prints the
seconds of each phase, links/s, and the import's ratio to the baseline; then runs the
same import a second time (everything ``unchanged``).

    .venv/bin/python bench/imports.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import tempfile
import time
from pathlib import Path

from hoplink.config import load_settings
from hoplink.domains import domain_for
from hoplink.imports import formats
from hoplink.imports.models import Source
from hoplink.imports.runner import run_import
from hoplink.links import service
from hoplink.links.spec import LinkRules
from hoplink.runtime import Runtime
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import create_workspace


def bitly_csv(rows: int) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Title", "Bitlink", "Long URL", "Created", "Tags", "Clicks"])
    for i in range(rows):
        w.writerow(
            [
                f"商品 {i}",
                f"bit.ly/b{i:07d}",
                f"https://shop.example.com/item/{i}?sku={i % 97}&spm=a2g0o.detail",
                "2025-03-01 10:00:00",
                f"batch{i % 20}",
                str(i % 1000),
            ]
        )
    return out.getvalue()


async def fresh(root: Path, name: str) -> tuple[Runtime, object]:
    data = root / name
    settings = load_settings(data_dir=data, default_domain="hop.test", embedded_worker=False)
    runtime = await Runtime.start(settings)
    async with runtime.db.transaction() as tx:
        ws = await create_workspace(tx, name=f"Bench {name}", status=WorkspaceStatus.VERIFIED)
    return runtime, ws


CPU: dict[str, float] = {}  # CPU seconds of this process (all threads) per phase


async def baseline(root: Path, text: str) -> float:
    runtime, ws = await fresh(root, "baseline")
    rows = formats.read(Source.BITLY, text)
    start, cpu = time.perf_counter(), time.process_time()
    async with runtime.db.transaction() as tx:
        domain = await domain_for(tx, ws, None)  # type: ignore[arg-type]
        for i in range(0, len(rows), 1000):
            specs = [
                service.LinkSpec(url=r.url, title=r.title, tags=r.tags) for r in rows[i : i + 1000]
            ]
            await service.create_links(
                tx,
                workspace=ws,
                domain=domain,
                specs=specs,
                actor="bench",
                rules=LinkRules(),
            )
    elapsed = time.perf_counter() - start
    CPU["baseline"] = time.process_time() - cpu
    await runtime.close()
    return elapsed


async def imported(root: Path, text: str) -> tuple[float, float, float, dict[str, int]]:
    runtime, ws = await fresh(root, "import")
    start, cpu = time.perf_counter(), time.process_time()
    rows = formats.read(Source.BITLY, text)
    parsed = time.perf_counter() - start
    report = await run_import(
        runtime,
        workspace=ws,
        source=Source.BITLY,
        links=rows,
        actor="bench",
        dry_run=False,  # type: ignore[arg-type]
    )
    total = time.perf_counter() - start
    CPU["import"] = time.process_time() - cpu
    assert report.counts()["create"] == len(rows), report.counts()
    again_start = time.perf_counter()
    second = await run_import(
        runtime,
        workspace=ws,
        source=Source.BITLY,
        links=rows,
        actor="bench",
        dry_run=False,  # type: ignore[arg-type]
    )
    again = time.perf_counter() - again_start
    await runtime.close()
    return parsed, total, again, second.counts()


async def main(rows: int) -> None:
    text = bitly_csv(rows)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = await baseline(root, text)
        parsed, total, again, second = await imported(root, text)
    print(f"rows: {rows:,} (Bitly CSV, {len(text) / 1e6:.1f} MB), SQLite, one process")
    print(
        f"baseline  create_links in batches of 1,000: {base:6.1f} s  ({rows / base:,.0f} links/s)"
    )
    print(f"import    parse {parsed:.1f} s, total {total:6.1f} s  ({rows / total:,.0f} links/s)")
    print(f"ratio     import / baseline: {total / base:.2f}")
    print(f"second run (nothing to do): {again:.1f} s, {second}")
    # On a shared machine the wall clock mostly measures the other processes' load; the
    # CPU time this process used is what a quiet machine would take, about.
    print(
        f"CPU       baseline {CPU['baseline']:.1f} s, import {CPU['import']:.1f} s"
        f" ({rows / CPU['import']:,.0f} links per CPU second)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
