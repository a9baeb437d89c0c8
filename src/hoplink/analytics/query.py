"""The stats query object: raw parameters in, a validated ``StatsQuery`` out.

Ranges are read in the workspace's time zone: a date means that whole local day (``to``
inclusive), a date-time without offset is local time, one with an offset is taken as
given, and the range [from, to) is widened to whole UTC hours, the rollups' bucket.

A UTC hour is counted on the local day on which it starts. In a zone whose offset is not
a whole number of hours (Asia/Kolkata +5:30, Asia/Kathmandu +5:45, America/St_Johns
-3:30) local midnight falls inside a UTC hour, and that hour started on the day before:
so widening never takes ``from`` back across a local midnight, it moves forward to the
next whole hour instead (``_first_hour``). A local day in Kolkata is then the UTC hours
that start between 00:30 and 23:30, and a series never has a point outside the range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hoplink.analytics.models import Granularity, Metric, ScopeKind, StatsScope
from hoplink.errors import FieldError, InvalidInput
from hoplink.instants import OUT_OF_RANGE, in_utc

MAX_RANGE_DAYS = 400
DEFAULT_DAYS = 7
MAX_TOP = 100
_CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXAMPLE = "use an ISO date or date-time such as 2026-11-01 or 2026-11-01T08:00:00+08:00"


@dataclass(frozen=True, slots=True)
class StatsQuery:
    workspace_id: str
    scope: StatsScope
    tz: ZoneInfo
    start_hour: int  # first UTC hour bucket (unix time // 3600), inclusive
    end_hour: int  # exclusive
    granularity: Granularity
    top: int
    metric: Metric

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_hour * 3600, self.tz)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_hour * 3600, self.tz)

    def local_day(self, hour: int) -> date:
        """The local day a UTC hour bucket of the range counts in: the day it starts in,
        never one before the range's. In a zone with a part-hour offset (Asia/Kolkata) the
        range was widened to whole UTC hours, so its first bucket starts in the day before
        the one asked for; that bucket counts in the first day asked for."""
        first = datetime.fromtimestamp(self.start_hour * 3600 + 3599, self.tz).date()
        return max(datetime.fromtimestamp(hour * 3600, self.tz).date(), first)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _first_hour(start: datetime, tz: ZoneInfo) -> int:
    """The first UTC hour of a range from ``start``: the hour holding it, unless that hour
    started on the local day before ``start``'s (then the next hour)."""
    hour = int(start.timestamp() // 3600)
    if datetime.fromtimestamp(hour * 3600, tz).date() < start.astimezone(tz).date():
        return hour + 1
    return hour


def _parse_bound(value: str, *, field: str, tz: ZoneInfo, is_end: bool) -> datetime:
    value = value.strip()
    try:
        if _DATE_RE.match(value):
            day = date.fromisoformat(value)
            return _local_midnight(day + timedelta(days=1) if is_end else day, tz)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except (ValueError, OverflowError):
        raise InvalidInput(FieldError(field, "invalid_datetime", _EXAMPLE)) from None
    parsed = parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed
    if in_utc(parsed) is None:
        raise InvalidInput(FieldError(field, "out_of_range", OUT_OF_RANGE))
    return parsed


def parse_scope(kind: str, ref: str | None = None) -> StatsScope:
    try:
        scope_kind = ScopeKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ScopeKind)
        raise InvalidInput(FieldError("scope", "invalid", f"use one of {kinds}")) from None
    if scope_kind is ScopeKind.WORKSPACE:
        return StatsScope(scope_kind)
    ref = (ref or "").strip()
    if scope_kind is ScopeKind.CHANNEL:
        ref = ref.lower()
        if not _CHANNEL_RE.match(ref):
            raise InvalidInput(
                FieldError(
                    "channel", "invalid", "use 1 to 32 lowercase letters, digits, '-' or '_'"
                )
            )
    if not ref or len(ref) > 64:
        raise InvalidInput(FieldError(scope_kind.value, "invalid", "give an id or a name"))
    return StatsScope(scope_kind, ref)


def parse_stats_query(
    *,
    workspace_id: str,
    timezone: str,
    scope: StatsScope,
    from_: str | None = None,
    to: str | None = None,
    granularity: str | None = None,
    top: int = 10,
    metric: str | None = None,
    now: datetime | None = None,
) -> StatsQuery:
    """Validate the parameters of a stats request; InvalidInput names every bad field."""
    tz = ZoneInfo(timezone)
    now = now or datetime.now(UTC)
    errors: list[FieldError] = []
    start = end = None
    try:
        end = (
            _parse_bound(to, field="to", tz=tz, is_end=True)
            if to
            else _local_midnight(now.astimezone(tz).date() + timedelta(days=1), tz)
        )
    except InvalidInput as exc:
        errors += exc.errors
    try:
        if from_:
            start = _parse_bound(from_, field="from", tz=tz, is_end=False)
        elif end is not None:
            start = _local_midnight(
                (end - timedelta(microseconds=1)).astimezone(tz).date()
                - timedelta(days=DEFAULT_DAYS - 1),
                tz,
            )
    except InvalidInput as exc:
        errors += exc.errors
    if start is not None and end is not None:
        if start >= end:
            errors.append(FieldError("from", "after_to", "must be before to"))
        elif end - start > timedelta(days=MAX_RANGE_DAYS):
            errors.append(
                FieldError(
                    "to", "range_too_long", f"the range may span at most {MAX_RANGE_DAYS} days"
                )
            )
    try:
        gran = Granularity(granularity or Granularity.DAY)
    except ValueError:
        errors.append(FieldError("granularity", "invalid", "use hour or day"))
        gran = Granularity.DAY
    try:
        sort_by = Metric(metric or Metric.PV)
    except ValueError:
        errors.append(FieldError("metric", "invalid", "use pv, human_pv or uv"))
        sort_by = Metric.PV
    if not 1 <= top <= MAX_TOP:
        errors.append(FieldError("top", "out_of_range", f"use 1 to {MAX_TOP}"))
    if errors:
        raise InvalidInput(errors)
    assert start is not None and end is not None
    end_hour = int(-(-end.timestamp() // 3600))
    start_hour = _first_hour(start, tz)
    if start_hour >= end_hour:  # a range within the first part-hour of a local day
        start_hour = end_hour - 1
    return StatsQuery(
        workspace_id=workspace_id,
        scope=scope,
        tz=tz,
        start_hour=start_hour,
        end_hour=end_hour,
        granularity=gran,
        top=top,
        metric=sort_by,
    )
