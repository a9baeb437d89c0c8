"""The readers of exported files, on fixtures written from each format's documentation."""

from __future__ import annotations

from pathlib import Path

from hoplink.imports.formats import read_csv, read_yourls_dump
from hoplink.imports.models import SourceLink

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
BRAND = "go.xn--jvr800e.cn"  # go.品牌.cn


def test_bitly_export_columns_idn_domains_and_thousands() -> None:
    rows = read_csv((FIXTURES / "bitly.csv").read_text())
    assert rows[0] == SourceLink(
        row=1,
        url="https://shop.example.com/item/1?sku=42",
        code="red",
        domain=BRAND,
        title="Red shoes 红色鞋子",
        tags=("summer", "鞋"),
        clicks=1200,
    )
    assert (rows[1].domain, rows[1].code) == ("bit.ly", "3xBlue")
    assert rows[2].url == "https://例子.测试/商品/3"  # the link service canonicalises it
    assert rows[6].domain == BRAND and rows[6].clicks == 1024  # "go.品牌.cn", "1,024"
    assert rows[5].key == rows[0].key  # the same short URL twice


def test_shlink_export_tags_joined_with_bars() -> None:
    rows = read_csv((FIXTURES / "shlink.csv").read_text())
    assert rows[0].tags == ("q4", "促销") and rows[0].clicks == 300
    assert rows[0].old_short_url == f"https://{BRAND}/abc123"


def test_generic_csv_rows_that_cannot_be_read_say_why() -> None:
    rows = read_csv((FIXTURES / "generic.csv").read_text(), domain="Old.Example")
    assert [r.problem for r in rows] == [
        None,
        None,
        "the URL is empty",
        "the click count is not a whole number",
    ]
    assert rows[0].tags == ("a", "b") and rows[0].key == "url:https://shop.example.com/item/30"
    assert rows[1].key == "old.example/mycode"
    assert read_csv("title\nno url column\n")[0].problem is not None
    assert read_csv("") == []


def test_yourls_dump_values_escapes_and_other_tables() -> None:
    rows = read_yourls_dump((FIXTURES / "yourls.sql").read_text(), domain="go.品牌.cn")
    assert [r.code for r in rows] == ["ozh", "cjk", "evil", "idn", "ozh"]
    assert rows[0].title == 'Ozh\'s "shop" 商店' and rows[0].clicks == 77
    assert rows[0].url == "https://shop.example.com/item/20?a=1&b=2"
    assert rows[1].title == "中文标题\\测试"
    assert rows[2].title is None  # NULL
    assert all(r.domain == BRAND for r in rows)
    assert not any("203.0.113" in repr(r) for r in rows)  # the ip column is never kept


def test_yourls_dump_with_column_list_and_doubled_quotes() -> None:
    dump = (
        "INSERT INTO `yourls_url` (`keyword`, `url`, `title`, `timestamp`, `ip`, `clicks`)"
        " VALUES ('a1','https://x.example/?q=it''s','t,(1)','2024-01-01','::1',5);"
    )
    [row] = read_yourls_dump(dump)
    assert (row.code, row.url, row.title, row.clicks) == (
        "a1",
        "https://x.example/?q=it's",
        "t,(1)",
        5,
    )
    broken = read_yourls_dump("INSERT INTO `yourls_url` VALUES ('a','b")
    assert broken[-1].problem is not None and broken[-1].problem.startswith("unreadable SQL")
