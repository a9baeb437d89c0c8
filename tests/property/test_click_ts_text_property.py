"""SQLite's raw-click timestamp text, built per click without a datetime, is what
SQLAlchemy writes for ``datetime.fromtimestamp(ts, UTC)`` (tables stay byte-identical)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from hoplink.storage import tables as t
from hoplink.storage.click_batches import ts_text

_DIALECT = sqlite.dialect()
_STORED = t.clicks.c.ts.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
SECOND = st.integers(min_value=1_500_000_000, max_value=2_200_000_000)


@settings(deadline=None, max_examples=2000)
@given(st.floats(min_value=1.5e9, max_value=2.2e9))
@example(1_764_843_000.9999995)  # rounds up into the next second
@example(1_764_843_000.0000005)
@example(1_764_843_000.0000025)  # half a microsecond: to even
@example(1_764_843_000.0)
def test_ts_text_is_what_sqlalchemy_stores(ts: float) -> None:
    assert _STORED is not None
    assert ts_text(ts) == _STORED(datetime.fromtimestamp(ts, UTC))


@settings(deadline=None, max_examples=500)
@given(SECOND, st.integers(min_value=0, max_value=1_999_999))
def test_half_microseconds_round_as_fromtimestamp(second: int, halves: int) -> None:
    ts = second + halves / 2_000_000
    assert _STORED is not None
    assert ts_text(ts) == _STORED(datetime.fromtimestamp(ts, UTC))
