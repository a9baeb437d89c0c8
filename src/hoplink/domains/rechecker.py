"""The re-checker: a service of ``hoplink worker`` (and of the embedded worker) that proves
every verified domain again once per interval — custom short domains by their DNS TXT or
CNAME record, verified destination domains by their well-known file or DNS TXT record.

A DNS record can be deleted, or a domain can change hands, long after it was proven; a
check made once would keep serving it (and, for a custom short domain, issuing TLS
certificates for it) for ever. Each check's result is recorded on the domain (when, and
what it found); failures in a row form a streak, and the domain's verification lapses only
under the grace policy (hoplink.safety.grace). A custom short domain that lapses is pending
again: the record of ``ShortDomainChanged`` reloads every redirect node's map of hosts, so
the redirect edge and the TLS ask endpoint stop serving it at once.

Scheduling: a domain first met is due at a point of the interval derived from its id; each
check schedules the next an interval later, ±10 %. Several worker processes may run it: a
due domain is claimed by a conditional UPDATE (hoplink.storage.domain_checks), checked
outside any transaction, and its result written in one transaction per domain.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hoplink.delivery_loop import ServiceLoop
from hoplink.domains import service
from hoplink.domains.verification import Outcome as ShortOutcome
from hoplink.domains.verification import ShortDomainVerifier
from hoplink.ids import utcnow
from hoplink.links.models import ShortDomain
from hoplink.safety import destination_domains as destinations
from hoplink.safety.grace import Grace
from hoplink.safety.models import DestinationDomain
from hoplink.storage.database import Database
from hoplink.storage.domain_checks import DomainKind, DueCheck

if TYPE_CHECKING:
    from hoplink.config import Settings
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.domains")

Checked = tuple[DueCheck, ShortDomain | DestinationDomain, ShortOutcome | destinations.Outcome]


class DomainRechecker(ServiceLoop):
    name = "domain-rechecker"

    def __init__(
        self,
        *,
        db: Database,
        short: ShortDomainVerifier,
        destination: destinations.Verifier,
        interval: float = 12 * 3600.0,
        grace: Grace | None = None,
        batch: int = 16,
        poll_interval: float = 60.0,
        lease: float = 900.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(log=log, poll_interval=poll_interval)
        self.db = db
        self.short = short
        self.destination = destination
        self.interval = interval
        self.grace = grace or Grace()
        self.batch = batch
        self.lease = timedelta(seconds=lease)
        self.clock = clock
        self.checked = 0  # domains checked by this re-checker, for tests

    def idle(self, done: int) -> bool:
        return done < self.batch  # a full batch: more may be due at once

    def stop_timeout(self) -> float:
        return 30.0

    async def run_once(self) -> int:
        """Schedule newly verified domains, then check one batch of due ones; how many."""
        now = self.clock()
        async with self.db.transaction(write=False) as tx:
            if not await tx.domain_checks.anything_to_do(now=now):
                return 0
        async with self.db.transaction() as tx:
            await tx.domain_checks.schedule_new(now=now, interval=timedelta(seconds=self.interval))
        claimed: list[tuple[DueCheck, ShortDomain | DestinationDomain]] = []
        async with self.db.transaction() as tx:
            for due in await tx.domain_checks.due(now=now, limit=self.batch):
                if not await tx.domain_checks.claim(due, now=now, lease_until=now + self.lease):
                    continue
                if due.kind is DomainKind.SHORT:
                    found: ShortDomain | DestinationDomain | None = await tx.short_domains.get(
                        due.domain_id
                    )
                else:
                    found = await tx.destination_domains(due.workspace_id).get(due.domain_id)
                if found is not None:
                    claimed.append((due, found))
        if not claimed:
            return 0
        checked = await asyncio.gather(*(self._check(due, domain) for due, domain in claimed))
        for item in checked:
            await self._record(item)
        self.checked += len(checked)
        return len(checked)

    async def _check(self, due: DueCheck, domain: ShortDomain | DestinationDomain) -> Checked:
        if isinstance(domain, ShortDomain):
            return due, domain, await self.short.check(domain)
        return due, domain, await self.destination.check(domain)

    async def _record(self, item: Checked) -> None:
        due, domain, outcome = item
        done = self.clock()
        spread = self.interval * (0.9 + random.random() / 5)  # noqa: S311 - jitter, not a secret
        async with self.db.transaction() as tx:
            if isinstance(domain, ShortDomain) and isinstance(outcome, ShortOutcome):
                await service.record_check(
                    tx, domain=domain, outcome=outcome, actor=None, grace=self.grace, now=done
                )
            elif isinstance(domain, DestinationDomain) and isinstance(
                outcome, destinations.Outcome
            ):
                workspace = await tx.workspaces.get(domain.workspace_id)
                if workspace is None:
                    return
                current = await tx.destination_domains(workspace.id).get(domain.id)
                if current is None:
                    return
                await destinations.record_outcome(
                    tx,
                    workspace=workspace,
                    domain=current,
                    outcome=outcome,
                    actor=None,
                    grace=self.grace,
                    now=done,
                )
            await tx.domain_checks.reschedule(due, done + timedelta(seconds=spread))


def rechecker_from_settings(settings: Settings, *, db: Database) -> DomainRechecker:
    return DomainRechecker(
        db=db,
        short=ShortDomainVerifier.from_settings(settings),
        destination=destinations.Verifier.from_settings(settings),
        interval=settings.domain_recheck_hours * 3600.0,
        grace=Grace.from_settings(settings),
    )


def embedded_rechecker(runtime: Runtime) -> DomainRechecker:
    """A ``ServiceFactory``: the serving process re-checks domains beside its worker."""
    return rechecker_from_settings(runtime.settings, db=runtime.db)
