"""The readers of exported files, on fixtures written from each format's documentation."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hoplink.errors import InvalidInput
from hoplink.imports.formats import read, read_csv, read_yourls_dump
from hoplink.imports.models import Source, SourceLink

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
        "url: the URL is empty",
        "clicks: 'lots' is not a whole number",
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


def test_click_counts_out_of_range_and_not_numbers_say_which() -> None:
    text = "url,clicks\n" + "".join(
        f"https://shop.example.com/{i},{c}\n" for i, c in enumerate(["-5", "²", "1.5", '"1,024"'])
    )
    rows = read_csv(text)
    assert [r.problem for r in rows] == [
        "clicks: must be 0 or more, not -5",
        "clicks: '²' is not a whole number",  # "²".isdigit() is True: it was a server error
        "clicks: '1.5' is not a whole number",
        None,
    ]
    assert rows[3].clicks == 1024
    dump = (
        "INSERT INTO `yourls_url` VALUES ('a','https://shop.example.com/y','t','2020','ip','-5');"
    )
    assert read_yourls_dump(dump)[0].problem == "clicks: must be 0 or more, not -5"


def test_unreadable_short_urls_and_domains_refuse_their_row() -> None:
    rows = read_csv(
        "url,short_url,domain\n"
        "https://shop.example.com/1,http://[::1/x,\n"  # urlsplit raised: a server error
        "https://shop.example.com/2,,a/b\n"
        "https://shop.example.com/3,sho.rt/ok,\n"
    )
    assert rows[0].problem == "short_url: 'http://[::1/x' is not a URL"
    assert rows[1].problem == "domain: 'a/b' is not a host name"
    assert rows[2].problem is None and (rows[2].domain, rows[2].code) == ("sho.rt", "ok")


@pytest.mark.parametrize("source", [Source.CSV, Source.YOURLS])
def test_an_old_short_domain_that_is_no_host_name_is_refused(source: Source) -> None:
    with pytest.raises(InvalidInput) as refused:
        read(source, "url\nhttps://shop.example.com/1\n", domain="sho rt/x")
    assert refused.value.errors[0].field == "domain"
    assert read(source, "url\nhttps://shop.example.com/1\n", domain="  ") == read(
        source, "url\nhttps://shop.example.com/1\n"
    )


def test_a_csv_the_csv_module_cannot_read_is_refused_naming_content() -> None:
    huge = "x" * (csv.field_size_limit() + 1)
    with pytest.raises(InvalidInput) as refused:
        read_csv(f"url,title\nhttps://shop.example.com/1,{huge}\n")
    assert (refused.value.errors[0].field, refused.value.errors[0].code) == (
        "content",
        "unreadable_csv",
    )
