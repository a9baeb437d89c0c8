"""Table-driven tests of hoplink.links.urls: canonical form, UTM values, bound parameters."""

from __future__ import annotations

import pytest

from hoplink.errors import InvalidInput
from hoplink.links.urls import (
    MAX_URL_LENGTH,
    UTM_FIELDS,
    build_final_url,
    canonicalize_destination,
    clean_utm_value,
    query_params,
    render_param_template,
    validate_param_template,
)

AMAZON = (
    "https://www.amazon.com/dp/B08N5WRWNW/ref=sr_1_1?crid=2M096C61O4MLT&keywords=airpods+pro"
    "&qid=1700000000&sprefix=airpods%2Caps%2C283&sr=8-1&th=1"
)
ALIEXPRESS = (
    "https://www.aliexpress.com/item/1005005824413309.html?spm=a2g0o.productlist.main.1.6b3c"
    "&algo_pvid=7c1d0f3e-1b2a&aem_p4p_click=true&pdp_npi=4%40dis%21USD%2112.99%219.09%21%21%21"
    "#nav-review"
)
SHOPEE = "https://shopee.co.id/Sepatu-Sneakers-Pria-i.123456789.987654321?sp_atk=ab12-cd&xptdk=ef"
TAOBAO = (
    "https://item.taobao.com/item.htm?id=680000000000&spm=a21n57.1.0.0.1a2b3c4d&ns=1"
    "&abbucket=2#detail"
)

ACCEPTED = [
    ("https://example.com", "https://example.com/"),
    ("HTTPS://Shop.Example.COM:443/a", "https://shop.example.com/a"),
    ("HtTp://EXAMPLE.com", "http://example.com/"),
    ("http://example.com:80/x", "http://example.com/x"),
    ("http://example.com:443/x", "http://example.com:443/x"),
    ("https://example.com:80/", "https://example.com:80/"),
    ("https://example.com:8443/p", "https://example.com:8443/p"),
    ("http://a.com:0080", "http://a.com/"),
    ("  https://example.com/x  ", "https://example.com/x"),
    (
        "https://例え.テスト/商品?q=鞋#top",
        "https://xn--r8jz45g.xn--zckzah/%E5%95%86%E5%93%81?q=%E9%9E%8B#top",
    ),
    ("https://例え。テスト。/", "https://xn--r8jz45g.xn--zckzah/"),
    ("https://XN--R8JZ45G.xn--zckzah/", "https://xn--r8jz45g.xn--zckzah/"),
    ("https://faß.de/", "https://xn--fa-hia.de/"),
    ("https://Bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
    ("https://example.com./x", "https://example.com/x"),
    ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "https://127.0.0.1/"),  # fullwidth
    ("http://192.0.2.1:8080/x", "http://192.0.2.1:8080/x"),
    ("http://[2001:DB8:0:0:0:0:0:1]/", "http://[2001:db8::1]/"),
    ("https://[::1]:443/x", "https://[::1]/x"),
    ("https://localhost/x", "https://localhost/x"),
    ("https://123.example.com/", "https://123.example.com/"),
    ("https://a.com?x=1", "https://a.com/?x=1"),
    ("https://a.com/100%", "https://a.com/100%25"),
    ("https://a.com/%e4%b8%ad", "https://a.com/%E4%B8%AD"),
    ("https://a.com/%zz%4", "https://a.com/%25zz%254"),
    ("https://a.com/%2F%2f", "https://a.com/%2F%2F"),
    ("https://a.com/?q=100%&r=%4", "https://a.com/?q=100%25&r=%254"),
    ('https://a.com/a"<>`{}|^', "https://a.com/a%22%3C%3E%60%7B%7D%7C%5E"),
    ("https://a.com/[x]?f[c]=1", "https://a.com/%5Bx%5D?f%5Bc%5D=1"),
    ("https://a.com/p?a=1+2&b=%2B&c=&d&e==", "https://a.com/p?a=1+2&b=%2B&c=&d&e=="),
    ("https://a.com/p?b=2&a=1&b=3", "https://a.com/p?b=2&a=1&b=3"),
    ("https://a.com/./a/../b", "https://a.com/./a/../b"),
    ("https://a.com//double", "https://a.com//double"),
    ("https://a.com/?", "https://a.com/?"),
    ("https://a.com#", "https://a.com/#"),
    ("https://a.com/#a#b", "https://a.com/#a%23b"),
    ("https://a.com/p?q=a?b/c:d@e", "https://a.com/p?q=a?b/c:d@e"),
    ("https://a.com/it's;a,b!$*()+=:@", "https://a.com/it's;a,b!$*()+=:@"),
    ("https://a.com/~user/_x-y.z", "https://a.com/~user/_x-y.z"),
    ("https://a.com/😀", "https://a.com/%F0%9F%98%80"),
    ("https://example.com/Ä?ä=ö#ü", "https://example.com/%C3%84?%C3%A4=%C3%B6#%C3%BC"),
    (
        "https://s.taobao.com/search?q=连衣裙&tab=mall",
        "https://s.taobao.com/search?q=%E8%BF%9E%E8%A1%A3%E8%A3%99&tab=mall",
    ),
    (
        "https://item.rakuten.co.jp/shop/商品-1/?scid=af_pc#レビュー",
        "https://item.rakuten.co.jp/shop/%E5%95%86%E5%93%81-1/?scid=af_pc"
        "#%E3%83%AC%E3%83%93%E3%83%A5%E3%83%BC",
    ),
    (AMAZON, AMAZON),
    (ALIEXPRESS, ALIEXPRESS),
    (SHOPEE, SHOPEE),
    (TAOBAO, TAOBAO),
    (
        "https://a.com/" + "x" * (MAX_URL_LENGTH - 14),
        "https://a.com/" + "x" * (MAX_URL_LENGTH - 14),
    ),
]


