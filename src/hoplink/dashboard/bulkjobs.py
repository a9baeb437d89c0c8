"""Bulk creation jobs: a background task per upload, in chunks of 1,000 through
``create_links``, each chunk its own transaction, with progress for the page to poll.

Jobs live in this web process's memory (an hour after they finish, at most
``max_jobs``): behind a load balancer, a job's page must reach the node that runs it
(sticky sessions), which docs/dashboard.md says. Rows already committed stay committed if
the process stops mid-job; the result CSV lists every created link with its line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from hoplink.dashboard.bulkcsv import Row, split_tags
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput
from hoplink.links.models import Campaign, Link
from hoplink.links.service import LinkSpec, create_links
from hoplink.links.urls import UTM_FIELDS
from hoplink.ratelimit import charge, parse_limit
from hoplink.runtime import Runtime
from hoplink.safety.policy import policy_from_settings
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.quotas import QuotaExceeded, quota_from_settings

log = logging.getLogger("hoplink.dashboard")

CHUNK = 1000


@dataclass(slots=True)
class RowResult:
    line: int
    url: str
    link: Link | None = None
    short_url: str | None = None
    errors: list[FieldError] = field(default_factory=list)


@dataclass(slots=True)
class BulkJob:
    id: str
    workspace_id: str
    total: int
    results: list[RowResult] = field(default_factory=list)
    state: str = "running"  # running | done | failed
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def created(self) -> int:
        return sum(1 for r in self.results if r.link is not None)

    @property
    def failed(self) -> int:
        return self.done - self.created

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
        job = self.jobs.get(job_id)
        return job if job is not None and job.workspace_id == workspace_id else None

    def recent(self, workspace_id: str) -> list[BulkJob]:
        return [j for j in reversed(self.jobs.values()) if j.workspace_id == workspace_id][:10]

    def _forget_old(self) -> None:
        now = time.time()
        for job_id, job in list(self.jobs.items()):
            old = job.finished is not None and now - job.finished > self.keep_seconds
            if old or (len(self.jobs) > self.max_jobs and job.finished is not None):
                del self.jobs[job_id]

    def start(
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
        self.jobs[job.id] = job
        task = asyncio.get_running_loop().create_task(
            self._run(job, runtime, workspace, actor, rows, ip), name=f"bulk-{job.id}"
        )
        self.tasks[job.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job.id, None))
        return job

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
                            code_length=runtime.settings.code_length,
                            require_verified=runtime.settings.require_verified_workspace,
                            policy=policy_from_settings(runtime.settings),
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
                await asyncio.sleep(0)
            job.state = "done"
        except asyncio.CancelledError:
            job.state = "failed"
            raise
        except Exception:
            log.exception("bulk job %s failed after %d rows", job.id, job.done)
            job.state = "failed"
        finally:
            job.finished = time.time()

    @staticmethod
    def _result(runtime: Runtime, row: Row, result: object) -> RowResult:
        url = row.values.get("url", "")
        if isinstance(result, Link):
            short = runtime.short_url(result.domain, result.code)
            return RowResult(line=row.line, url=url, link=result, short_url=short)
        assert isinstance(result, InvalidInput)
        return RowResult(line=row.line, url=url, errors=list(result.errors))

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
