"""Fixtures of the security battery: two fully stocked tenants on the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from security.tenants import World, make_tenant, running_dashboard, start_bulk_job


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    # The fetcher may reach 127.0.0.1 (only): the webhook form's valid URL (routes.FORMS)
    # is a loopback receiver, as no public name resolves here.
    async with running_dashboard(
        db_url,
        tmp_path / "data",
        outbound_allow_private="127.0.0.1",
        # The integrations' test event goes nowhere real (a closed loopback port).
        ga4_base_url="http://127.0.0.1:9",
        meta_base_url="http://127.0.0.1:9",
        tiktok_base_url="http://127.0.0.1:9",
    ) as dash:
        a = await make_tenant(dash, "a")
        b = await make_tenant(dash, "b")
        await start_bulk_job(dash, a)
        await start_bulk_job(dash, b)
        yield World(dash=dash, a=a, b=b)