@pytest.mark.parametrize(("raw", "expected"), ACCEPTED)
def test_accepted_urls_have_exact_canonical_form(raw: str, expected: str) -> None:
    canonical = canonicalize_destination(raw)
    assert canonical == expected
    assert canonicalize_destination(canonical) == canonical


REJECTED = [
    ("", "required"),
    ("   ", "required"),
    ("javascript:alert(1)", "unsupported_scheme"),
    ("JavaScript:alert(1)//https://example.com", "unsupported_scheme"),
    ("data:text/html;base64,PHNjcmlwdD4=", "unsupported_scheme"),
    ("file:///etc/passwd", "unsupported_scheme"),
    ("ftp://example.com/x", "unsupported_scheme"),
    ("mailto:a@example.com", "unsupported_scheme"),
    ("http.evil://example.com", "unsupported_scheme"),
    ("//evil.com", "missing_scheme"),
    ("/path/only", "missing_scheme"),
    ("example.com/x", "missing_scheme"),
    ("shop.example.com:8080/x", "missing_scheme"),
    ("localhost:8080", "missing_scheme"),
    ("https%3A//example.com", "missing_scheme"),
    ("https:\\\\evil.com", "backslash"),
    ("https://evil.com\\@good.com", "backslash"),
    ("https://a.com/x\\y", "backslash"),
    ("https://a@b", "credentials_not_allowed"),
    ("https://user:pass@example.com/", "credentials_not_allowed"),
    ("https://@example.com", "credentials_not_allowed"),
    ("https://good.com%40evil.com@evil.com/", "credentials_not_allowed"),
    ("http://evil.com\t", "control_character"),
    ("\x00", "control_character"),
    ("https://a.com/\x00", "control_character"),
    ("\nhttp://x", "control_character"),
    ("http://ex\nample.com", "control_character"),
    ("java\tscript:alert(1)", "control_character"),
    ("\x01https://example.com", "control_character"),
    ("https://a.com/\r", "control_character"),
    ("https://a.com/\x7f", "control_character"),
    ("https://a.com/\x85", "control_character"),
    ("https://a.com/\u2028", "control_character"),
    ("https://a.com/\u2029", "control_character"),
    ("https://a.com/\u200b", "control_character"),
    ("https://a.com/\u200f", "control_character"),
    ("https://a.com/\u202e", "control_character"),
    ("https://a.com/\u2066", "control_character"),
    ("\ufeffhttps://a.com", "control_character"),
    ("https://a.com/\ud800", "control_character"),
    ("https:/x", "missing_host"),
    ("https:x", "missing_host"),
    ("https:", "missing_host"),
    ("https://", "missing_host"),
    ("https:///evil.com", "missing_host"),
    ("https://:8080/", "missing_host"),
    ("http://exa mple.com", "whitespace"),
    ("HTTPS://Shop.Example.COM:443/a b", "whitespace"),
    ("https://a.com/?q=a b", "whitespace"),
    ("https://a.com/\u3000", "whitespace"),
    ("https://a.com/\xa0", "whitespace"),
    ("https://a_b.example.com", "invalid_host"),
    ("https://a..com", "invalid_host"),
    ("https://a.com..", "invalid_host"),
    ("https://.a.com", "invalid_host"),
    ("https://-a.com", "invalid_host"),
    ("https://xn--zz.com", "invalid_host"),
    ("https://i❤.ws", "invalid_host"),
    ("https://ex%61mple.com/", "invalid_host"),
    ("https://a" + "b" * 63 + ".com", "invalid_host"),
    ("https://" + ".".join(["a" * 60] * 5), "invalid_host"),
    ("https://127.1/", "invalid_host"),
    ("https://0x7f.0.0.1/", "invalid_host"),
    ("https://2130706433/", "invalid_host"),
    ("https://01.2.3.4/", "invalid_host"),
    ("https://1.2.3.4.5/", "invalid_host"),
    ("https://256.1.1.1/", "invalid_host"),
    ("https://example.123/", "invalid_host"),
    ("https://[fe80::1%25eth0]/", "invalid_host"),
    ("https://[::1/", "invalid_host"),
    ("https://[::1]x/", "invalid_host"),
    ("https://[1.2.3.4]/", "invalid_host"),
    ("https://2001:db8::1/", "invalid_host"),
    ("https://a.com:0", "invalid_port"),
    ("https://a.com:65536", "invalid_port"),
    ("https://a.com:", "invalid_port"),
    ("https://a.com:8o", "invalid_port"),
    ("https://a.com:+80", "invalid_port"),
    ("https://a.com:١٢", "invalid_port"),
    ("https://a.com/" + "x" * (MAX_URL_LENGTH - 13), "too_long"),
    ("https://a.com/" + "中" * 1400, "too_long"),
    ("https://a.com/" + "x" * 20_000, "too_long"),
]


