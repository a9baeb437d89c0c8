"""Running an import for the API, the dashboard and the CLI: a transaction per run, rolled
back for a dry run (its change events go with it; a real run's reach the redirect cache
after commit, as every link creation's do)."""

from __future__ import annotations

from collections.abc import Sequence

from hoplink.imports.models import ImportReport, Source, SourceLink
from hoplink.imports.service import import_links
from hoplink.runtime import Runtime
from hoplink.workspaces.models import Workspace


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


async def run_import(
    runtime: Runtime,
    *,
    workspace: Workspace,
    source: Source,
    links: Sequence[SourceLink],
    actor: str | None,
    dry_run: bool,
) -> ImportReport:
    async def attempt() -> ImportReport:
        async with runtime.db.transaction() as tx:
            report = await import_links(
                tx,
                workspace=workspace,
                source=source,
                links=links,
                actor=actor,
                rules=runtime.link_rules,
                short_url=runtime.short_url,
                dry_run=dry_run,
            )
            if dry_run:
                raise _DryRun(report)  # everything written above is rolled back
            return report

    try:
        return await attempt()
    except _DryRun as done:
        return done.report
