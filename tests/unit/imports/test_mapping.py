from __future__ import annotations

import csv
import io

from hoplink.imports.models import Action, ImportReport, RowOutcome, Source
from hoplink.imports.service import mapping_csv


def test_mapping_csv_defuses_formulas() -> None:
    report = ImportReport(
        source=Source.CSV,
        dry_run=True,
        rows=[
            RowOutcome(1, Action.REFUSED, '=HYPERLINK("x")', "@x", reason="-1+1"),
            RowOutcome(2, Action.CREATE, None, None, "http://hop.test/Ab3", "Ab3", 7),
        ],
    )
    rows = list(csv.DictReader(io.StringIO(mapping_csv(report))))
    assert rows[0]["old_short_url"].startswith("'=") and rows[0]["old_code"] == "'@x"
    assert rows[0]["reason"] == "'-1+1"
    assert rows[1]["new_short_url"] == "http://hop.test/Ab3" and rows[1]["imported_clicks"] == "7"


def test_control_characters_are_found_in_codes_and_domains() -> None:
    from hoplink.imports.service import _has_control

    assert _has_control("a\x00b") and _has_control("\x7f") and not _has_control("abc")
    assert not _has_control(None)
