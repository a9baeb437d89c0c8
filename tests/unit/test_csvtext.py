"""csvtext: lenient like csv.reader, but a quote never closed refuses the file."""

from __future__ import annotations

import csv
import io

import pytest

from hoplink.csvtext import UnreadableCsv, numbered_rows, rows


def test_records_carry_the_line_they_start_on() -> None:
    text = 'a,b\n"two\nlines",2\n\nlast,3\n'
    assert numbered_rows(text) == [
        (1, ["a", "b"]),
        (2, ["two\nlines", "2"]),
        (4, []),
        (5, ["last", "3"]),
    ]


@pytest.mark.parametrize(
    "text",
    [
        'a,b"c\n',  # a quote inside an unquoted cell is a character
        'a,"b""",c\n',  # a doubled quote inside a quoted cell
        'x,"a"b,c\n',  # text after a closing quote (the strict reader refuses it)
        ' "a,b\n',  # a quote after a space does not open a cell
        'a;"b;c";d\r\n',
    ],
)
def test_what_the_lenient_reader_forgives_is_still_read(text: str) -> None:
    delimiter = ";" if ";" in text else ","
    expected = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert rows(text, delimiter=delimiter) == expected


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('h\nok,1\nbad,"1\nok,2\nok,3\n', 3),
        ('h\nok,"1""\n', 2),
        ('h\nok,1\n"', 3),
        ('h\nbad,"1\n' + "x,1\n" * 20_000, 2),  # past the 128 KB cell limit
    ],
)
def test_a_quote_never_closed_names_its_line(text: str, line: int) -> None:
    with pytest.raises(UnreadableCsv) as caught:
        rows(text)
    assert (caught.value.code, caught.value.line) == ("unclosed_quote", line)


def test_a_giant_cell_that_closes_is_unreadable_not_a_crash() -> None:
    with pytest.raises(UnreadableCsv) as caught:
        rows('h\n"' + "x" * 200_000 + '"\n')
    assert (caught.value.code, caught.value.line) == ("unreadable_csv", 2)
