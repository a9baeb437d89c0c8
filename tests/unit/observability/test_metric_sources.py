"""What /metrics reads: route classes of requests, and the journal's backlog on disk."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hoplink.clicks.models import Click
from hoplink.ingest.backlog import journal_backlog
from hoplink.ingest.journal import ClickJournal
from hoplink.observability.metrics import REGISTRY, RequestRecorder


def click(n: int, ts: float) -> Click:
    return Click(
        click_id=f"{n:032x}",
        ts=ts,
        link_id="lnk_1",
        workspace_id="ws_1",
        domain="hop.test",
        method="GET",
        user_agent="Mozilla/5.0 test",
        referrer="",
        accept_language="en-US",
        country="DE",
        visitor_hash="ab" * 16,
    )


def _count(route: str, status: str) -> float:
    found = samples(generate_latest(REGISTRY).decode())
    return total(found, "hoplink_http_requests_total", route=route, status=status)


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(
    found: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str
) -> float:
    want = set(labels.items())
    return sum(v for k, v in found.get(name, {}).items() if want <= set(k))


def test_latency_histogram_buckets_are_cumulative() -> None:
    recorder = RequestRecorder()
    before = samples(generate_latest(REGISTRY).decode())
    for seconds in (0.0004, 0.0005, 0.003, 20.0):
        recorder.record("api", "/api/v1/links", 200, seconds)
    after = samples(generate_latest(REGISTRY).decode())
    name = "hoplink_http_request_duration_seconds_bucket"

    def delta(le: str) -> float:
        return total(after, name, route="api", status="2xx", le=le) - total(
            before, name, route="api", status="2xx", le=le
        )

    assert delta("0.0005") == 2  # le is inclusive
    assert delta("0.001") == 2
    assert delta("0.005") == 3
    assert delta("10.0") == 3
    assert delta("+Inf") == 4
    got = total(after, "hoplink_http_request_duration_seconds_sum", route="api", status="2xx")
    was = total(before, "hoplink_http_request_duration_seconds_sum", route="api", status="2xx")
    assert got - was == pytest.approx(20.0039)


def test_recorder_classes() -> None:
    recorder = RequestRecorder()
    cases = [
        ("redirect", "/AbC1234", 302, ("redirect", "3xx")),
        ("redirect", "/AbC1234", 404, ("redirect", "4xx")),  # an unknown code: a lookup
        ("redirect", "/wp-login.php", 404, ("other", "4xx")),  # cannot be a code
        ("redirect", "/a/b", 404, ("other", "4xx")),
        ("api", "/api/v1/links", 201, ("api", "2xx")),
        ("dashboard", "/app/", 500, ("dashboard", "5xx")),
        ("health", "/readyz", 503, ("health", "5xx")),
        ("api", "/api/v1/x", 101, ("api", "5xx")),  # no final status: counted as a failure
    ]
    for route, path, status, (want_route, want_status) in cases:
        before = _count(want_route, want_status)
        recorder.record(route, path, status, 0.001)
        assert _count(want_route, want_status) == before + 1, (route, path, status)


def test_empty_or_missing_journal_has_no_backlog(tmp_path: Path) -> None:
    assert journal_backlog(tmp_path / "nope").bytes == 0
    assert journal_backlog(tmp_path) == journal_backlog(tmp_path / "nope")


async def test_backlog_follows_the_consumer_offset(tmp_path: Path) -> None:
    writer = ClickJournal(tmp_path)
    reader = ClickJournal(tmp_path, write=False)
    try:
        now = time.time()
        for n in range(4):
            writer.put(click(n, now - 30 + n))
        full = journal_backlog(tmp_path)
        assert full.bytes > 0 and full.oldest_ts == now - 30
        clicks, token = await reader.read(2, timeout=0)
        assert len(clicks) == 2
        assert journal_backlog(tmp_path) == full  # read but not acknowledged: still waiting
        await reader.ack(token)
        half = journal_backlog(tmp_path)
        assert 0 < half.bytes < full.bytes and half.oldest_ts == now - 28
        clicks, token = await reader.read(10, timeout=0)
        await reader.ack(token)
        assert journal_backlog(tmp_path).bytes == 0
        assert journal_backlog(tmp_path).oldest_ts is None
    finally:
        await writer.close()
        await reader.close()
        await asyncio.sleep(0)
