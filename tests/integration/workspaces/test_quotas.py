"""Creation quotas on real SQLite and PostgreSQL, each test rolled back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from factories import domain, workspace
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.tx import Tx
from hoplink.workspaces.quotas import (
    QuotaDefaults,
    QuotaExceeded,
    quota_usage,
    set_quota,
)

URL = "https://shop.example.com/item/1"


async def _create(tx: Tx, ws, dom, n: int, quota: QuotaDefaults, url: str = URL):  # type: ignore[no-untyped-def]
    return await service.create_links(
        tx,
        workspace=ws,
        domain=dom,
        specs=[LinkSpec(url=url)] * n,
        actor="t",
        rules=LinkRules(),
        quota=quota,
    )


async def test_day_and_month_quotas_count_created_and_deleted_links_only(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    other = await workspace(tx, "Other")
    quota = QuotaDefaults(per_day=5, per_month=7)
    made = await _create(tx, ws, dom, 3, quota)
    # Refused items do not count: three bad and one good use one.
    mixed = await service.create_links(
        tx,
        workspace=ws,
        domain=dom,
        specs=[LinkSpec(url="ftp://x.example/")] * 3 + [LinkSpec(url=URL)],
        actor="t",
        rules=LinkRules(),
        quota=quota,
    )
    assert sum(1 for r in mixed if not isinstance(r, Exception)) == 1
    # Deleting does not give the quota back.
    await service.delete_link(tx, workspace=ws, link_id=made[0].id)  # type: ignore[union-attr]
    with pytest.raises(QuotaExceeded) as exc:
        await _create(tx, ws, dom, 2, quota)  # 4 + 2 > 5 a day
    assert exc.value.period == "day" and exc.value.used == 4 and exc.value.limit == 5
    assert exc.value.code == "quota_exceeded" and exc.value.status == 429
    assert exc.value.resets_at.hour == 0 and exc.value.retry_after <= 86_401
    await _create(tx, ws, dom, 1, quota)  # exactly fits
    # Another workspace has its own count.
    await _create(tx, other, dom, 5, quota)
    # The operator's own quota for the workspace wins over the defaults; month applies too.
    await set_quota(tx, workspace=ws, per_day=100, per_month=None)
    ws = await tx.workspaces.get(ws.id)
    await _create(tx, ws, dom, 2, quota)  # 7 this month
    with pytest.raises(QuotaExceeded) as exc:
        await _create(tx, ws, dom, 1, quota)
    assert exc.value.period == "month"
    usage = await quota_usage(tx, workspace=ws, defaults=quota, now=datetime.now(UTC))
    assert (usage.used_today, usage.per_day, usage.used_this_month, usage.per_month) == (
        7,
        100,
        7,
        7,
    )
    assert usage.left == 0 and usage.month_resets_at.day == 1
