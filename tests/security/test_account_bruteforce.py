"""Brute force on reset/invitation tokens and on TOTP codes (issue 14), in production mode:
two web nodes sharing Redis share the counts, so alternating between nodes gains nothing.
(The embedded-mode limits are tested in tests/integration/dashboard/test_accounts.py.)"""

from __future__ import annotations

import re
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from redis.asyncio import Redis

from dbs import REDIS_URL as SHARED_REDIS_URL
from hoplink.accounts import recovery

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "dashboard"))
from dashboard_harness import PASSWORD, Browser, running_dashboard

PROXY = ("127.0.0.1", 50000)


async def _cleanup(prefix: str) -> None:
    client = Redis.from_url(SHARED_REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # production mode
async def test_two_nodes_share_the_token_and_code_limits(db_url: str, tmp_path: Path) -> None:
    prefix = f"hltest:{uuid.uuid4().hex}:"
    shared = {
        "redis_url": SHARED_REDIS_URL,
        "redis_key_prefix": prefix,
        "trusted_proxies": "127.0.0.1/32",
        "rate_limit_account_tokens": "6/10m",
        "rate_limit_totp": "4/5m",
    }
    try:
        async with (
            running_dashboard(db_url, tmp_path / "a", **shared) as node_a,
            running_dashboard(db_url, tmp_path / "b", **shared) as node_b,
        ):
            ws = await node_a.workspace()
            await node_a.user("guarded@example.com", ws)
            async with node_a.db.transaction() as tx:
                found = await tx.users.by_email("guarded@example.com")
                assert found is not None
                secret, _ = await recovery.issue_reset(
                    tx, user=found[0], lifetime=timedelta(minutes=30), origin="cli", actor=None
                )
            a, b = node_a.browser(PROXY), node_b.browser(PROXY)
            attacker = {"X-Forwarded-For": "203.0.113.7"}
            statuses = []
            for i in range(10):  # guesses alternate between the nodes
                node = a if i % 2 else b
                r = await node.get(f"/app/reset/{i:03d}{secret[3:]}", headers=attacker)
                statuses.append(r.status_code)
            assert statuses == [404] * 6 + [429] * 4, statuses
            for node in (a, b):  # the right token is refused on both nodes too
                r = await node.get(f"/app/reset/{secret}", headers=attacker)
                assert r.status_code == 429
            fresh = await b.get(f"/app/reset/{secret}", headers={"X-Forwarded-For": "198.51.100.9"})
            assert fresh.status_code == 200
            # Second factor: enrol on node A, then guess codes alternating nodes.
            owner = node_a.browser(PROXY)
            await owner.sign_in("guarded@example.com")
            page = await owner.get("/app/account/2fa")
            match = re.search(r'id="totp-secret"[^>]*>([^<]+)<', page.text)
            assert match
            key = match.group(1).replace(" ", "")
            assert (
                await owner.post(
                    "/app/account/2fa", {"code": pyotp.TOTP(key).now(), "password": PASSWORD}
                )
            ).status_code == 200
            steps: list[Browser] = []
            for node in (a, b):
                await node.get("/app/signin")
                r = await node.post(
                    "/app/signin", {"email": "guarded@example.com", "password": PASSWORD}
                )
                assert r.headers["location"] == "/app/signin/2fa"
                await node.get("/app/signin/2fa")
                steps.append(node)
            right = pyotp.TOTP(key).at(time.time() + 30)
            codes = []
            for i in range(8):
                guess = f"{(int(right) + 1 + i) % 1_000_000:06d}"
                r = await steps[i % 2].post("/app/signin/2fa", {"code": guess})
                codes.append(r.status_code)
            assert codes == [400] * 4 + [429] * 4, codes
            for node in steps:
                assert (await node.post("/app/signin/2fa", {"code": right})).status_code == 429
            for dash in (node_a, node_b):
                assert dash.app.runtime is not None
                assert dash.app.runtime.rate_limiter.fallbacks == 0
    finally:
        await _cleanup(prefix)
