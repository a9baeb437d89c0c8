"""The conversions report as CSV: the one writer behind the API's ``format=csv`` and the
dashboard's "Export orders CSV".

With a group: one row per value (value, label, every metric). Without: the series (time,
orders, GMV, net GMV). Either way a last ``total`` row carries every metric of the report,
so commission, spend and ROAS are in the file. Campaign names and tags are typed by
sellers: a cell a spreadsheet would run as a formula is prefixed with a quote.
"""

from __future__ import annotations

import csv
import io

from hoplink.analytics.conversions import ConversionReport, Metrics
from hoplink.csvformula import neutralise_text

COLUMNS = tuple(Metrics().out())
SERIES_COLUMNS = ("orders", "gmv", "net_gmv")
# The series' own columns first (as before the total row existed), then the others.
_SERIES_HEADER = (*SERIES_COLUMNS, *(c for c in COLUMNS if c not in SERIES_COLUMNS))


def report_csv(r: ConversionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    totals = r.totals.out()
    if r.groups:
        name, rows = next(iter(r.groups.items()))
        writer.writerow((name, "label", *COLUMNS))
        for v, lb, m in rows:
            values = m.out()
            writer.writerow(
                (neutralise_text(v), neutralise_text(lb), *(values[c] for c in COLUMNS))
            )
        writer.writerow(("total", "", *(totals[c] for c in COLUMNS)))
    else:
        writer.writerow(("time", *_SERIES_HEADER))
        for t, m in r.series:
            values = m.out()
            rest = ("",) * (len(_SERIES_HEADER) - len(SERIES_COLUMNS))
            writer.writerow((t.isoformat(), *(values[c] for c in SERIES_COLUMNS), *rest))
        writer.writerow(("total", *(totals[c] for c in _SERIES_HEADER)))
    return out.getvalue()
