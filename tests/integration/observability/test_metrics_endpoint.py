"""/metrics: Prometheus exposition of requests, the redirect cache, the click queue and the
worker, parsed with prometheus_client's own parser; guarded by a setting and a token."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from obs_support import Running, running, samples, total
from prometheus_client.parser import text_string_to_metric_families

from dbs import REDIS_URL as SHARED_REDIS
from hoplink.ingest.steps import DropReason
from private_redis import key_prefix

FAMILIES = {
    "hoplink_http_requests",
    "hoplink_http_request_duration_seconds",
    "hoplink_redirect_cache_hits",
    "hoplink_redirect_cache_misses",
    "hoplink_redirect_cache_entries",
    "hoplink_redirect_clicks_lost",
    "hoplink_redirect_lookups_failed",
    "hoplink_redirect_misses_refused",
    "hoplink_redirect_ad_click_ids_dropped",
    "hoplink_circuit_breaker_failures",
    "hoplink_click_queue_backlog_bytes",
    "hoplink_click_consumer_lag_seconds",
    "hoplink_worker_clicks_dropped",
    "hoplink_worker_clicks_flagged",
    "hoplink_worker_written",
    "hoplink_worker_batch_duration_seconds",
    "process_resident_memory_bytes",
}


async def _traffic(app: Running, code: str) -> None:
    """Two redirects of one link, an unknown code, a scanner's path, API and dashboard."""
    for _ in range(2):
        assert (await app.http.get(f"/{code}")).status_code == 302
    assert (await app.http.get("/NoSuchCode1")).status_code == 404
    assert (await app.http.get("/wp-login.php")).status_code == 404
    assert (await app.http.get("/api/v1/links", headers=await app.api_headers())).status_code == 200
    assert (await app.http.get("/api/v1/links")).status_code == 401
    assert (await app.http.get("/app/signin")).status_code == 200
    assert (await app.http.get("/healthz")).status_code == 200


async def test_exposition_parses_and_counts_the_traffic(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data") as app:
        link = await app.link()
        before = await app.scrape()
        await _traffic(app, link.code)
        response = await app.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        families = {f.name for f in text_string_to_metric_families(response.text)}
        assert families >= FAMILIES, FAMILIES - families
        after = samples(response.text)

        def delta(name: str, **labels: str) -> float:
            return total(after, name, **labels) - total(before, name, **labels)

        requests = "hoplink_http_requests_total"
        assert delta(requests, route="redirect", status="3xx") == 2
        assert delta(requests, route="redirect", status="4xx") == 1  # NoSuchCode1
        assert delta(requests, route="other", status="4xx") == 1  # /wp-login.php
        assert delta(requests, route="api", status="2xx") == 1
        assert delta(requests, route="api", status="4xx") == 1
        assert delta(requests, route="dashboard", status="2xx") == 1
        assert delta(requests, route="health", status="2xx") >= 2  # /healthz, the first scrape
        seconds = "hoplink_http_request_duration_seconds_count"
        assert delta(seconds, route="redirect", status="3xx") == 2
        assert (
            delta("hoplink_http_request_duration_seconds_bucket", route="redirect", le="+Inf") == 3
        )
        # The first redirect loaded the link, the second was answered from the cache.
        assert delta("hoplink_redirect_cache_hits_total") == 1
        assert delta("hoplink_redirect_cache_misses_total") == 2  # the link, NoSuchCode1
        assert total(after, "hoplink_redirect_cache_entries") >= 2
        assert delta("hoplink_redirect_clicks_lost_total") == 0
        # No worker here: both clicks wait in the journal.
        assert total(after, "hoplink_click_queue_backlog_bytes", queue="journal") > 0
        lag = total(after, "hoplink_click_consumer_lag_seconds", queue="journal")
        assert 0 < lag < 60
        reasons = {dict(k)["reason"] for k in after["hoplink_worker_clicks_dropped_total"]}
        assert reasons == {r.value for r in DropReason}


async def test_worker_metrics_after_the_clicks_are_written(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data", worker=True, worker_flush_interval=0.05) as app:
        link = await app.link()
        before = await app.scrape()
        for _ in range(3):
            assert (await app.http.get(f"/{link.code}")).status_code == 302
        deadline = time.monotonic() + 20
        while True:
            after = await app.scrape()
            written = total(after, "hoplink_worker_written_total") - total(
                before, "hoplink_worker_written_total"
            )
            acknowledged = total(after, "hoplink_click_queue_backlog_bytes", queue="journal") == 0
            if (written >= 3 and acknowledged) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert written == 3
        batches = total(after, "hoplink_worker_batch_duration_seconds_count") - total(
            before, "hoplink_worker_batch_duration_seconds_count"
        )
        assert batches >= 1
        assert total(after, "hoplink_worker_batches_total") >= batches
        assert total(after, "hoplink_worker_last_commit_timestamp_seconds") > time.time() - 60
        # Everything acknowledged (just after the commit): the journal's backlog is empty.
        assert total(after, "hoplink_click_queue_backlog_bytes", queue="journal") == 0
        assert total(after, "hoplink_click_consumer_lag_seconds", queue="journal") == 0


async def test_token_guard(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data", metrics_token="s3cret-scrape-token") as app:
        denied = await app.http.get("/metrics")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Bearer")
        assert "hoplink_" not in denied.text
        wrong = await app.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await app.http.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        assert ok.status_code == 200 and "hoplink_http_requests_total" in ok.text


async def test_openmetrics_when_asked(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data") as app:
        r = await app.http.get("/metrics", headers={"Accept": "application/openmetrics-text"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/openmetrics-text")
        assert r.text.endswith("# EOF\n")


async def test_disabled_metrics_are_a_404(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data", metrics_enabled=False) as app:
        link = await app.link()
        assert (await app.http.get("/metrics")).status_code == 404
        assert (await app.http.get(f"/{link.code}")).status_code == 302  # untimed path works
        assert (await app.http.get("/healthz")).status_code == 200


async def test_redis_click_stream_depth_and_lag(pg_database: str, tmp_path: Path) -> None:
    """Production mode, no worker running: the web node reports the stream's backlog."""
    with key_prefix() as prefix:
        async with running(
            pg_database, tmp_path / "data", redis_url=SHARED_REDIS, redis_key_prefix=prefix
        ) as app:
            link = await app.link()
            before = await app.scrape()
            for _ in range(3):
                assert (await app.http.get(f"/{link.code}")).status_code == 302
            await asyncio.sleep(0.02)
            after = await app.scrape()
            assert total(after, "hoplink_click_queue_reachable", queue="redis") == 1
            assert total(after, "hoplink_click_queue_depth", queue="redis") == 3
            assert total(after, "hoplink_click_queue_pending", queue="redis") == 0
            assert 0 < total(after, "hoplink_click_consumer_lag_seconds", queue="redis") < 60
            added = total(after, "hoplink_click_sink_added_total") - total(
                before, "hoplink_click_sink_added_total"
            )
            assert added == 3
            assert total(after, "hoplink_click_sink_degraded") == 0
            # The Redis tier of link lookups and the breakers in front of each store.
            assert "hoplink_redis_link_cache_hits_total" in after
            assert "hoplink_link_invalidation_published_total" in after
            breakers = {dict(k)["breaker"] for k in after["hoplink_circuit_breaker_open"]}
            assert breakers == {"database", "redis link cache"}
            assert total(after, "hoplink_circuit_breaker_open") == 0
