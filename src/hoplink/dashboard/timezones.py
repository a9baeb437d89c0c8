"""The time-zone picker: the zones of tzdata's ``zone.tab`` (one or more per country,
canonical names only: no ``US/Eastern``, ``PRC`` or ``Asia/Calcutta``), grouped by
region, each named by its city and country in the reader's language."""

from __future__ import annotations

from functools import cache
from importlib import resources

from babel import Locale

from hoplink.dashboard.i18n import N_, translations

REGIONS: dict[str, str] = {
    "Asia": N_("Asia"),
    "Europe": N_("Europe"),
    "America": N_("Americas"),
    "Africa": N_("Africa"),
    "Australia": N_("Australia"),
    "Pacific": N_("Pacific"),
    "Indian": N_("Indian Ocean"),
    "Atlantic": N_("Atlantic"),
    "Antarctica": N_("Antarctica"),
    "Arctic": N_("Arctic"),
}


@cache
def _zone_tab() -> tuple[tuple[str, str], ...]:
    """(zone, country code) of every row of zone.tab."""
    text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return tuple((row[2], row[0]) for row in rows)


@cache
def zone_names() -> frozenset[str]:
    return frozenset(zone for zone, _ in _zone_tab()) | {"UTC"}


@cache
def zone_groups(locale: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """(region label, ((zone, label), ...)) in the order of ``REGIONS``, zones by label."""
    gettext = translations(locale).gettext
    territories = Locale.parse(locale).territories
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    for zone, country in _zone_tab():
        region, _, place = zone.partition("/")
        city = place.rsplit("/", 1)[-1].replace("_", " ")
        groups[region].append((zone, f"{city} ({territories.get(country, country)})"))
    return tuple(
        (gettext(REGIONS[region]), tuple(sorted(zones, key=lambda z: z[1])))
        for region, zones in groups.items()
        if zones
    )
