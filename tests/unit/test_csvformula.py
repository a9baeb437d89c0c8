"""The one spreadsheet-formula rule of every CSV export (hoplink.csvformula)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoplink.csvformula import FORMULA_START, neutralise, neutralise_text


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")', "="],
)
def test_a_text_cell_that_starts_like_a_formula_gets_a_quote(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise_text(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "shoes", " =1", "'=1", "a=1", "1-2", "鞋子=1", "\n=1"])
def test_other_text_is_unchanged(cell: str) -> None:
    assert neutralise(cell) == cell
    assert neutralise_text(cell) == cell


@pytest.mark.parametrize("value", [-3, 0, 2.5, -0.5, None, datetime(2026, 1, 1, tzinfo=UTC)])
def test_numbers_and_other_values_pass_as_they_are(value: object) -> None:
    assert neutralise(value) is value


def test_none_is_the_empty_text_cell() -> None:
    assert neutralise_text(None) == ""


@given(st.text())
def test_no_text_cell_starts_like_a_formula_and_the_text_is_kept(text: str) -> None:
    out = neutralise_text(text)
    assert not out.startswith(FORMULA_START)
    assert out in (text, "'" + text)
    assert out == neutralise(text)
    # Written and read back by the csv module, the cell is still the neutralised text.
    buf = io.StringIO()
    csv.writer(buf).writerow([out])
    assert next(csv.reader(io.StringIO(buf.getvalue()), strict=True)) == [out]