@pytest.mark.parametrize(("raw", "code"), REJECTED)
def test_rejected_urls_name_the_field_and_code(raw: str, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        canonicalize_destination(raw, field="items.3.url")
    [error] = info.value.errors
    assert (error.field, error.code) == ("items.3.url", code)
    assert error.message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("example.com/x", "add https:// in front, e.g. https://example.com/x"),
        ("http://evil.com\t", "found U+0009 at position 16"),
        ("  \x00", "found U+0000 at position 3"),
        ("https://a.com/\u200b", "found U+200B ZERO WIDTH SPACE at position 15"),
        ("javascript:alert(1)", "only http and https"),
        ("https://a.com:0", "from 1 to 65535"),
    ],
)
def test_rejection_messages_say_what_to_fix(raw: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        canonicalize_destination(raw)
    assert message in info.value.errors[0].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("\u3000", None),
        (" summer ", "summer"),
        ("e\u0301te\u0301", "\u00e9t\u00e9"),
        ("双11大促", "双11大促"),
        ("a b", "a b"),
        ("#x", "#x"),
        ("a&b=c", "a&b=c"),
        ("100%", "100%"),
        ("🎉 sale 😀", "🎉 sale 😀"),
        ("x" * 200, "x" * 200),
        (" " + "x" * 200 + " ", "x" * 200),
    ],
)
def test_clean_utm_value(value: str | None, expected: str | None) -> None:
    assert clean_utm_value("utm_campaign", value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("sale\tx", "control_character"),
        ("x\n", "control_character"),
        ("\x00", "control_character"),
        ("a\u200bb", "control_character"),
        ("a\u202eb", "control_character"),
        ("a\u2028b", "control_character"),
        ("\ufeffa", "control_character"),
        ("x" * 201, "too_long"),
    ],
)
def test_clean_utm_value_rejects(value: str, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        clean_utm_value("utm_campaign", value)
    [error] = info.value.errors
    assert (error.field, error.code) == ("utm_campaign", code)


def test_utm_control_character_message() -> None:
    with pytest.raises(InvalidInput) as info:
        clean_utm_value("utm_campaign", "sale\tx")
    assert str(info.value) == (
        "utm_campaign: must not contain control characters (found U+0009 at position 5)"
    )


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("双11大促", "%E5%8F%8C11%E5%A4%A7%E4%BF%83"),
        ("a b", "a%20b"),
        ("#x", "%23x"),
        ("a&b=c", "a%26b%3Dc"),
        ("100%", "100%25"),
        ("😀", "%F0%9F%98%80"),
        ("a+b", "a%2Bb"),
        ("%2B", "%252B"),
        ("?/:@", "%3F%2F%3A%40"),
        ("snake_case-1.0~x", "snake_case-1.0~x"),
    ],
)
def test_utm_values_are_percent_encoded_and_round_trip(value: str, encoded: str) -> None:
    final = build_final_url("https://a.com/p?x=1#f", utm={"utm_campaign": value}, bound={})
    assert final == f"https://a.com/p?x=1&utm_campaign={encoded}#f"
    assert query_params(final) == [("x", "1"), ("utm_campaign", value)]


