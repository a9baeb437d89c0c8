"""What a batch adds to the rollups, before any SQL: PV, human PV and UV claims."""

from __future__ import annotations

from hoplink.clicks.enriched import Event
from hoplink.clicks.models import Click
from hoplink.ingest.rollups import build_delta, seen_keys
from hoplink.ingest.steps import Pipeline
from hoplink.ingest.useragents import AgentClassifier

H = 490_000  # an hour bucket, day 20416
T0 = H * 3600.0
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148 Safari/604.1"
PIPELINE = Pipeline(agents=AgentClassifier(), retention_seconds=10**10)


def ev(
    n: int, *, ts: float = T0, visitor: str = "v1", ua: str = PHONE, link: str = "lnk_a"
) -> Event:
    c = Click(f"c{n}", ts, link, "ws_a", "hop.test", "GET", ua, "", "en", "FR", visitor)
    event = PIPELINE.enrich(c, ts)
    assert isinstance(event, Event)
    return event


def test_seen_keys_cover_hour_and_day_for_link_and_workspace_humans_only() -> None:
    keys = seen_keys([ev(1), ev(2), ev(3, ua="curl/8.0")])
    assert sorted(keys) == sorted(
        [
            ("h", H, "lnk_a", "v1"),
            ("h", H, "ws_a", "v1"),
            ("d", H // 24, "lnk_a", "v1"),
            ("d", H // 24, "ws_a", "v1"),
        ]
    )


def test_first_click_claims_each_new_key_once() -> None:
    events = [ev(1), ev(2, ts=T0 + 60), ev(3, ts=T0 + 3600), ev(4, ua="curl/8.0")]
    delta = build_delta(events, set(seen_keys(events)))
    first, second = (
        delta.link_hours[("lnk_a", "ws_a", H)],
        delta.link_hours[("lnk_a", "ws_a", H + 1)],
    )
    assert (first.pv, first.human_pv, first.uv_hour, first.uv_day) == (3, 2, 1, 1)
    # Same visitor the next hour: new for the hour, not for the day.
    assert (second.pv, second.human_pv, second.uv_hour, second.uv_day) == (1, 1, 1, 0)
    day = delta.workspace_days[("ws_a", H // 24)]
    assert (day.pv, day.human_pv, day.uv_day) == (4, 3, 1)
    country = delta.workspace_dim_days[("ws_a", H // 24, "country", "FR")]
    assert (country.pv, country.human_pv, country.uv_day) == (4, 3, 1)
    bot = delta.link_dim_hours[("lnk_a", "ws_a", H, "bot", "curl")]
    assert (bot.pv, bot.human_pv, bot.uv_day) == (1, 0, 0)


def test_keys_seen_in_an_earlier_batch_add_no_uv() -> None:
    delta = build_delta([ev(1)], set())
    counts = delta.link_hours[("lnk_a", "ws_a", H)]
    assert (counts.pv, counts.uv_hour, counts.uv_day) == (1, 0, 0)
