"""``hoplink import``: dry run by default, --apply, the mapping file, a second run."""

from __future__ import annotations

import csv
from pathlib import Path

from cli_harness import Cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


def test_import_dry_run_apply_and_again(cli: Cli, tmp_path: Path) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    dump = str(FIXTURES / "yourls.sql")
    dry = cli.ok("import", "yourls", dump, "-w", "acme", "--domain", "s.old.example").stdout
    assert "dry run — nothing written" in dry and "create 3" in dry and "refused 1" in dry
    assert "duplicate 1" in dry and "row 3: refused: url:" in dry
    assert "No links" in cli.ok("link", "list", "-w", "acme").stdout

    mapping = tmp_path / "mapping.csv"
    done = cli.ok(
        "import", "yourls", dump, "-w", "acme", "--domain", "s.old.example", "--apply",
        "--mapping", str(mapping),
    ).stdout  # fmt: skip
    assert "imported: rows 5, create 3" in done
    rows = list(csv.DictReader(mapping.open(encoding="utf-8")))
    assert [r["old_short_url"] for r in rows][:2] == [
        "https://s.old.example/ozh",
        "https://s.old.example/cjk",
    ]
    assert rows[0]["new_short_url"].startswith("http://hop.test/")
    assert cli.ok("link", "list", "-w", "acme").stdout.count("http://hop.test/") == 3

    again = cli.ok("import", "yourls", dump, "-w", "acme", "--domain", "s.old.example", "--apply")
    assert "unchanged 3" in again.stdout and "create 0" in again.stdout
    assert cli.ok("link", "list", "-w", "acme").stdout.count("http://hop.test/") == 3
    cli.fails("import", "kutt", "-w", "acme")


def test_malformed_files_and_options_are_refused_naming_them(cli: Cli, tmp_path: Path) -> None:
    """Found by the QA pass: a file that is not UTF-8 ended in a traceback; a --domain that
    is no host name was ignored (no code kept, no word said)."""
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("url,title\nhttps://shop.example.com/1,Café\n".encode("latin-1"))
    refused = cli.fails("import", "csv", str(latin), "-w", "acme", "--apply")
    assert f"{latin}: not UTF-8 text" in refused.stderr
    good = tmp_path / "good.csv"
    good.write_text("url,code\nhttps://shop.example.com/1,abc\n", encoding="utf-8")
    refused = cli.fails("import", "csv", str(good), "-w", "acme", "--domain", "sho rt/x", "--apply")
    assert "domain: 'sho rt/x' is not a host name" in refused.stderr
    cli.fails("import", "csv", str(tmp_path), "-w", "acme", code=2)  # a directory
    assert "No links" in cli.ok("link", "list", "-w", "acme").stdout


def test_an_export_into_a_missing_directory_names_the_path(cli: Cli, tmp_path: Path) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    target = tmp_path / "missing" / "acme.json.gz"
    refused = cli.fails("workspace", "export", "acme", "--to", str(target))
    assert str(tmp_path / "missing") in refused.stderr and "database" not in refused.stderr
