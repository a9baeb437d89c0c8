"""Importing links: one plan for every source, applied through the link service.

Each row becomes one outcome (``Action``). Rows whose old short domain is one of the
workspace's own short domains go on it and keep their code (old printed QR codes keep
working); every other row gets a new code on the domain a link created alone would get
(the workspace's default custom domain, else the platform's), and the mapping says which. A row an
earlier run imported is ``unchanged``, so running the same import twice changes nothing.
The caller owns the transaction: a dry run is the same call in a transaction the caller
rolls back, so its counts are exactly those of the real run.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence

from hoplink.csvformula import neutralise_text
from hoplink.domains import domain_for
from hoplink.errors import CodeTaken, InvalidInput
from hoplink.ids import new_id, utcnow
from hoplink.imports.models import Action, ImportReport, RowOutcome, Source, SourceLink
from hoplink.links import service
from hoplink.links.models import Link, ShortDomain
from hoplink.links.spec import LinkRules
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.service import check_can_create_links

BATCH = 1000
_TITLE_MAX = 300


def _reason(exc: InvalidInput) -> str:
    return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in exc.errors)


async def import_links(
    tx: Tx,
    *,
    workspace: Workspace,
    source: Source,
    links: Sequence[SourceLink],
    actor: str | None,
    rules: LinkRules,
    short_url: Callable[[str, str], str],
    dry_run: bool = False,
) -> ImportReport:
    """Import ``links``; the report has one outcome per row, in row order."""
    check_can_create_links(workspace, require_verified=rules.require_verified)
    outcomes: dict[int, RowOutcome] = {}
    seen: set[str] = set()
    todo: list[SourceLink] = []
    for link in links:
        if link.problem:
            outcomes[link.row] = _outcome(
                link, Action.REFUSED, reason=link.problem, reason_code="invalid"
            )
        elif _has_control(link.code) or _has_control(link.domain):
            outcomes[link.row] = _outcome(
                link,
                Action.REFUSED,
                reason="code: must not contain control characters",
                reason_code="control_character",
            )
        elif link.key in seen:
            outcomes[link.row] = _outcome(
                link, Action.DUPLICATE, reason="the same short URL appears in an earlier row"
            )
        else:
            seen.add(link.key)
            todo.append(link)
    earlier = await tx.imports(workspace.id).imported(source.value, [x.key for x in todo])
    own = {d.hostname: d for d in await tx.short_domains.usable_by(workspace.id)}
    own = {host: d for host, d in own.items() if d.workspace_id == workspace.id}
    # Where a link created alone would go: the workspace's default custom domain, else the
    # platform's; a row naming one of the workspace's own domains goes there instead.
    default = await domain_for(tx, workspace, None)
    groups: dict[tuple[str, bool], tuple[ShortDomain, list[SourceLink]]] = {}
    for link in todo:
        if link.key in earlier:
            code, host = earlier[link.key]
            outcomes[link.row] = _outcome(
                link, Action.UNCHANGED, new_code=code, new_short_url=short_url(host, code)
            )
            continue
        domain = own.get(link.domain or "", default)
        keep = link.code is not None and link.domain in own
        groups.setdefault((domain.id, keep), (domain, []))[1].append(link)

    now = utcnow()
    for (_, keep), (domain, rows) in groups.items():
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            specs = [
                service.LinkSpec(
                    url=x.url,
                    title=x.title[:_TITLE_MAX] if x.title else None,
                    tags=x.tags,
                    code=x.code if keep else None,
                )
                for x in batch
            ]
            results = await service.create_links(
                tx,
                workspace=workspace,
                domain=domain,
                specs=specs,
                actor=actor,
                rules=rules,
            )
            records = []
            for x, result in zip(batch, results, strict=True):
                outcomes[x.row] = _result(x, result, keep, short_url)
                if isinstance(result, Link):
                    records.append(
                        {
                            "id": new_id("imp"),
                            "link_id": result.id,
                            "source": source.value,
                            "source_key": x.key,
                            "old_short_url": x.old_short_url,
                            "imported_clicks": max(x.clicks, 0),
                            "imported_at": now,
                        }
                    )
            await tx.imports(workspace.id).record(records)
    return ImportReport(
        source=source, dry_run=dry_run, rows=[outcomes[k] for k in sorted(outcomes)]
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_control(value: str | None) -> bool:
    return value is not None and _CONTROL.search(value) is not None


def _outcome(link: SourceLink, action: Action, **kw: object) -> RowOutcome:
    return RowOutcome(
        row=link.row,
        action=action,
        old_short_url=link.old_short_url,
        old_code=link.code,
        imported_clicks=max(link.clicks, 0),
        **kw,  # type: ignore[arg-type]
    )


def _result(
    link: SourceLink,
    result: Link | InvalidInput,
    keep: bool,
    short_url: Callable[[str, str], str],
) -> RowOutcome:
    if isinstance(result, CodeTaken):
        return _outcome(
            link,
            Action.CODE_TAKEN,
            reason=f"'{link.code}' is already taken",
            reason_code="code_taken",
        )
    if isinstance(result, InvalidInput):
        return _outcome(
            link, Action.REFUSED, reason=_reason(result), reason_code=result.errors[0].code
        )
    return _outcome(
        link,
        Action.KEEP_CODE if keep else Action.CREATE,
        new_code=result.code,
        new_short_url=short_url(result.domain, result.code),
    )


MAPPING_COLUMNS = (
    "row",
    "action",
    "old_short_url",
    "old_code",
    "new_short_url",
    "new_code",
    "imported_clicks",
    "reason",
)


def mapping_csv(report: ImportReport) -> str:
    """Old → new short URLs, one line per row of the source, with what happened to it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAPPING_COLUMNS)
    for r in report.rows:
        writer.writerow(
            [
                r.row,
                r.action.value,
                neutralise_text(r.old_short_url),
                neutralise_text(r.old_code),
                r.new_short_url or "",
                r.new_code or "",
                r.imported_clicks,
                neutralise_text(r.reason),
            ]
        )
    return out.getvalue()
