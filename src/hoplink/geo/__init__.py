"""IP address → country (ISO 3166-1 alpha-2), at the redirect edge only.

Two implementations of one seam: a MaxMind-format ``.mmdb`` file when the operator
configures one (GeoLite2-Country, DB-IP Lite), else the Regional Internet Registry
allocation data that ships inside the ``iptocc`` wheel, so country works offline with
no download. Accuracy and licences are in ``docs/adr/0001-click-journal.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class GeoLookup(Protocol):
    def country(self, ip: str) -> str | None:
        """The country of a canonical IP address string, or None when unknown."""
        ...


def open_geo_lookup(database: Path | None) -> GeoLookup:
    if database is not None:
        from hoplink.geo.mmdb import MaxMindLookup

        return MaxMindLookup(database)
    from hoplink.geo.registry import RegistryLookup

    return RegistryLookup()


def iso_country(value: object) -> str | None:
    """``value`` if it is two ASCII letters (upper-cased), else None."""
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    return None