def test_utm_values_appended_in_field_order_after_bound() -> None:
    utm = {"utm_content": "c", "utm_source": "ig", "utm_medium": None, "utm_term": " "}
    final = build_final_url("https://a.com/p#f", utm=utm, bound={"src": "hoplink"})
    assert final == "https://a.com/p?src=hoplink&utm_source=ig&utm_content=c#f"


def test_nothing_to_add_leaves_destination_untouched() -> None:
    for destination in ("https://a.com/", "https://a.com/?", "https://a.com/?a=1#x"):
        assert build_final_url(destination, utm={}, bound={}) == destination


CONFLICT_DEST = "https://a.com/?utm_source=newsletter&utm_campaign=summer+sale&x=1"


def test_utm_conflict_with_destination() -> None:
    with pytest.raises(InvalidInput) as info:
        build_final_url(CONFLICT_DEST, utm={"utm_source": "facebook"}, bound={})
    [error] = info.value.errors
    assert error.field == "utm_source"
    assert error.code == "utm_conflict"
    assert error.message == (
        "the destination URL already sets utm_source=newsletter; "
        "remove it from the URL or leave this field empty"
    )


def test_all_utm_conflicts_are_reported() -> None:
    with pytest.raises(InvalidInput) as info:
        build_final_url(CONFLICT_DEST, utm={"utm_source": "fb", "utm_campaign": "winter"}, bound={})
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("utm_source", "utm_conflict"),
        ("utm_campaign", "utm_conflict"),
    ]


def test_same_utm_value_is_not_duplicated() -> None:
    utm = {"utm_source": " newsletter ", "utm_campaign": "summer sale"}
    assert build_final_url(CONFLICT_DEST, utm=utm, bound={}) == CONFLICT_DEST


def test_empty_utm_field_keeps_the_urls_own_value() -> None:
    final = build_final_url(CONFLICT_DEST, utm={"utm_source": "", "utm_medium": "email"}, bound={})
    assert final == CONFLICT_DEST + "&utm_medium=email"


def test_unknown_utm_field_is_rejected() -> None:
    with pytest.raises(InvalidInput) as info:
        build_final_url("https://a.com/", utm={"utm_id": "x"}, bound={})
    assert (info.value.errors[0].field, info.value.errors[0].code) == ("utm_id", "unknown_field")


@pytest.mark.parametrize(
    ("destination", "bound", "expected"),
    [
        (
            "https://a.com/?aff_seller=evil&x=1",
            {"aff_seller": "s1"},
            "https://a.com/?aff_seller=s1&x=1",
        ),
        (
            "https://a.com/?aff_seller=a&x=1&aff_seller=b#f",
            {"aff_seller": "s1"},
            "https://a.com/?aff_seller=s1&x=1#f",
        ),
        (
            "https://a.com/?x=1&aff%5Fseller=evil",
            {"aff_seller": "s1"},
            "https://a.com/?x=1&aff_seller=s1",
        ),
        ("https://a.com/?x=1", {"ref": "a b&c"}, "https://a.com/?x=1&ref=a%20b%26c"),
        (
            "https://a.com/?Aff_Seller=kept",
            {"aff_seller": "s1"},
            "https://a.com/?Aff_Seller=kept&aff_seller=s1",
        ),
    ],
)
def test_bound_parameters_replace_in_place_or_append(
    destination: str, bound: dict[str, str], expected: str
) -> None:
    assert build_final_url(destination, utm={}, bound=bound) == expected


@pytest.mark.parametrize(
    "destination",
    ["https://a.com/?hl_click=abc", "https://a.com/?x=1&hl%5Fclick", "https://a.com/?HL_Click=1"],
)
def test_click_id_parameter_is_reserved(destination: str) -> None:
    with pytest.raises(InvalidInput) as info:
        build_final_url(destination, utm={}, bound={})
    [error] = info.value.errors
    assert (error.field, error.code) == ("url", "reserved_parameter")


