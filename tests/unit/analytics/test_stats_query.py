"""The stats query object: ranges read in the workspace's time zone, widened to whole UTC
hours, and every bad parameter named in one InvalidInput."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hoplink.analytics.models import Granularity, Metric, ScopeKind, StatsScope
from hoplink.analytics.query import (
    DEFAULT_DAYS,
    MAX_RANGE_DAYS,
    StatsQuery,
    parse_scope,
    parse_stats_query,
)
from hoplink.errors import FieldError, InvalidInput

WORKSPACE = StatsScope(ScopeKind.WORKSPACE)
SHANGHAI = "Asia/Shanghai"  # UTC+8, no daylight saving
KOLKATA = "Asia/Kolkata"  # UTC+5:30: local midnight is half past a UTC hour
NEW_YORK = "America/New_York"  # 2026: DST starts 8 March, ends 1 November


def hour(*args: int) -> int:
    """The UTC hour bucket of a UTC date-time."""
    return int(datetime(*args, tzinfo=UTC).timestamp()) // 3600  # type: ignore[misc]


def parse(timezone: str = SHANGHAI, **params: object) -> StatsQuery:
    return parse_stats_query(
        workspace_id="ws1",
        timezone=timezone,
        scope=WORKSPACE,
        **params,  # type: ignore[arg-type]
    )


def field_errors(exc: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in exc.value.errors}


def test_dates_are_whole_local_days_with_to_inclusive() -> None:
    q = parse(from_="2026-11-01", to="2026-11-02")
    # 2026-11-01 00:00 in Shanghai is 2026-10-31 16:00 UTC; `to` ends at 2026-11-03 local.
    assert q.start_hour == hour(2026, 10, 31, 16)
    assert q.end_hour == hour(2026, 11, 2, 16)
    assert q.end_hour - q.start_hour == 48
    assert q.start == datetime(2026, 11, 1, tzinfo=ZoneInfo(SHANGHAI))
    assert q.end == datetime(2026, 11, 3, tzinfo=ZoneInfo(SHANGHAI))
    assert q.tz == ZoneInfo(SHANGHAI)
    assert (q.workspace_id, q.scope) == ("ws1", WORKSPACE)


def test_defaults_are_day_granularity_top_ten_by_pageviews() -> None:
    q = parse(from_="2026-11-01", to="2026-11-01")
    assert (q.granularity, q.top, q.metric) == (Granularity.DAY, 10, Metric.PV)


def test_a_half_hour_zone_counts_the_utc_hours_that_start_on_the_local_day() -> None:
    q = parse(KOLKATA, from_="2026-11-01", to="2026-11-01")
    # Local 2026-11-01 00:00 is 2026-10-31 18:30 UTC. The hour 18:00-19:00 UTC started at
    # 23:30 on 31 October, so the day begins with the next one (00:30 local); the end,
    # 2026-11-01 18:30 UTC, is ceiled to 19:00: the 24 hours that start on 1 November.
    assert q.start_hour == hour(2026, 10, 31, 19)
    assert q.end_hour == hour(2026, 11, 1, 19)
    assert q.start == datetime(2026, 11, 1, 0, 30, tzinfo=ZoneInfo(KOLKATA))
    assert q.end == datetime(2026, 11, 2, 0, 30, tzinfo=ZoneInfo(KOLKATA))


@pytest.mark.parametrize(
    ("zone", "first_local"),
    [("Asia/Kathmandu", (0, 45)), ("America/St_Johns", (0, 30)), ("Asia/Shanghai", (0, 0))],
    ids=["plus-5-45", "minus-3-30", "whole-hours"],
)
def test_a_day_starts_at_its_first_whole_utc_hour(zone: str, first_local: tuple[int, int]) -> None:
    q = parse(zone, from_="2026-06-01", to="2026-06-07")
    assert q.start == datetime(2026, 6, 1, *first_local, tzinfo=ZoneInfo(zone))
    assert q.end == datetime(2026, 6, 8, *first_local, tzinfo=ZoneInfo(zone))
    assert q.end_hour - q.start_hour == 7 * 24


def test_a_date_time_inside_a_half_hour_zones_straddling_hour() -> None:
    # 00:10 local is in the UTC hour that started at 23:30 the day before: the range
    # begins at 00:30; 00:40 is in the hour that starts at 00:30, which holds it.
    assert parse(KOLKATA, from_="2026-11-01T00:10", to="2026-11-01T03:00").start == datetime(
        2026, 11, 1, 0, 30, tzinfo=ZoneInfo(KOLKATA)
    )
    assert parse(KOLKATA, from_="2026-11-01T00:40", to="2026-11-01T03:00").start == datetime(
        2026, 11, 1, 0, 30, tzinfo=ZoneInfo(KOLKATA)
    )
    # A range entirely before the first whole hour of the day still covers an hour.
    tiny = parse(KOLKATA, from_="2026-11-01T00:05", to="2026-11-01T00:20")
    assert tiny.end_hour - tiny.start_hour == 1


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2026-03-08", 23), ("2026-11-01", 25), ("2026-11-02", 24)],
    ids=["spring-forward", "fall-back", "ordinary"],
)
def test_a_local_day_across_a_dst_change_has_its_true_length(day: str, hours: int) -> None:
    q = parse(NEW_YORK, from_=day, to=day)
    assert q.end_hour - q.start_hour == hours


def test_a_date_time_without_offset_is_local_and_one_with_an_offset_is_as_given() -> None:
    local = parse(from_="2026-11-01T08:00:00", to="2026-11-01T10:00:00")
    assert (local.start_hour, local.end_hour) == (hour(2026, 11, 1, 0), hour(2026, 11, 1, 2))
    given = parse(from_="2026-11-01T08:00:00+00:00", to="2026-11-01T10:00:00Z")
    assert (given.start_hour, given.end_hour) == (hour(2026, 11, 1, 8), hour(2026, 11, 1, 10))
    spaced = parse(from_="2026-11-01 08:00", to="2026-11-01 09:00")
    assert spaced.start_hour == hour(2026, 11, 1, 0)


def test_a_part_hour_range_covers_the_hours_it_touches() -> None:
    q = parse(from_="2026-11-01T08:20:00Z", to="2026-11-01T08:40:00Z")
    assert (q.start_hour, q.end_hour) == (hour(2026, 11, 1, 8), hour(2026, 11, 1, 9))


def test_without_a_range_the_last_seven_local_days_up_to_today() -> None:
    now = datetime(2026, 11, 5, 20, 0, tzinfo=UTC)  # already 6 November, 04:00, in Shanghai
    q = parse(now=now)
    assert q.end == datetime(2026, 11, 7, tzinfo=ZoneInfo(SHANGHAI))
    assert q.start == datetime(2026, 10, 31, tzinfo=ZoneInfo(SHANGHAI))
    assert q.end_hour - q.start_hour == DEFAULT_DAYS * 24
    # The same instant is still 5 November in New York (15:00 EST).
    ny = parse(NEW_YORK, now=now)
    assert ny.end == datetime(2026, 11, 6, tzinfo=ZoneInfo(NEW_YORK))
    assert ny.start == datetime(2026, 10, 30, tzinfo=ZoneInfo(NEW_YORK))


def test_only_to_given_starts_seven_days_before_it() -> None:
    q = parse(to="2026-11-10")
    assert q.start == datetime(2026, 11, 4, tzinfo=ZoneInfo(SHANGHAI))
    assert q.end == datetime(2026, 11, 11, tzinfo=ZoneInfo(SHANGHAI))
    # A `to` at a local midnight ends the day before it.
    at_midnight = parse(to="2026-11-10T00:00:00")
    assert at_midnight.start == datetime(2026, 11, 3, tzinfo=ZoneInfo(SHANGHAI))


@pytest.mark.parametrize(
    ("from_", "to"),
    [("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z"), ("2026-11-02", "2026-11-01")],
    ids=["empty", "reversed"],
)
def test_an_empty_or_reversed_range_is_refused_on_from(from_: str, to: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse(from_=from_, to=to)
    assert field_errors(exc) == {("from", "after_to")}


def test_the_range_may_span_at_most_400_days() -> None:
    start = datetime(2025, 1, 1)
    longest = (start + timedelta(days=MAX_RANGE_DAYS - 1)).date().isoformat()
    q = parse(from_="2025-01-01", to=longest)
    assert q.end_hour - q.start_hour == MAX_RANGE_DAYS * 24
    one_more = (start + timedelta(days=MAX_RANGE_DAYS)).date().isoformat()
    with pytest.raises(InvalidInput) as exc:
        parse(from_="2025-01-01", to=one_more)
    assert field_errors(exc) == {("to", "range_too_long")}


def test_empty_bounds_mean_not_given() -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    assert parse(from_="", to="", now=now) == parse(now=now)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "2026-11-01T25:00", "2026-11"])
def test_an_unreadable_bound_names_its_field(bad: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse(from_=bad, to="2026-11-02")
    assert field_errors(exc) == {("from", "invalid_datetime")}
    with pytest.raises(InvalidInput) as exc:
        parse(from_="2026-11-01", to=bad)
    assert field_errors(exc) == {("to", "invalid_datetime")}


def test_every_bad_parameter_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse(from_="nope", to="never", granularity="week", metric="clicks", top=0)
    assert field_errors(exc) == {
        ("from", "invalid_datetime"),
        ("to", "invalid_datetime"),
        ("granularity", "invalid"),
        ("metric", "invalid"),
        ("top", "out_of_range"),
    }
    assert exc.value.message.endswith("(and 4 more)")


@pytest.mark.parametrize(("top", "ok"), [(1, True), (100, True), (101, False), (-1, False)])
def test_top_is_between_1_and_100(top: int, ok: bool) -> None:
    if ok:
        assert parse(from_="2026-11-01", to="2026-11-01", top=top).top == top
    else:
        with pytest.raises(InvalidInput) as exc:
            parse(from_="2026-11-01", to="2026-11-01", top=top)
        assert field_errors(exc) == {("top", "out_of_range")}


def test_granularity_and_metric_are_read_by_name() -> None:
    q = parse(from_="2026-11-01", to="2026-11-01", granularity="hour", metric="uv")
    assert (q.granularity, q.metric) == (Granularity.HOUR, Metric.UV)
    assert parse(from_="2026-11-01", to="2026-11-01", metric="human_pv").metric is Metric.HUMAN_PV


def test_parse_scope_reads_each_kind() -> None:
    assert parse_scope("workspace", "ignored") == WORKSPACE
    assert parse_scope("link", " lnk_1 ") == StatsScope(ScopeKind.LINK, "lnk_1")
    assert parse_scope("campaign", "cmp_9") == StatsScope(ScopeKind.CAMPAIGN, "cmp_9")
    assert parse_scope("tag", "Summer Sale") == StatsScope(ScopeKind.TAG, "Summer Sale")
    # Channel names are lower-cased before they are checked.
    assert parse_scope("channel", "TikTok_Ads") == StatsScope(ScopeKind.CHANNEL, "tiktok_ads")
    assert parse_scope("channel", "x").label == "channel-x"
    assert WORKSPACE.label == "workspace"


@pytest.mark.parametrize(
    ("kind", "ref", "error"),
    [
        ("folder", "x", FieldError("scope", "invalid", "")),
        ("link", None, FieldError("link", "invalid", "")),
        ("tag", "   ", FieldError("tag", "invalid", "")),
        ("campaign", "c" * 65, FieldError("campaign", "invalid", "")),
        ("channel", "no spaces", FieldError("channel", "invalid", "")),
        ("channel", "-leading", FieldError("channel", "invalid", "")),
        ("channel", "c" * 33, FieldError("channel", "invalid", "")),
    ],
)
def test_parse_scope_refuses_a_bad_kind_or_reference(
    kind: str, ref: str | None, error: FieldError
) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_scope(kind, ref)
    assert [(e.field, e.code) for e in exc.value.errors] == [(error.field, error.code)]
