"""The visitor hash itself: keyed, stable for the same inputs, different for any change."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hoplink.clicks.salts import keyed, keyed_hash, utc_day, visitor_hash

DAY1, DAY2 = b"\x01" * 32, b"\x02" * 32
UA = "Mozilla/5.0 (Linux; Android 14) Instagram 320.0"


def test_same_key_workspace_ip_and_agent_give_the_same_hash() -> None:
    assert visitor_hash(DAY1, "ws_a", "203.0.113.9", UA) == visitor_hash(
        DAY1, "ws_a", "203.0.113.9", UA
    )


def test_any_change_gives_another_hash() -> None:
    base = visitor_hash(DAY1, "ws_a", "203.0.113.9", UA)
    assert base != visitor_hash(DAY2, "ws_a", "203.0.113.9", UA)  # another day's key
    assert base != visitor_hash(DAY1, "ws_b", "203.0.113.9", UA)  # another workspace
    assert base != visitor_hash(DAY1, "ws_a", "203.0.113.10", UA)
    assert base != visitor_hash(DAY1, "ws_a", "203.0.113.9", UA + "x")
    # Field boundaries are unambiguous: moving text between fields changes the hash.
    assert visitor_hash(DAY1, "ws_a1", "2.3.4.5", UA) != visitor_hash(DAY1, "ws_a", "12.3.4.5", UA)


def test_hash_is_128_bits_of_hex() -> None:
    value = visitor_hash(DAY1, "ws_a", "203.0.113.9", UA)
    assert len(value) == 32 and int(value, 16) >= 0


def test_days_are_utc_days() -> None:
    late = datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC).timestamp()
    assert utc_day(late) == date(2026, 3, 14)
    assert utc_day(late + 1) == date(2026, 3, 15)


def test_a_kept_keyed_state_hashes_like_the_key_and_is_reused_unchanged() -> None:
    state = keyed(DAY1)  # what the redirect keeps for the day
    first = keyed_hash(state, "ws_a", "203.0.113.9", UA)
    assert first == visitor_hash(DAY1, "ws_a", "203.0.113.9", UA)
    assert keyed_hash(state, "ws_b", "203.0.113.9", UA) == visitor_hash(
        DAY1, "ws_b", "203.0.113.9", UA
    )
    assert keyed_hash(state, "ws_a", "203.0.113.9", UA) == first  # each hash copies it