@pytest.mark.parametrize(
    ("bound", "code"),
    [
        ({"utm_source": "x"}, "reserved_parameter"),
        ({"hl_click": "x"}, "reserved_parameter"),
        ({"a&b": "x"}, "invalid_name"),
    ],
)
def test_unvalidated_bound_names_are_refused(bound: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        build_final_url("https://a.com/", utm={}, bound=bound)
    [error] = info.value.errors
    assert (error.field, error.code) == (f"param_template.{next(iter(bound))}", code)


def test_query_params_decodes_in_order() -> None:
    url = "https://a.com/?a=1&b=&c&&d=x+y%2B&a=2#e=5"
    assert query_params(url) == [("a", "1"), ("b", ""), ("c", ""), ("d", "x y+"), ("a", "2")]
    assert query_params("https://a.com/#a=1") == []
    assert query_params("https://a.com/?") == []


def test_valid_template_is_returned() -> None:
    template = {
        "aff_seller": "{seller_id}",
        "src": "hoplink",
        "sub": "{channel}-{campaign_id}-{campaign}",
        "x" * 64: "a b",
    }
    assert validate_param_template(template) == template


@pytest.mark.parametrize(
    ("template", "field", "code"),
    [
        ({"aff_seller": "{seller}"}, "param_template.aff_seller", "unknown_placeholder"),
        ({"aff_seller": "{seller_id"}, "param_template.aff_seller", "unbalanced_brace"),
        ({"aff_seller": "seller_id}"}, "param_template.aff_seller", "unbalanced_brace"),
        ({"aff_seller": "{{seller_id}}"}, "param_template.aff_seller", "unbalanced_brace"),
        ({"aff_seller": "{}"}, "param_template.aff_seller", "unknown_placeholder"),
        ({"aff_seller": "a\tb"}, "param_template.aff_seller", "control_character"),
        ({"aff_seller": "x" * 201}, "param_template.aff_seller", "too_long"),
        ({"aff_seller": ""}, "param_template.aff_seller", "required"),
        ({"utm_source": "x"}, "param_template.utm_source", "reserved_parameter"),
        ({"UTM_Source": "x"}, "param_template.UTM_Source", "reserved_parameter"),
        ({"hl_click": "x"}, "param_template.hl_click", "reserved_parameter"),
        ({"a b": "x"}, "param_template.a b", "invalid_name"),
        ({"": "x"}, "param_template.", "invalid_name"),
        ({"x" * 65: "x"}, "param_template." + "x" * 65, "invalid_name"),
        ({"名前": "x"}, "param_template.名前", "invalid_name"),
        ({f"k{i}": "v" for i in range(21)}, "param_template", "too_many_parameters"),
    ],
)
def test_template_errors_name_the_key(template: dict[str, str], field: str, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_param_template(template)
    [error] = info.value.errors
    assert (error.field, error.code) == (field, code)


def test_template_reports_every_problem_under_custom_field() -> None:
    with pytest.raises(InvalidInput) as info:
        validate_param_template(
            {"ok": "{seller_id}", "aff": "{nope}", "utm_x": "{"}, field="workspace.params"
        )
    assert [(e.field, e.code) for e in info.value.errors] == [
        ("workspace.params.aff", "unknown_placeholder"),
        ("workspace.params.utm_x", "reserved_parameter"),
        ("workspace.params.utm_x", "unbalanced_brace"),
    ]


def test_render_template_omits_empty_parameters() -> None:
    template = {
        "aff_seller": "{seller_id}",
        "src": "hoplink",
        "cmp": "{campaign}",
        "sub": "{channel}-{campaign_id}",
    }
    context = {"seller_id": "s-42", "campaign": None, "channel": "tiktok", "campaign_id": "7"}
    assert render_param_template(template, context) == {
        "aff_seller": "s-42",
        "src": "hoplink",
        "sub": "tiktok-7",
    }


def test_render_refuses_unknown_placeholder() -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        render_param_template({"a": "{evil}"}, {"evil": "x"})


def test_full_flow_with_template_and_utm() -> None:
    template = validate_param_template({"aff_seller": "{seller_id}", "src": "hoplink"})
    bound = render_param_template(template, {"seller_id": "s1"})
    destination = canonicalize_destination(
        "https://shop.example.com/商品?aff_seller=someone-else&id=9#reviews"
    )
    final = build_final_url(
        destination, utm={"utm_source": "ig", "utm_campaign": "双11大促"}, bound=bound
    )
    assert final == (
        "https://shop.example.com/%E5%95%86%E5%93%81?aff_seller=s1&id=9&src=hoplink"
        "&utm_source=ig&utm_campaign=%E5%8F%8C11%E5%A4%A7%E4%BF%83#reviews"
    )
    assert [name for name, _ in query_params(final)] == [
        "aff_seller",
        "id",
        "src",
        *(f for f in UTM_FIELDS if f in {"utm_source", "utm_campaign"}),
    ]
