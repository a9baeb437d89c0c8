"""A hostname field is told about domain names, never given a URL's "e.g. https://…"."""

from __future__ import annotations

import pytest

from hoplink.errors import InvalidInput
from hoplink.safety.destination_domains import normalize_hostname
from hoplink.safety.policy import DestinationPolicy


@pytest.mark.parametrize("typed", ["", "   ", ":80"])
def test_an_empty_hostname_is_asked_for_a_domain_name(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalize_hostname(typed, policy=DestinationPolicy(), own_hosts=[])
    [error] = refused.value.errors
    assert (error.field, error.code) == ("hostname", "missing_hostname")
    assert "domain name" in error.message and "https://" not in error.message


def test_no_hostname_refusal_suggests_a_url() -> None:
    for typed in ["::1", "a b", "-", "xn--", "shop.example.com:99999"]:
        with pytest.raises(InvalidInput) as refused:
            normalize_hostname(typed, policy=DestinationPolicy(), own_hosts=[])
        assert all("https://" not in e.message for e in refused.value.errors), typed


def test_a_domain_name_is_kept() -> None:
    host = normalize_hostname(" Shop.Example.COM ", policy=DestinationPolicy(), own_hosts=[])
    assert host == "shop.example.com"
