"""A report currency is one in use today (CLDR's currencies of each territory, with their
dates); the withdrawn codes stay known for orders, rates and spend of their time."""

from __future__ import annotations

from datetime import date

from hoplink.conversions.money import CURRENCIES, current_currencies, not_current_reason

DAY = date(2026, 12, 4)


def test_withdrawn_codes_are_not_current() -> None:
    current = current_currencies(DAY)
    assert {"EUR", "USD", "JPY", "CNY", "GBP", "XCG", "SLE", "VES"} <= current
    withdrawn = {"DEM", "ATS", "FRF", "ITL", "ESP", "HRK", "BGN", "ANG", "SLL", "VEF", "SUR"}
    assert not withdrawn & current
    assert withdrawn <= CURRENCIES  # still read where an order of its time carries it
    assert not {"CHE", "CHW", "USN", "XEU"} & current  # funds and accounting units
    assert current <= CURRENCIES


def test_the_list_is_that_of_the_day() -> None:
    before = current_currencies(date(2020, 1, 1))
    assert {"HRK", "BGN", "ANG"} <= before and "XCG" not in before
    assert "DEM" in current_currencies(date(1990, 1, 1))


def test_the_reason_names_the_replacement() -> None:
    assert not_current_reason("DEM", DAY) == "DEM is no longer in use; use EUR"
    assert not_current_reason("ANG", DAY) == "ANG is no longer in use; use AWG, USD or XCG"
    assert not_current_reason("YUN", DAY) == "YUN is no longer in use; use BAM or EUR"
    # The Soviet rouble became eight currencies: none is named.
    assert not_current_reason("SUR", DAY) == "SUR is no longer in use; choose a current currency"
    assert not_current_reason("CHE", DAY) == (
        "CHE is not legal tender anywhere; choose a current currency"
    )
