"""Values of an import: what a source holds, and what happened to each row."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Source(StrEnum):
    CSV = "csv"  # generic CSV
    BITLY = "bitly"  # Bitly's CSV export of links
    SHLINK = "shlink"  # Shlink's CSV export (web client)
    YOURLS = "yourls"  # a MySQL/MariaDB dump of YOURLS' yourls_url table
    KUTT = "kutt"  # Kutt's API v2


class Action(StrEnum):
    CREATE = "create"  # a new link with a new code
    KEEP_CODE = "keep_code"  # a new link with its old code, on the workspace's own domain
    UNCHANGED = "unchanged"  # imported by an earlier run; nothing to do
    DUPLICATE = "duplicate"  # the same old short URL appears earlier in the source
    CODE_TAKEN = "code_taken"  # the old code is taken on that domain
    REFUSED = "refused"  # invalid, or the destination policy refuses the URL


@dataclass(frozen=True, slots=True)
class SourceLink:
    """One link of a source. ``row`` counts from 1 (the header of a CSV is not a row)."""

    row: int
    url: str
    code: str | None = None
    domain: str | None = None  # the old short domain, ASCII (IDNA), lower case
    title: str | None = None
    tags: tuple[str, ...] = ()
    clicks: int = 0
    problem: str | None = None  # why the row could not be read

    @property
    def key(self) -> str:
        """What identifies the row across runs: its old short URL, else its URL."""
        if self.code:
            return f"{self.domain or ''}/{self.code}"[:500]
        return f"url:{self.url}"[:500]

    @property
    def old_short_url(self) -> str | None:
        if not self.code:
            return None
        return f"https://{self.domain}/{self.code}" if self.domain else self.code


@dataclass(frozen=True, slots=True)
class RowOutcome:
    row: int
    action: Action
    old_short_url: str | None
    old_code: str | None
    new_short_url: str | None = None
    new_code: str | None = None
    imported_clicks: int = 0
    reason: str | None = None
    reason_code: str | None = None  # the refusal's stable code, for readers of other languages


@dataclass(slots=True)
class ImportReport:
    source: Source
    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {action.value: 0 for action in Action}
        for r in self.rows:
            out[r.action.value] += 1
        return {"rows": len(self.rows), **out}
