"""Bulk creation jobs: a background task per upload, in chunks of 1,000 through
``create_links``, each chunk its own transaction, with progress for the page to poll.

A job and its results are written to the ``bulk_jobs`` table after every chunk, so the
job's page, its progress and its results CSV answer from any web node and after a
restart. Results are kept 24 hours after the job ends, and an hour after their first
download (enough for a second try, no longer than needed). A job whose process stopped
mid-way is shown as stopped once it has not moved for ``STALE``; rows already committed
stay committed, and the results list every row processed until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from hoplink.dashboard.bulkcsv import Row, split_tags
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput
from hoplink.ids import utcnow
from hoplink.links.models import Campaign, Link
from hoplink.links.service import LinkSpec, create_links
from hoplink.links.urls import UTM_FIELDS
from hoplink.ratelimit import charge, parse_limit
from hoplink.runtime import Runtime
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.quotas import QuotaExceeded, quota_from_settings

log = logging.getLogger("hoplink.dashboard")

CHUNK = 1000
KEEP = timedelta(hours=24)  # results after the job ends
KEEP_AFTER_DOWNLOAD = timedelta(hours=1)
STALE = timedelta(minutes=5)  # a running job not saved for this long has stopped


@dataclass(slots=True)
class RowResult:
    line: int
    url: str
    link_id: str | None = None
    short_url: str | None = None
    final_url: str | None = None
    errors: list[FieldError] = field(default_factory=list)

    def out(self) -> list[Any]:
        errors = [[e.field, e.code, e.message] for e in self.errors]
        return [self.line, self.url, self.link_id, self.short_url, self.final_url, errors]

    @classmethod
    def of(cls, value: list[Any]) -> RowResult:
        line, url, link_id, short_url, final_url, errors = value
        return cls(line, url, link_id, short_url, final_url, [FieldError(*e) for e in errors])


@dataclass(slots=True)
class BulkJob:
    id: str
    workspace_id: str
    total: int
    results: list[RowResult] = field(default_factory=list)
    state: str = "running"  # running | done | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None
    counts: tuple[int, int] | None = None  # (created, failed) as saved, for a summary row

    @property
    def done(self) -> int:
        return self.created + self.failed

    @property
    def created(self) -> int:
        if self.counts is not None and not self.results:
            return self.counts[0]
        return sum(1 for r in self.results if r.link_id is not None)

    @property
    def failed(self) -> int:
        if self.counts is not None and not self.results:
            return self.counts[1]
        return sum(1 for r in self.results if r.link_id is None)

    @classmethod
    def of_row(cls, row: Any, now: datetime) -> BulkJob:
        results = (
            [RowResult.of(r) for r in orjson.loads(row.results)] if "results" in row._fields else []
        )
        state = row.state
        if state == "running" and now - row.updated_at > STALE:
            state = "failed"  # the process that ran it stopped
        job = cls(
            id=row.id,
            workspace_id=row.workspace_id,
            total=row.total,
            results=results,
            state=state,
            started=row.started_at.timestamp(),
            finished=row.finished_at.timestamp() if row.finished_at else None,
        )
        job.counts = (row.created, row.failed)
        return job

    def progress(self) -> dict[str, object]:
        return {
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "created": self.created,
            "failed": self.failed,
        }


def _resolve_campaign(value: str, campaigns: list[Campaign]) -> str | FieldError | None:
    value = value.strip()
    if not value:
        return None
    for campaign in campaigns:
        if value in (campaign.id, campaign.name):
            return campaign.id
    return FieldError("campaign", "unknown_campaign", f"no campaign named {value!r} here")


def row_spec(row: Row, campaigns: list[Campaign]) -> LinkSpec | InvalidInput:
    v = row.values
    campaign = _resolve_campaign(v.get("campaign", ""), campaigns)
    if isinstance(campaign, FieldError):
        return InvalidInput(campaign)
    return LinkSpec(
        url=v["url"],
        utm={name: v.get(name, "") for name in UTM_FIELDS},
        channel=v.get("channel", "").strip() or None,
        campaign_id=campaign,
        tags=split_tags(v.get("tags", "")),
        title=v.get("title", "") or None,
        notes=v.get("notes", "") or None,
        code=v.get("code", "").strip() or None,
    )


class BulkJobs:
    def __init__(
        self, *, keep_seconds: float = 3600, max_jobs: int = 100, max_running: int = 4
    ) -> None:
        self.keep_seconds = keep_seconds
        self.max_jobs = max_jobs
        self.max_running = max_running
        self.jobs: OrderedDict[str, BulkJob] = OrderedDict()
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def busy(self) -> bool:
        return len(self.tasks) >= self.max_running

    def get(self, job_id: str, workspace_id: str) -> BulkJob | None:
        """A job this process runs or ran lately (from memory)."""
        job = self.jobs.get(job_id)
        return job if job is not None and job.workspace_id == workspace_id else None

    async def load(
        self, runtime: Runtime, job_id: str, workspace_id: str, *, with_results: bool = True
    ) -> BulkJob | None:
        """A job of the workspace: the running one in memory, else as last saved."""
        if job_id in self.tasks:
            return self.get(job_id, workspace_id)
        now = utcnow()
        async with runtime.db.transaction(write=False) as tx:
            row = await tx.bulk_jobs(workspace_id).get(
                job_id[:64], now=now, with_results=with_results
            )
        return None if row is None else BulkJob.of_row(row, now)

    async def recent(self, runtime: Runtime, workspace_id: str) -> list[BulkJob]:
        now = utcnow()
        async with runtime.db.transaction(write=False) as tx:
            rows = await tx.bulk_jobs(workspace_id).recent(now=now)
        return [BulkJob.of_row(row, now) for row in rows]

    async def downloaded(self, runtime: Runtime, job: BulkJob) -> None:
        now = utcnow()
        async with runtime.db.transaction() as tx:
            await tx.bulk_jobs(job.workspace_id).downloaded(
                job.id, at=now, expires_at=now + KEEP_AFTER_DOWNLOAD
            )

    def _forget_old(self) -> None:
        now = time.time()
        for job_id, job in list(self.jobs.items()):
            old = job.finished is not None and now - job.finished > self.keep_seconds
            if old or (len(self.jobs) > self.max_jobs and job.finished is not None):
                del self.jobs[job_id]

    async def start(
        self,
        *,
        runtime: Runtime,
        workspace: Workspace,
        actor: str,
        rows: list[Row],
        ip: str | None = None,
    ) -> BulkJob:
        self._forget_old()
        job = BulkJob(id=secrets.token_urlsafe(12), workspace_id=workspace.id, total=len(rows))
        now = utcnow()
        async with runtime.db.transaction() as tx:
            await tx.purge_expired_bulk_jobs(now)
            await tx.bulk_jobs(workspace.id).insert(id=job.id, total=job.total, at=now)
        self.jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(
            self._run(job, runtime, workspace, actor, rows, ip), name=f"bulk-{job.id}"
        )
        self.tasks[job.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job.id, None))
        return job

    @staticmethod
    async def _save(runtime: Runtime, job: BulkJob) -> None:
        now = utcnow()
        results = orjson.dumps([r.out() for r in job.results]).decode()
        async with runtime.db.transaction() as tx:
            await tx.bulk_jobs(job.workspace_id).save(
                job.id,
                state=job.state,
                created=job.created,
                failed=job.failed,
                results=results,
                at=now,
                expires_at=now + KEEP,
            )

    async def _run(
        self,
        job: BulkJob,
        runtime: Runtime,
        workspace: Workspace,
        actor: str,
        rows: list[Row],
        ip: str | None,
    ) -> None:
        create_ip = parse_limit("create_ip", runtime.settings.rate_limit_create_ip)
        try:
            async with runtime.db.transaction(write=False) as tx:
                campaigns = await tx.campaigns(workspace.id).all()
                domain = await domain_for(tx, workspace, None)
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                specs = [row_spec(row, campaigns) for row in chunk]
                valid = [(i, s) for i, s in enumerate(specs) if isinstance(s, LinkSpec)]
                try:
                    async with runtime.db.transaction() as tx:
                        made = await create_links(
                            tx,
                            workspace=workspace,
                            domain=domain,
                            specs=[s for _, s in valid],
                            actor=actor,
                            rules=runtime.link_rules,
                            quota=quota_from_settings(runtime.settings),
                        )
                except QuotaExceeded as exc:
                    # Another upload used the quota meanwhile: the rest is refused, each row
                    # saying why (the rows already created stay).
                    refusal = InvalidInput(FieldError("quota", exc.code, exc.message))
                    for row in rows[start:]:
                        job.results.append(self._result(runtime, row, refusal))
                    break
                refused = sum(isinstance(s, InvalidInput) for s in specs) + sum(
                    isinstance(r, InvalidInput) for r in made
                )
                await charge(runtime.rate_limiter, create_ip, ip, refused)
                outcome: dict[int, Link | InvalidInput] = {
                    i: r for (i, _), r in zip(valid, made, strict=True)
                }
                for i, row in enumerate(chunk):
                    result = outcome.get(i) or specs[i]
                    job.results.append(self._result(runtime, row, result))
                await self._save(runtime, job)
            job.state = "done"
        except asyncio.CancelledError:
            job.state = "failed"
            raise
        except Exception:
            log.exception("bulk job %s failed after %d rows", job.id, job.done)
            job.state = "failed"
        finally:
            # Saved before it is marked finished: whoever sees it finished finds it saved.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._save(runtime, job))
            job.finished = time.time()

    @staticmethod
    def _result(runtime: Runtime, row: Row, result: object) -> RowResult:
        url = row.values.get("url", "")
        if isinstance(result, Link):
            short = runtime.short_url(result.domain, result.code)
            return RowResult(
                line=row.line,
                url=url,
                link_id=result.id,
                short_url=short,
                final_url=result.final_url,
            )
        assert isinstance(result, InvalidInput)
        return RowResult(line=row.line, url=url, errors=list(result.errors))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
