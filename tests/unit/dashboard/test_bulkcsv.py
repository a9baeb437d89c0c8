"""Reading a bulk upload: delimiters Excel writes, quotes, columns named twice."""

from __future__ import annotations

import pytest

from hoplink.dashboard.bulkcsv import UploadError, parse


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_header_decides_the_delimiter(delimiter: str) -> None:
    """Excel saves CSV with ';' where the decimal separator is a comma: such a file was
    read one URL per line, and a row that happened to look like a URL was created as a
    link to 'https://shop.example.com/s/2;tiktok;…' (QA finding)."""
    d = delimiter
    text = f'url{d}utm_source{d}title\r\nhttps://shop.example.com/s/2{d}tiktok{d}"A{d} B"\r\n'
    [row] = parse(text)
    assert row.line == 2
    assert row.values["url"] == "https://shop.example.com/s/2"
    assert row.values["utm_source"] == "tiktok"
    assert row.values["title"] == f"A{d} B"


def test_urls_one_per_line_keep_their_semicolons_and_commas() -> None:
    rows = parse("https://shop.example.com/a;b?x=1,2\nhttps://shop.example.com/c\n")
    assert [r.values["url"] for r in rows] == [
        "https://shop.example.com/a;b?x=1,2",
        "https://shop.example.com/c",
    ]


def test_a_quote_never_closed_refuses_the_upload_naming_its_line() -> None:
    """The rows under the quote became one title and were neither created nor reported."""
    text = 'url,title\nhttps://a.example.com/1,"oops\nhttps://a.example.com/2,t\n'
    with pytest.raises(UploadError) as caught:
        parse(text)
    assert caught.value.params == {"line": 2}


def test_a_row_spanning_lines_has_the_line_it_starts_on() -> None:
    rows = parse('url,notes\nhttps://a.example.com/1,"one\ntwo"\nhttps://a.example.com/2,\n')
    assert [(r.line, r.values["notes"]) for r in rows] == [(2, "one\ntwo"), (4, "")]


def test_a_column_named_twice_is_refused() -> None:
    """The second 'url' silently won (a link to the other column's address was made)."""
    with pytest.raises(UploadError) as caught:
        parse("url,URL\nhttps://a.example.com/x,https://b.example.com/y\n")
    assert caught.value.params == {"line": 1, "column": "'url'"}
