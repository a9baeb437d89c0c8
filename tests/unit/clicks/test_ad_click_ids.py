"""The ad platforms' click ids: parsed from the raw query, validated by the table, counted
when dropped, and carried on the Click record."""

from __future__ import annotations

import pytest

from hoplink.clicks.adids import (
    AD_CLICK_IDS,
    MAX_AD_CLICK_IDS,
    AdIdCounters,
    check_ad_click_ids,
    parse_ad_click_ids,
)
from hoplink.clicks.models import Click


def parse(query: bytes) -> tuple[dict[str, str] | None, dict[str, int]]:
    counters = AdIdCounters()
    return parse_ad_click_ids(query, counters), counters.snapshot()


def test_the_table_names_every_platform_of_the_issue_once() -> None:
    names = [a.param for a in AD_CLICK_IDS]
    assert names == [
        "fbclid", "ttclid", "gclid", "gbraid", "wbraid",
        "msclkid", "twclid", "li_fat_id", "ScCid", "epik",
    ]  # fmt: skip
    assert all(0 < a.max_length <= 512 for a in AD_CLICK_IDS)


def test_none_when_the_query_has_no_ad_click_id() -> None:
    assert parse(b"") == (None, {})
    assert parse(b"color=red&utm_source=facebook&fbclid") == (None, {})  # a name, no "="


def test_valid_ids_are_kept_under_their_canonical_names() -> None:
    query = (
        b"fbclid=IwAR2x_Y-z.0&GCLID=Cj0KCQ&sccid=a1_b2&li_fat_id=1b7c3f0e-9d2a-4c1b-8e3f-5a6b7c8d9e0f"
        b"&utm_source=x&aff=1"
    )
    assert parse(query) == (
        {
            "fbclid": "IwAR2x_Y-z.0",
            "gclid": "Cj0KCQ",
            "ScCid": "a1_b2",
            "li_fat_id": "1b7c3f0e-9d2a-4c1b-8e3f-5a6b7c8d9e0f",
        },
        {},
    )


def test_escapes_are_decoded_once_and_the_value_must_then_fit_the_alphabet() -> None:
    assert parse(b"epik=dj0yJnU9%21x")[0] == {"epik": "dj0yJnU9!x"}
    assert parse(b"fbclid=a%2541") == (None, {"bad_charset": 1})  # "%" after one decode
    assert parse(b"fbclid=a%FFb") == (None, {"bad_charset": 1})  # not UTF-8


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (b"fbclid=", "empty"),
        (b"fbclid=" + b"a" * 513, "too_long"),
        (b"msclkid=" + b"a" * 65, "too_long"),
        (b"gclid=a b", "bad_charset"),
        (b"gclid=a+b", "bad_charset"),
        (b"gclid=%0D%0ALocation:x", "bad_charset"),
        (b"ttclid=%3Cscript%3E", "bad_charset"),
        (b"li_fat_id=not-a-uuid_z", "bad_charset"),
        (b"gclid=\xc3\xa9", "bad_charset"),
    ],
)
def test_invalid_values_are_dropped_with_a_counted_reason(query: bytes, reason: str) -> None:
    assert parse(query) == (None, {reason: 1})


def test_repeats_keep_the_first_and_too_many_are_cut() -> None:
    assert parse(b"fbclid=A&fbclid=B&FBCLID=C") == ({"fbclid": "A"}, {"repeated": 2})
    names = [a.param for a in AD_CLICK_IDS]
    query = "&".join(f"{n}=a{i}" for i, n in enumerate(names)).encode()
    found, counts = parse(query)
    assert found is not None and list(found) == names[:MAX_AD_CLICK_IDS]
    assert counts == {"too_many": len(names) - MAX_AD_CLICK_IDS}


def test_the_worker_checks_again_what_a_queue_hands_it() -> None:
    assert check_ad_click_ids(None) is None
    assert check_ad_click_ids({}) is None
    assert check_ad_click_ids(["fbclid", "x"]) is None
    assert check_ad_click_ids(
        {"fbclid": "ok", "gclid": "no space", "evil": "x", "ttclid": 5, "wbraid": "a" * 513}
    ) == {"fbclid": "ok"}


def test_the_click_record_stays_compact_and_round_trips() -> None:
    click = Click("c1", 1.5, "l", "w", "d", "GET", "ua", "", "", None, "h")
    assert click.to_json().endswith(b'"ad_click_ids":null,"rule":null,"variant":null}')
    assert Click.from_json(click.to_json()) == click
    tagged = Click("c1", 1.5, "l", "w", "d", "GET", "ua", "", "", None, "h", {"gclid": "G"})
    assert Click.from_json(tagged.to_json()) == tagged
    # A record written before the field existed (a journal or stream from the old version).
    old = b'{"click_id":"c1","ts":1.5,"link_id":"l","workspace_id":"w","domain":"d",'
    old += b'"method":"GET","user_agent":"ua","referrer":"","accept_language":"",'
    old += b'"country":null,"visitor_hash":"h"}'
    assert Click.from_json(old) == click
