"""CSV renderings of a series and of a breakdown.

Values such as browser families come from visitors' user agents, so a cell that a
spreadsheet would run as a formula is prefixed with a quote (hoplink.csvformula).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from hoplink.analytics.models import BreakdownItem, Point
from hoplink.csvformula import neutralise


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return out.getvalue()


def series_csv(points: Sequence[Point]) -> str:
    return _csv(
        ("time", "pv", "human_pv", "bot_pv", "uv"),
        ((p.start.isoformat(), p.pv, p.human_pv, p.bot_pv, p.uv) for p in points),
    )


def breakdown_csv(items: Sequence[BreakdownItem]) -> str:
    return _csv(
        ("value", "label", "pv", "human_pv", "bot_pv", "uv", "share"),
        ((i.value, i.label or "", i.pv, i.human_pv, i.bot_pv, i.uv, i.share) for i in items),
    )
