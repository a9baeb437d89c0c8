"""Forward query: visitor parameters are only added, never replace ours."""

from __future__ import annotations

from typing import Any

from hoplink.clicks.models import Click
from hoplink.redirect.forward import MAX_PARAMS, forward_query, tag_location
from hoplink.storage.redirects import Target

URL = "https://shop.example.com/item/1?sku=42&aff_seller=S1&utm_source=facebook#reviews"


def test_adds_new_parameters_before_the_fragment() -> None:
    assert forward_query(URL, b"fbclid=IwAR0x&color=red") == (
        "https://shop.example.com/item/1?sku=42&aff_seller=S1&utm_source=facebook"
        "&fbclid=IwAR0x&color=red#reviews"
    )


def test_never_replaces_utm_bound_or_click_id_parameters() -> None:
    query = (
        b"utm_source=evil&UTM_MEDIUM=x&aff_seller=THIEF&AFF_SELLER=T2&hl_click=1&HL_Click=2&sku=9"
    )
    assert forward_query(URL, query) == URL


def test_first_occurrence_wins_and_values_are_re_encoded() -> None:
    got = forward_query("https://s.example.com/", b"q=a+b%20c&q=second&x=%E5%8F%8C&y=%2F%3F%23%26")
    assert got == "https://s.example.com/?q=a%20b%20c&x=%E5%8F%8C&y=%2F%3F%23%26"


def test_control_characters_invalid_utf8_and_raw_bytes_are_skipped() -> None:
    query = "a=%0D%0ALocation:x&b=%FF&c=%E2%80%8B&d=ok&e=\u00e9".encode("latin-1")
    assert forward_query("https://s.example.com/p", query) == "https://s.example.com/p?d=ok"


def test_empty_names_and_overlong_pieces_are_skipped() -> None:
    query = b"=x&" + b"n" * 65 + b"=1&v=" + b"z" * 513 + b"&ok=1"
    assert forward_query("https://s.example.com/p?", query) == "https://s.example.com/p?ok=1"


def test_at_most_a_fixed_number_of_parameters() -> None:
    query = "&".join(f"p{i}=1" for i in range(50)).encode()
    got = forward_query("https://s.example.com/", query)
    assert got.count("=") == MAX_PARAMS


def test_nothing_to_add_returns_the_stored_url_unchanged() -> None:
    assert forward_query(URL, b"") == URL
    assert forward_query(URL, b"&&") == URL


def _target(**kw: Any) -> Target:
    values: dict[str, Any] = {
        "link_id": "lnk_1",
        "workspace_id": "ws_1",
        "final_url": URL,
        "archived": False,
        "forward_query": False,
        "workspace_status": "verified",
        "click_param": "hl_click",
    }
    return Target(**{**values, **kw})


def _click(ad_click_ids: dict[str, str] | None = None) -> Click:
    return Click("0" * 32, 0.0, "lnk_1", "ws_1", "hop.test", "GET", "", "", "", None, "h",
                 ad_click_ids)  # fmt: skip


def test_the_click_id_goes_last_before_the_fragment() -> None:
    assert tag_location(URL, _target(), _click()) == (
        "https://shop.example.com/item/1?sku=42&aff_seller=S1&utm_source=facebook"
        f"&hl_click={'0' * 32}#reviews"
    )
    assert tag_location("https://s.example.com/p", _target(), _click()) == (
        f"https://s.example.com/p?hl_click={'0' * 32}"
    )
    assert tag_location("https://s.example.com/p?#f", _target(), _click()) == (
        f"https://s.example.com/p?hl_click={'0' * 32}#f"
    )
    assert tag_location(URL, _target(click_param=None), _click()) == URL


def test_ad_click_ids_only_when_the_link_passes_them_and_never_over_a_bound_one() -> None:
    click = _click({"fbclid": "F.1", "SKU": "9"})  # (no real platform is called SKU)
    assert tag_location(URL, _target(click_param=None), click) == URL
    passing = _target(pass_ad_click_ids=True)
    assert tag_location(URL, passing, click) == (
        "https://shop.example.com/item/1?sku=42&aff_seller=S1&utm_source=facebook"
        f"&fbclid=F.1&hl_click={'0' * 32}#reviews"
    )
    # forward_query already carried the whole visitor query: nothing twice.
    both = _target(pass_ad_click_ids=True, forward_query=True, click_param=None)
    assert tag_location(URL, both, click) == URL


def test_forward_query_never_forwards_the_workspaces_click_id_name() -> None:
    assert forward_query(URL, b"ref=1&REF=2&x=3", click_param="ref") == (
        "https://shop.example.com/item/1?sku=42&aff_seller=S1&utm_source=facebook&x=3#reviews"
    )
