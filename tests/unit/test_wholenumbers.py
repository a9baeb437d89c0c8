"""Whole numbers typed as text: "-5" is one (out of range is the caller's message), "²" is
not (``str.isdigit`` says it is, and ``int`` then raises)."""

from __future__ import annotations

import pytest

from hoplink.wholenumbers import parse_whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("1200", 1200), (" 7 ", 7), ("-5", -5), ("+3", 3), ("007", 7)],
)
def test_whole_numbers(text: str, expected: int) -> None:
    assert parse_whole(text) == expected


@pytest.mark.parametrize("text", ["", " ", "1.5", "abc", "²", "٣", "1_000", "1e3", "--5", "5-"])
def test_not_whole_numbers(text: str) -> None:
    assert parse_whole(text) is None
