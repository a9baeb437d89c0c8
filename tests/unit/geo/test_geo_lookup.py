"""Country lookups: the bundled registry data and a MaxMind-format file."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from hoplink.geo import iso_country, open_geo_lookup
from hoplink.geo.mmdb import MaxMindLookup
from hoplink.geo.registry import RegistryLookup


def test_default_lookup_works_offline_from_the_bundled_data() -> None:
    geo = open_geo_lookup(None)
    assert isinstance(geo, RegistryLookup)
    assert geo.country("1.0.16.1") == "JP"  # APNIC allocation to Japan
    assert geo.country("8.8.8.8") == "US"
    assert geo.country("2001:4860:4860::8888") == "US"
    assert geo.country("127.0.0.1") is None
    assert geo.country("not an ip") is None


@pytest.fixture
def mmdb(tmp_path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "NZ"}})
    writer.insert_network(IPSet(["198.51.100.0/24"]), {"registered_country": {"iso_code": "fr"}})
    writer.insert_network(IPSet(["2001:db8::/32"]), {"country": {"iso_code": "DE"}})
    path = tmp_path / "country.mmdb"
    writer.to_db_file(str(path))
    return path


def test_mmdb_lookup_reads_country_then_registered_country(mmdb: Path) -> None:
    geo = open_geo_lookup(mmdb)
    assert isinstance(geo, MaxMindLookup)
    assert geo.country("203.0.113.77") == "NZ"
    assert geo.country("198.51.100.1") == "FR"
    assert geo.country("2001:db8::5") == "DE"
    assert geo.country("192.0.2.1") is None
    assert geo.country("garbage") is None
    geo.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("de", "DE"), ("US", "US"), ("T1", None), ("", None), ("USA", None), ("é1", None), (1, None)],
)
def test_iso_country_accepts_two_letters_only(value: object, expected: str | None) -> None:
    assert iso_country(value) == expected
