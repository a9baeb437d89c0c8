"""Series building and ranking of the stats layer, on values (no database): zero-filled
points in the workspace's time zone, and breakdowns ranked with their shares."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hoplink.analytics.export import breakdown_csv, series_csv
from hoplink.analytics.models import (
    BreakdownItem,
    GroupRow,
    HourRow,
    Metric,
    Point,
    ScopeKind,
    StatsScope,
)
from hoplink.analytics.query import StatsQuery, parse_stats_query
from hoplink.analytics.service import build_series, rank

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def hour(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) // 3600  # type: ignore[misc]


def query(tz: str, from_: str, to: str, granularity: str = "day") -> StatsQuery:
    return parse_stats_query(
        workspace_id="ws1",
        timezone=tz,
        scope=StatsScope(ScopeKind.WORKSPACE),
        from_=from_,
        to=to,
        granularity=granularity,
    )


def row(h: int, pv: int, human_pv: int, uv_hour: int, uv_day: int) -> HourRow:
    return HourRow(hour=h, pv=pv, human_pv=human_pv, uv_hour=uv_hour, uv_day=uv_day)


# -- series ---------------------------------------------------------------------------


def test_hourly_series_is_zero_filled_local_hours_with_uv_of_the_hour() -> None:
    q = query("Asia/Shanghai", "2026-11-01T08:00", "2026-11-01T12:00", "hour")
    rows = [row(hour(2026, 11, 1, 1), 5, 3, 2, 9), row(hour(2026, 11, 1, 3), 1, 1, 1, 0)]
    points = build_series(q, rows)
    assert points == [
        Point(datetime(2026, 11, 1, 8, tzinfo=SHANGHAI), 0, 0, 0),
        Point(datetime(2026, 11, 1, 9, tzinfo=SHANGHAI), 5, 3, 2),
        Point(datetime(2026, 11, 1, 10, tzinfo=SHANGHAI), 0, 0, 0),
        Point(datetime(2026, 11, 1, 11, tzinfo=SHANGHAI), 1, 1, 1),
    ]
    assert points[1].bot_pv == 2
    assert all(p.start.utcoffset() == SHANGHAI.utcoffset(p.start) for p in points)


def test_daily_series_sums_the_hours_of_each_local_day_with_uv_first_seen_that_day() -> None:
    q = query("Asia/Shanghai", "2026-11-01", "2026-11-02")
    rows = [
        row(hour(2026, 10, 31, 15), 100, 100, 100, 100),  # 23:00 on 31 Oct local: outside
        row(hour(2026, 10, 31, 16), 4, 3, 2, 2),  # 00:00 on 1 Nov local
        row(hour(2026, 11, 1, 15), 6, 6, 5, 1),  # 23:00 on 1 Nov local
        row(hour(2026, 11, 1, 16), 7, 0, 7, 7),  # 00:00 on 2 Nov local
    ]
    assert build_series(q, rows) == [
        Point(datetime(2026, 11, 1, tzinfo=SHANGHAI), 10, 9, 3),
        Point(datetime(2026, 11, 2, tzinfo=SHANGHAI), 7, 0, 7),
    ]


def test_an_empty_range_of_rollups_gives_zero_points_for_every_bucket() -> None:
    days = build_series(query("Asia/Shanghai", "2026-11-01", "2026-11-07"), [])
    assert [p.start.date().isoformat() for p in days] == [f"2026-11-0{d}" for d in range(1, 8)]
    assert {(p.pv, p.human_pv, p.uv, p.bot_pv) for p in days} == {(0, 0, 0, 0)}
    hours = build_series(query("Asia/Shanghai", "2026-11-01", "2026-11-01", "hour"), [])
    assert len(hours) == 24
    assert {(p.pv, p.uv) for p in hours} == {(0, 0)}


def test_the_fall_back_day_is_one_point_of_25_hours() -> None:
    q = query("America/New_York", "2026-11-01", "2026-11-01")
    rows = [row(h, 1, 1, 1, 1) for h in range(q.start_hour, q.end_hour)]
    assert build_series(q, rows) == [Point(datetime(2026, 11, 1, tzinfo=NEW_YORK), 25, 25, 25)]
    hourly = build_series(query("America/New_York", "2026-11-01", "2026-11-01", "hour"), rows)
    assert len(hourly) == 25
    # 01:00 happens twice: first in daylight time (UTC-4), then in standard time (UTC-5).
    repeated = [p.start for p in hourly if p.start.hour == 1]
    assert [p.utcoffset().total_seconds() / 3600 for p in repeated] == [-4, -5]  # type: ignore[union-attr]


def test_rows_outside_the_query_range_are_ignored() -> None:
    q = query("Asia/Shanghai", "2026-11-01T00:00", "2026-11-01T02:00", "hour")
    rows = [row(q.start_hour - 1, 9, 9, 9, 9), row(q.end_hour, 9, 9, 9, 9)]
    assert [(p.pv, p.uv) for p in build_series(q, rows)] == [(0, 0), (0, 0)]


# -- ranking --------------------------------------------------------------------------


def group(value: str, pv: int, human_pv: int, uv: int, label: str | None = None) -> GroupRow:
    return GroupRow("country", value, pv, human_pv, uv, label)


def test_rank_orders_by_the_metric_with_shares_of_its_total() -> None:
    rows = [group("US", 10, 8, 4), group("CN", 30, 20, 5), group("DE", 20, 12, 1)]
    by_pv = rank(rows, Metric.PV, 10)
    assert [(i.value, i.share) for i in by_pv] == [("CN", 0.5), ("DE", 0.3333), ("US", 0.1667)]
    by_uv = rank(rows, Metric.UV, 10)
    assert [(i.value, i.share) for i in by_uv] == [("CN", 0.5), ("US", 0.4), ("DE", 0.1)]
    by_human = rank(rows, Metric.HUMAN_PV, 10)
    assert [(i.value, i.share) for i in by_human] == [("CN", 0.5), ("DE", 0.3), ("US", 0.2)]
    assert by_pv[0] == BreakdownItem(value="CN", pv=30, human_pv=20, uv=5, share=0.5)
    assert by_pv[0].bot_pv == 10


def test_rank_keeps_the_top_values_with_shares_of_all_values() -> None:
    rows = [group(f"v{i}", pv=i, human_pv=i, uv=1) for i in range(1, 5)]  # pv total 10
    top = rank(rows, Metric.PV, 2)
    assert [(i.value, i.share) for i in top] == [("v4", 0.4), ("v3", 0.3)]


def test_ties_go_to_more_pageviews_then_to_the_value_in_order() -> None:
    rows = [group("b", 5, 1, 2), group("a", 3, 1, 2), group("c", 9, 1, 2), group("d", 3, 1, 2)]
    assert [i.value for i in rank(rows, Metric.UV, 10)] == ["c", "b", "a", "d"]


def test_the_bots_breakdown_without_human_traffic_ranks_by_pageviews() -> None:
    rows = [
        GroupRow("bot", "crawler", 2, 0, 2),
        GroupRow("bot", "preview", 6, 0, 1),
    ]
    ranked = rank(rows, Metric.HUMAN_PV, 10)
    assert [(i.value, i.share) for i in ranked] == [("preview", 0.75), ("crawler", 0.25)]
    assert [(i.value, i.share) for i in rank(rows, Metric.UV, 10)] == [
        ("preview", 0.75),
        ("crawler", 0.25),
    ]


def test_a_metric_with_a_zero_total_gives_zero_shares_and_no_rows_give_nothing() -> None:
    rows = [group("US", 4, 1, 0), group("CN", 2, 1, 0)]
    assert [(i.value, i.share) for i in rank(rows, Metric.UV, 10)] == [("US", 0.0), ("CN", 0.0)]
    assert rank([], Metric.PV, 10) == []


def test_rank_carries_a_campaigns_label() -> None:
    rows = [GroupRow("campaign", "cmp_1", 3, 3, 2, "Black Friday")]
    assert rank(rows, Metric.PV, 10)[0].label == "Black Friday"


# -- CSV -------------------------------------------------------------------------------


def test_series_csv_writes_local_times_and_bot_pageviews() -> None:
    points = [Point(datetime(2026, 11, 1, tzinfo=SHANGHAI), 5, 3, 2)]
    assert series_csv(points) == (
        "time,pv,human_pv,bot_pv,uv\r\n2026-11-01T00:00:00+08:00,5,3,2,2\r\n"
    )
    assert series_csv([]) == "time,pv,human_pv,bot_pv,uv\r\n"


@pytest.mark.parametrize("value", ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_breakdown_csv_defuses_formula_cells(value: str) -> None:
    item = BreakdownItem(value=value, pv=2, human_pv=1, uv=1, share=1.0)
    line = breakdown_csv([item]).split("\r\n")[1]
    assert line.startswith(("'", "\"'"))
    assert line.endswith(",,2,1,1,1,1.0")


def test_breakdown_csv_keeps_plain_values_and_labels() -> None:
    item = BreakdownItem(value="cmp_1", pv=4, human_pv=3, uv=2, share=0.25, label="Sale")
    assert breakdown_csv([item]) == (
        "value,label,pv,human_pv,bot_pv,uv,share\r\ncmp_1,Sale,4,3,1,2,0.25\r\n"
    )
