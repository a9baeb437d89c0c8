"""Destination policy rules on canonical URLs (no database: the facts come as arguments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoplink.config import load_settings
from hoplink.links.urls import canonicalize_destination
from hoplink.safety.policy import (
    DestinationPolicy,
    matches,
    normalize_pattern,
    policy_from_settings,
)

OPEN = DestinationPolicy.build(blocklist=["evil.example"])
ALLOW = DestinationPolicy.build(mode="allowlist", allowlist=["*.shopee.sg", "amazon.com"])


def code(policy: DestinationPolicy, url: str, **facts: list[str]) -> str | None:
    refused = policy.check(canonicalize_destination(url), **facts)  # type: ignore[arg-type]
    return None if refused is None else refused.code


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com/x", None),
        ("https://8.8.8.8/", None),
        ("https://127.0.0.1/", "private_address"),
        ("https://[::ffff:7f00:1]/", "private_address"),
        ("https://localhost/", "internal_host"),
        ("https://db.internal/", "internal_host"),
        ("https://intranet/", "internal_host"),
        ("https://shop.example.com:25/", "blocked_port"),
        ("https://hop.test/x", "own_domain"),
        ("https://a.hop.test/x", "own_domain"),
        ("https://www.bit.ly/x", "url_shortener"),
        ("https://sub.evil.example/", "blocked_domain"),
        ("https://b\u0456t.ly/x", "confusable_host"),  # Cyrillic i inside a Latin label
        ("https://\u0456\u0455.gd/x", "confusable_host"),  # all-Cyrillic look-alike of is.gd
        ("https://\u043c\u0430\u0433\u0430\u0437\u0438\u043d.\u0440\u0444/", None),  # Russian shop
    ],
)
def test_open_mode(url: str, expected: str | None) -> None:
    assert code(OPEN, url, own_hosts=["hop.test:8080"]) == expected


def test_allowlist_mode_patterns_and_verified_domains() -> None:
    assert code(ALLOW, "https://mall.shopee.sg/x") is None
    assert code(ALLOW, "https://shopee.sg/x") == "not_allowed"  # *. means subdomains only
    assert code(ALLOW, "https://amazon.com/dp/1") is None
    assert code(ALLOW, "https://www.amazon.com/dp/1") == "not_allowed"
    assert code(ALLOW, "https://8.8.8.8/") == "not_allowed"
    assert code(ALLOW, "https://cdn.shop.acme.com/", verified=["acme.com"]) is None
    assert code(ALLOW, "https://bit.ly/x", verified=["bit.ly"]) == "url_shortener"  # blocks win
    message = ALLOW.check(canonicalize_destination("https://x.example/"))
    assert message is not None and message.message.startswith("not allowed: x.example is not")


def test_patterns_normalise_and_refuse_junk() -> None:
    assert normalize_pattern(" *.Shopee.SG. ") == "*.shopee.sg"
    assert normalize_pattern("bücher.de") == "xn--bcher-kva.de"
    assert matches("a.b.shopee.sg", "*.shopee.sg") and not matches("shopee.sg", "*.shopee.sg")
    for bad in ("", "*", "a.*.com", "https://x.com", "x.com/path", "x.com:443", "10.0.0.1"):
        with pytest.raises(ValueError):
            normalize_pattern(bad)


def test_settings_build_the_policy_once_with_the_blocklist_file(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked.txt"
    blocked.write_text("# scams\nscam.example  # reported 2026-11\n\nPHISH.example\n")
    settings = load_settings(
        destination_policy="allowlist",
        destination_allowlist="amazon.com",
        destination_blocklist_file=blocked,
    )
    policy = policy_from_settings(settings)
    assert policy is policy_from_settings(settings)
    assert policy.blocklist == ("scam.example", "phish.example")
    assert code(policy, "https://m.phish.example/") == "blocked_domain"


# Issue 15, finding 7: wildcard-DNS names of private addresses and IDN homographs.
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://localtest.me/", "wildcard_dns"),
        ("https://127.0.0.1.nip.io/", "wildcard_dns"),
        ("https://127-0-0-1.sslip.io/admin", "wildcard_dns"),
        ("https://shop.lvh.me/", "wildcard_dns"),
        ("https://10.0.0.1.xip.io:8080/", "wildcard_dns"),
        ("https://\u0430\u0440\u0440\u04cf\u0435.com/", "confusable_host"),  # whole-script
        ("https://xn--80ak6aa92e.com/", "confusable_host"),  # the same, as punycode
        ("https://\u0455\u0441\u043e\u0440\u0435.com/", "confusable_host"),
        ("https://p\u0430ypal.com/", "confusable_host"),  # mixed Latin and Cyrillic
        ("https://\u03b1\u0440ple.com/", "confusable_host"),  # Greek, Cyrillic and Latin
        # Legitimate: short hosts, single-script names, CJK mixes, same-script TLDs.
        ("https://wa.me/15551234567", None),
        ("https://youtu.be/dQw4w9WgXcQ", None),
        ("https://m.me/shop", None),
        ("https://\u044f\u043d\u0434\u0435\u043a\u0441.\u0440\u0444/", None),
        ("https://\u044f\u043d\u0434\u0435\u043a\u0441.com/", None),
        ("https://\u0430\u0440\u0440\u04cf\u0435.\u0440\u0444/", None),
        ("https://m\u00fcnchen.de/", None),
        ("https://\u4f8b\u3048.jp/", None),
        ("https://\u03c0\u03b1\u03c1\u03ac\u03b4\u03b5\u03b9\u03b3\u03bc\u03b1.gr/", None),
        ("https://\ud55c\uad6d.kr/", None),
    ],
)
def test_wildcard_dns_and_homographs(url: str, expected: str | None) -> None:
    assert code(OPEN, url) == expected
    assert code(DestinationPolicy.build(), url) == expected


def test_the_wildcard_dns_list_is_extended_through_the_blocklist_file(tmp_path: Path) -> None:
    extra = tmp_path / "more.txt"
    extra.write_text("# more wildcard DNS\nnip.example\n")
    policy = DestinationPolicy.build(blocklist_file=extra)
    assert code(policy, "https://127.0.0.1.nip.example/") == "blocked_domain"
