"""The enrichment steps: what each derives, and every drop and flag reason, counted."""

from __future__ import annotations

import dataclasses

import pytest

from hoplink.clicks.enriched import DIRECT, UNKNOWN, BotReason, Event, LinkRef
from hoplink.clicks.models import Click
from hoplink.ingest.steps import (
    DropReason,
    IngestCounters,
    Pipeline,
    check_links,
    primary_language,
    referrer_host,
)
from hoplink.ingest.useragents import AgentClassifier

NOW = 1_800_000_000.0
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def click(**kw: object) -> Click:
    values: dict[str, object] = {
        "click_id": "clk_1",
        "ts": NOW - 10,
        "link_id": "lnk_a",
        "workspace_id": "ws_a",
        "domain": "hop.test",
        "method": "GET",
        "user_agent": IPHONE,
        "referrer": "https://m.facebook.com/story.php?id=123&fbclid=SECRET",
        "accept_language": "zh-CN,zh;q=0.9,en;q=0.8",
        "country": "us",
        "visitor_hash": "v1",
    }
    values.update(kw)
    return Click(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def agents() -> AgentClassifier:
    return AgentClassifier()


@pytest.fixture
def pipeline(agents: AgentClassifier) -> Pipeline:
    return Pipeline(agents=agents, retention_seconds=90 * 86400)


def test_a_human_click_is_enriched(pipeline: Pipeline) -> None:
    event = pipeline.enrich(click(), NOW)
    assert isinstance(event, Event)
    assert event.hour == int((NOW - 10) // 3600)
    assert (event.device, event.os, event.browser) == ("mobile", "iOS", "Mobile Safari")
    assert (event.referrer, event.language, event.country) == ("m.facebook.com", "zh", "US")
    assert event.human and event.bot_name is None
    assert "bot" not in dict(event.dims())


def test_head_requests_are_bots_even_with_a_browser_user_agent(pipeline: Pipeline) -> None:
    event = pipeline.enrich(click(method="HEAD"), NOW)
    assert isinstance(event, Event)
    assert event.bot is BotReason.HEAD_REQUEST and event.device == "bot"
    assert dict(event.dims())["bot"] == "HEAD request"


def test_preview_fetcher_is_flagged_not_dropped(pipeline: Pipeline) -> None:
    counters = pipeline.counters
    events = pipeline.run([click(user_agent="WhatsApp/2.23.20.0")], NOW)
    assert len(events) == 1 and events[0].bot is BotReason.LINK_PREVIEW
    assert counters.snapshot() == {"received": 1, "flagged.link_preview": 1}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"method": "POST"}, DropReason.UNSUPPORTED_METHOD),
        ({"link_id": ""}, DropReason.INVALID_IDS),
        ({"click_id": "x" * 65}, DropReason.INVALID_IDS),
        ({"ts": NOW + 2 * 86400}, DropReason.FUTURE_TIMESTAMP),
        ({"ts": NOW - 91 * 86400}, DropReason.EXPIRED),
    ],
)
def test_drop_reasons(pipeline: Pipeline, change: dict[str, object], reason: DropReason) -> None:
    assert pipeline.enrich(click(**change), NOW) is reason
    assert pipeline.run([click(**change)], NOW) == []
    assert pipeline.counters.snapshot()[f"dropped.{reason.value}"] == 1


def test_duplicate_click_ids_in_a_batch_count_once(pipeline: Pipeline) -> None:
    events = pipeline.run([click(), click(), click(click_id="clk_2")], NOW)
    assert [e.click.click_id for e in events] == ["clk_1", "clk_2"]
    assert pipeline.counters.snapshot()["duplicates"] == 1


def test_check_links_drops_unknown_and_foreign_links(pipeline: Pipeline) -> None:
    events = pipeline.run(
        [
            click(click_id="a"),
            click(click_id="b", link_id="lnk_gone"),
            click(click_id="c", workspace_id="ws_other"),
        ],
        NOW,
    )
    kept, dropped = check_links(events, {"lnk_a": LinkRef("ws_a", "email", "cmp_1")})
    assert [e.click.click_id for e in kept] == ["a"]
    assert (kept[0].channel, kept[0].campaign) == ("email", "cmp_1")
    assert dict(kept[0].workspace_dims())["channel"] == "email"
    assert ("channel", "email") not in set(kept[0].dims())  # workspace rollups only
    assert dropped == {DropReason.UNKNOWN_LINK: 1, DropReason.WORKSPACE_MISMATCH: 1}


def test_counters_snapshot_is_a_copy() -> None:
    counters = IngestCounters()
    counters.dropped(DropReason.EXPIRED, 2)
    snap = counters.snapshot()
    counters.add("received")
    assert snap == {"dropped.expired": 2}


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("", DIRECT),
        ("   ", DIRECT),
        ("https://WWW.TikTok.com/@shop/video/123?lang=en&token=abc", "www.tiktok.com"),
        ("http://user:pass@l.facebook.com:8080/l.php?u=https%3A%2F%2Fx", "l.facebook.com"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("https://例え.jp/path", "xn--r8jz45g.jp"),
        ("https://example.com./", "example.com"),
        ("not a url", UNKNOWN),
        ("//no-scheme.example/path", UNKNOWN),
        ("https://[::1]:80/", UNKNOWN),
        ("https://exa mple.com/", UNKNOWN),
    ],
)
def test_referrer_host_keeps_only_the_host(referrer: str, host: str) -> None:
    assert referrer_host(referrer) == host


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US", "en"),
        ("de;q=0.5, fr-CH", "fr"),
        ("*", UNKNOWN),
        ("", UNKNOWN),
        ("en;q=abc, es;q=0.3", "es"),
        ("x-klingon", UNKNOWN),
        ("FIL-PH", "fil"),
    ],
)
def test_primary_language(header: str, language: str) -> None:
    assert primary_language(header) == language


def test_country_is_normalised(pipeline: Pipeline) -> None:
    for raw, expected in (("de", "DE"), (None, UNKNOWN), ("", UNKNOWN), ("USA", UNKNOWN)):
        event = pipeline.enrich(dataclasses.replace(click(), country=raw), NOW)
        assert isinstance(event, Event) and event.country == expected


def test_a_failing_step_drops_only_that_click(agents: AgentClassifier) -> None:
    def explode_on_b(event: Event, _ctx: object) -> None:
        if event.click.click_id == "b":
            raise RuntimeError("bug")

    pipeline = Pipeline(agents=agents, retention_seconds=86400, steps=(explode_on_b,))
    events = pipeline.run([click(click_id="a"), click(click_id="b"), click(click_id="c")], NOW)
    assert [e.click.click_id for e in events] == ["a", "c"]
    assert pipeline.counters.snapshot()["dropped.step_failed"] == 1
