"""Verdicts from answers and failures, and the shipped marketplace presets (pure)."""

# ruff: noqa: E501 - the tables of cases read best one case per line

from __future__ import annotations

import pytest

from hoplink.linkhealth.markers import load_presets, parse_presets, preset_for
from hoplink.linkhealth.service import newsworthy, target_urls, worst_of
from hoplink.linkhealth.verdict import judge_answer, judge_failure, judge_redirect

PRESETS = load_presets()
PAGE = b"<html><h1>Phone case</h1><button>Add to cart</button></html>"


@pytest.mark.parametrize(
    ("url", "status", "final", "body", "want"),
    [
        ("https://shopee.sg/p-1", 200, "https://shopee.sg/p-1", PAGE, ("healthy", "ok")),
        ("https://shopee.sg/p-1", 200, "https://shopee.sg/p-1", b"<b>Sold out</b>", ("degraded", "sold_out")),
        ("https://shopee.sg/p-1", 200, "https://shopee.sg/p-1", "Hết hàng".encode(), ("degraded", "sold_out")),
        ("https://shopee.sg/p-1", 200, "https://shopee.sg/search?keyword=x", PAGE, ("broken", "redirected_search")),
        ("https://shopee.sg/p-1", 200, "https://shopee.sg/", PAGE, ("broken", "redirected_home")),
        ("https://shopee.sg/p-1", 200, "https://scam.example/p-1", PAGE, ("broken", "redirected_off_host")),
        ("https://shopee.sg/p-1", 200, "https://shopee.com.my/p-1", PAGE, ("healthy", "ok")),
        ("http://shopee.sg/p-1", 200, "https://www.shopee.sg/p-1", PAGE, ("healthy", "ok")),
        ("https://www.amazon.de/dp/B0X", 200, "https://www.amazon.de/dp/B0X", "Derzeit nicht verfügbar.".encode(), ("degraded", "sold_out")),
        ("https://www.amazon.com/dp/B0X", 200, "https://www.amazon.com/s?k=case", PAGE, ("broken", "redirected_search")),
        ("https://www.ebay.com/itm/1", 200, "https://www.ebay.com/itm/1", b"This listing has ended.", ("broken", "listing_ended")),
        ("https://www.etsy.com/listing/1", 200, "https://www.etsy.com/listing/1", b"Sorry, this item is sold out", ("degraded", "sold_out")),
        ("https://articulo.mercadolibre.com.mx/MLM-1", 200, "https://listado.mercadolibre.com.mx/case", PAGE, ("broken", "redirected_search")),
        ("https://www.lazada.sg/products/x.html", 200, "https://www.lazada.sg/catalog/?q=x", PAGE, ("broken", "redirected_search")),
        ("https://shop.example.com/p", 200, "https://shop.example.com/p", b"Sold out", ("healthy", "ok")),
        ("https://shop.example.com/p", 404, "https://shop.example.com/p", PAGE, ("broken", "http_404")),
        ("https://shop.example.com/p", 410, "https://shop.example.com/p", PAGE, ("broken", "http_410")),
        ("https://shop.example.com/p", 403, "https://shop.example.com/p", PAGE, ("degraded", "http_403")),
        ("https://shop.example.com/p", 503, "https://shop.example.com/p", PAGE, ("degraded", "http_503")),
        # A link that itself points at a search page is not "delisted" for staying there.
        ("https://shopee.sg/search?keyword=case", 200, "https://shopee.sg/search?keyword=case", PAGE, ("healthy", "ok")),
    ],
)  # fmt: skip
def test_answers(url: str, status: int, final: str, body: bytes, want: tuple[str, str]) -> None:
    verdict = judge_answer(
        url, status=status, final_url=final, body=body,
        content_type="text/html; charset=utf-8", presets=PRESETS,
    )  # fmt: skip
    assert (verdict.state, verdict.reason) == want


def test_broken_marker_wins_over_sold_out() -> None:
    body = b"Sold out ... The product doesn't exist"
    verdict = judge_answer(
        "https://shopee.sg/p", status=200, final_url="https://shopee.sg/p", body=body,
        content_type=None, presets=PRESETS,
    )  # fmt: skip
    assert (verdict.state, verdict.reason) == ("broken", "not_found")


def test_a_page_not_read_is_not_judged_by_markers() -> None:
    verdict = judge_answer(
        "https://shopee.sg/p", status=200, final_url="https://shopee.sg/p", body=None,
        content_type=None, presets=PRESETS,
    )  # fmt: skip
    assert verdict.state == "healthy"
    assert judge_redirect("https://shopee.sg/p", "https://shopee.sg/p", PRESETS) is None


@pytest.mark.parametrize(
    ("code", "refused", "want"),
    [
        ("timeout", False, ("degraded", "timeout")),
        ("network", False, ("degraded", "unreachable")),
        ("tls", False, ("broken", "tls")),
        ("dns", False, ("broken", "dns")),
        ("too_many_redirects", False, ("broken", "redirect_loop")),
        ("private_address", True, ("broken", "refused")),
    ],
)
def test_failures(code: str, refused: bool, want: tuple[str, str]) -> None:
    verdict = judge_failure(code, "why", refused=refused)
    assert (verdict.state, verdict.reason) == want


def test_shipped_presets_cover_the_main_marketplaces() -> None:
    names = {p.name for p in PRESETS}
    assert {"Amazon", "Shopee", "Lazada", "AliExpress", "Temu", "TikTok Shop", "eBay", "Etsy",
            "Mercado Libre"} <= names  # fmt: skip
    preset = preset_for("www.aliexpress.us", PRESETS)
    assert preset is not None and preset.name == "AliExpress"
    assert preset_for("notamazon.com", PRESETS) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ('{"presets": {"x": {"hosts": []}}}', "presets.x.hosts"),
        ('{"presets": {"x": {"hosts": ["a.com"], "markers": [{"text": "t", "state": "bad"}]}}}',
         "presets.x.markers[0].state"),
        ('{"presets": {"x": {"hosts": ["a.com"], "delisted_paths": ["("]}}}', "not a regex"),
    ],
)  # fmt: skip
def test_bad_preset_files_name_the_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_presets(text)


def test_targets_worst_and_news() -> None:
    routing = (
        '{"rules": [{"id": "rul_1", "name": null, "match": "all", "conditions": '
        '[{"type": "os", "values": ["ios"]}], "action": {"type": "url", '
        '"url": "https://b.example/x"}}], "ab": {"id": "abt_1", "started_at": '
        '"2026-12-01T00:00:00+00:00", "variants": [{"id": "v1", "url": null, "weight": 1}, '
        '{"id": "v2", "url": "https://c.example/y", "weight": 1}]}}'
    )
    assert target_urls("https://a.example/", routing) == (
        "https://a.example/", "https://b.example/x", "https://c.example/y",
    )  # fmt: skip
    assert target_urls("https://fallback.example/", None, "https://a.example/") == (
        "https://a.example/",
    )
    from hoplink.linkhealth.models import Verdict

    checked = [
        ("u1", Verdict("healthy", "ok")),
        ("u2", Verdict("degraded", "timeout")),
        ("u3", Verdict("degraded", "http_503")),
    ]
    assert worst_of(checked)[0] == "u2"
    assert not newsworthy("unknown", "healthy") and newsworthy("unknown", "broken")
    assert newsworthy("broken", "healthy") and not newsworthy("healthy", "unknown")
