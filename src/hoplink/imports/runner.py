"""Running an import for the API and the CLI: a transaction per run, rolled back for a dry
run, and the redirect cache told about kept codes after a real one."""

from __future__ import annotations

from collections.abc import Sequence

from hoplink.imports.models import Action, ImportReport, Source, SourceLink
from hoplink.imports.service import import_links
from hoplink.redirect.cache import invalidate_link
from hoplink.runtime import Runtime
from hoplink.safety.policy import policy_from_settings
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
    settings = runtime.settings

    async def attempt() -> ImportReport:
        async with runtime.db.transaction() as tx:
            report = await import_links(
                tx,
                workspace=workspace,
                source=source,
                links=links,
                actor=actor,
                code_length=settings.code_length,
                short_url=runtime.short_url,
                require_verified=settings.require_verified_workspace,
                policy=policy_from_settings(settings),
                dry_run=dry_run,
            )
            if dry_run:
                raise _DryRun(report)  # everything written above is rolled back
            return report

    try:
        report = await attempt()
    except _DryRun as done:
        return done.report
    for row in report.rows:
        # A kept (guessable) code may have a cached "not found" on this node.
        if row.action is Action.KEEP_CODE and row.new_short_url and row.new_code:
            host = row.new_short_url.split("://", 1)[-1].split("/", 1)[0]
            invalidate_link(runtime, host, row.new_code)
    return report
