"""PostgreSQL unreachable for 30 s under load (production mode, real PostgreSQL and Redis).

hoplink reaches PostgreSQL through ChaosProxy (tests/chaos.py), never the shared server
directly: the web node's proxy is cut to a blackhole (connections hang, as when packets are
dropped), the worker's is cut to resets. While it is down a load generator keeps asking for
warm codes (resolved before the outage) and cold ones (existing, never asked for):
- warm → 302 to the right destination every time (local cache, refreshed from Redis);
- cold and unknown → 503 with Retry-After, never a 404 and never a wrong Location;
- the database is not flooded with connection attempts (circuit breaker), so the 503s
  come fast;
- clicks keep flowing into the Redis Stream;
and once it is back, the worker drains the backlog and every link's click count in the
database equals the 302s the clients received for it.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis
from linkcache_nodes import Node, create_link, node, tenant
from sqlalchemy.engine import make_url
from stream_support import counted

from chaos import ChaosProxy
from clickids import without_click_id
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.storage.database import Database
from processes import hoplink, production_env

OUTAGE = 30.0
URL = "https://shop.example.com/item/1005006?sku=42"


def through(url: str, proxy: ChaosProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


@dataclass
class Answer:
    phase: str
    kind: str  # warm, cold, unknown
    code: str
    status: int
    location: str | None
    retry_after: str | None
    seconds: float


@dataclass
class Traffic:
    """Concurrent visitors of the in-process node; what they ask for depends on the phase."""

    web: Node
    warm: list[str]
    cold: list[str]
    phase: str = "before"
    answers: list[Answer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def pick(self) -> tuple[str, str]:
        roll = random.random()
        if self.phase in ("outage", "after") and roll < 0.25:
            return "cold", random.choice(self.cold)
        if self.phase == "outage" and roll < 0.3:
            return "unknown", "".join(random.choices(string.ascii_letters, k=9))
        return "warm", random.choice(self.warm)

    async def visitor(self) -> None:
        while not self.stop.is_set():
            phase = self.phase
            kind, code = self.pick()
            started = time.monotonic()
            r = await self.web.get(code)
            self.answers.append(
                Answer(
                    phase,
                    kind,
                    code,
                    r.status_code,
                    r.headers.get("location"),
                    r.headers.get("retry-after"),
                    time.monotonic() - started,
                )
            )
            await asyncio.sleep(0.01)  # ~100 requests/s per visitor: load, not a CPU hog

    def of(self, phase: str, kind: str) -> list[Answer]:
        return [a for a in self.answers if a.phase == phase and a.kind == kind]


def stream_length(prefix: str) -> int:
    client = redis.Redis.from_url(SHARED_REDIS)
    try:
        return int(client.xlen(prefix + "clicks"))
    finally:
        client.close()


async def test_postgres_unreachable_for_30_seconds_under_load(
    pg: Database, pg_database: str, prefix: str, tmp_path: Path
) -> None:
    ws, _ = await tenant(pg)
    warm = [await create_link(pg, ws, f"{URL}&w={n}") for n in range(10)]
    cold = [await create_link(pg, ws, f"{URL}&c={n}") for n in range(10)]
    by_code = {link.code: link for link in warm + cold}
    target = make_url(pg_database)
    async with (
        ChaosProxy(target.host or "127.0.0.1", target.port or 5432) as web_db,
        ChaosProxy(target.host or "127.0.0.1", target.port or 5432) as worker_db,
        node(
            through(pg_database, web_db),
            tmp_path / "web",
            redis_url=SHARED_REDIS,
            prefix=prefix,
            redirect_cache_ttl=4.0,  # local copies expire several times: Redis must serve
        ) as web,
    ):
        env = production_env(
            db_url=through(pg_database, worker_db),
            redis_url=SHARED_REDIS,
            prefix=prefix,
            data_dir=tmp_path / "worker",
            HOPLINK_DATABASE_CONNECT_TIMEOUT="1",
        )
        with hoplink(["worker"], env, tmp_path / "worker.log") as worker:
            await asyncio.to_thread(worker.wait_for, "hoplink worker running", 30)
            traffic = Traffic(web, [w.code for w in warm], [c.code for c in cold])
            for link in warm:  # warm: resolved once (into the local cache and Redis)
                r = await web.get(link.code)
                assert (
                    r.status_code == 302
                    and without_click_id(r.headers["location"]) == link.final_url
                )
                traffic.answers.append(Answer("warmup", "warm", link.code, 302, None, None, 0))
            visitors = [asyncio.create_task(traffic.visitor()) for _ in range(8)]
            await asyncio.sleep(2)

            redis_hits = web.shared.hits
            accepted = web_db.accepted
            stream_before = stream_length(prefix)
            await web_db.cut("blackhole")
            await worker_db.cut("reset")
            traffic.phase = "outage"
            await asyncio.sleep(OUTAGE - 0.5)
            traffic.phase = "quiesce"  # no cold codes across the restore itself
            await asyncio.sleep(0.5)
            outage_302s = sum(1 for a in traffic.answers if a.phase == "outage" and a.status == 302)
            stream_during = stream_length(prefix) - stream_before
            connects_during = web_db.accepted - accepted
            redis_hits_during = web.shared.hits - redis_hits
            await web_db.restore()
            await worker_db.restore()
            traffic.phase = "after"
            deadline = time.monotonic() + 30
            while {a.code for a in traffic.of("after", "cold") if a.status == 302} != set(
                traffic.cold
            ):
                assert time.monotonic() < deadline, "cold codes not served after the outage"
                await asyncio.sleep(0.2)
            traffic.stop.set()
            await asyncio.gather(*visitors)

            # Never a wrong destination, whatever the phase.
            for a in traffic.answers:
                if a.status == 302 and a.location is not None:
                    assert without_click_id(a.location) == by_code[a.code].final_url, a
            # Warm codes: always redirected, outage or not.
            warm_statuses = Counter(a.status for a in traffic.answers if a.kind == "warm")
            assert set(warm_statuses) == {302}, warm_statuses
            assert len(traffic.of("outage", "warm")) > 500
            # Cold and unknown codes during the outage: 503 + Retry-After, never 404/302.
            down = traffic.of("outage", "cold") + traffic.of("outage", "unknown")
            assert len(down) > 100
            assert {(a.status, a.retry_after) for a in down} == {(503, "5")}
            # Fail fast: a handful of connection attempts for thousands of misses, so
            # the 503s are quick (the first ones waited for the connect timeout).
            assert connects_during <= 20, connects_during
            assert statistics.median(a.seconds for a in down) < 0.05
            # The breaker answered misses without trying (how many depends on how many join
            # an in-flight trial lookup instead, i.e. on the machine's load).
            assert web.app.redirect.resolver.db_breaker.rejected > 0
            # Local copies expired during the outage and came back from Redis.
            assert redis_hits_during >= len(warm)
            # Clicks kept flowing into the stream while PostgreSQL was down.
            assert stream_during >= outage_302s > 0

            print(  # the figures, for `pytest -s`
                f"outage {OUTAGE:.0f}s: {len(traffic.of('outage', 'warm'))} warm 302s,"
                f" {len(down)} cold/unknown 503s (median"
                f" {statistics.median(a.seconds for a in down) * 1000:.1f} ms), {connects_during}"
                f" connection attempts, {redis_hits_during} Redis-tier hits,"
                f" {stream_during} clicks into the stream"
            )
            # Once it is back, the worker drains the backlog: counts equal the 302s.
            redirects = Counter(a.code for a in traffic.answers if a.status == 302)
            deadline = time.monotonic() + 60
            for code, expected in redirects.items():
                link = by_code[code]
                while await counted(pg, link.id) != (expected, expected, expected):
                    assert time.monotonic() < deadline, (code, expected, await counted(pg, link.id))
                    await asyncio.sleep(0.2)
            for link in cold + warm:
                assert (await counted(pg, link.id))[0] == redirects[link.code]
