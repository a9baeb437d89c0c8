"""Change events: what a service changed, handed on only once its transaction commits.

Services never call side effects (cache invalidation, pub/sub, later webhooks and health
checks) themselves: they record a typed event on the transaction they were given,
``tx.record(LinkChanged(...))``. The database layer (``Database.transaction``,
storage/database.py) hands the recorded events to listeners registered once at start-up
(runtime.py), at two moments:

- **before commit**, on the same connection: ``db.listeners.before_commit(listener)``, an
  ``async def listener(tx, events)``. What it writes commits or rolls back together with
  the change, and an error it raises rolls the whole transaction back (the caller sees the
  error). This is the place for work that must never be lost or sent for a change that did
  not happen, e.g. rows of a webhook outbox that a worker delivers later.
- **after a successful commit** only: ``db.listeners.after_commit(listener)``, a plain
  ``def listener(events)``. It must be quick and must not touch the database; an error it
  raises is logged, not raised (the change is committed and the caller's answer stands).
  The redirect cache and its Redis pub/sub listen here
  (``hoplink.redirect.invalidation.InvalidateOnCommit``).

A transaction that rolls back (an exception leaves its block) drops its events, and so does
a savepoint that rolls back (``tx.savepoint()``) for the events recorded inside it. A ``Tx``
on a connection someone else owns (``tx_on``: tests, migrations) keeps its events in
``tx.events`` and hands them to nobody.

Events are values of this module only: no HTTP, no SQL, so any layer may record or read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LinkChange = Literal["created", "updated", "deleted", "banned", "unbanned"]
WorkspaceChange = Literal["status", "erased", "click_id", "fallback_url"]


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """A link was created, edited (archived too), deleted, banned or unbanned."""

    workspace_id: str
    link_id: str
    host: str  # the short-link host it lives on
    code: str
    change: LinkChange


@dataclass(frozen=True, slots=True)
class WorkspaceChanged:
    """A workspace's status changed (verified, suspended, reinstated), its click-id settings
    or its fallback URL (shown by the visitor page of its disabled links) changed, or it was
    erased: every link of it may now answer differently."""

    workspace_id: str
    change: WorkspaceChange


@dataclass(frozen=True, slots=True)
class ShortDomainChanged:
    """A short-link host was added, made the default, or removed (with an erased workspace):
    the set of known hosts, and any link on it, may now answer differently."""

    hostname: str | None  # None: not known one by one (an erased workspace's hosts)


Event = LinkChanged | WorkspaceChanged | ShortDomainChanged
