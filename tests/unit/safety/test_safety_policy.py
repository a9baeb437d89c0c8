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
