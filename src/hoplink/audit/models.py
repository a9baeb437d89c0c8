"""An audit log entry: a value that storage/audit.py reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at: datetime
    action: str
    actor: str | None
    workspace_id: str | None
    target: str | None
    detail: dict[str, str] = field(default_factory=dict)
