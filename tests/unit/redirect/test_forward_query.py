"""Forward query: visitor parameters are only added, never replace ours."""

from __future__ import annotations

from hoplink.redirect.forward import MAX_PARAMS, forward_query

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
