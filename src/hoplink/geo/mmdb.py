"""Country from a MaxMind-format database (GeoLite2-Country, DB-IP IP-to-Country Lite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import maxminddb

from hoplink.geo import iso_country


class MaxMindLookup:
    def __init__(self, path: Path) -> None:
        # MODE_AUTO: the C extension over a memory map when available (~1 µs a lookup).
        self._reader = maxminddb.open_database(str(path))

    def country(self, ip: str) -> str | None:
        try:
            record: Any = self._reader.get(ip)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        for key in ("country", "registered_country"):
            section = record.get(key)
            if isinstance(section, dict) and (code := iso_country(section.get("iso_code"))):
                return code
        return None

    def close(self) -> None:
        self._reader.close()
