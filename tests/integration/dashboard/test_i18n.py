"""The catalogues: complete, translated, compiled, and chosen as the reader prefers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from hoplink.dashboard.i18n import LOCALE_DIR, LOCALES, negotiate

PACKAGE = LOCALE_DIR.parent
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def _source_messages() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": (2,), "N_": None}
    found = extract_from_dir(
        str(PACKAGE), method_map, options_map=options, keywords=keywords, strip_comment_tags=True
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_its_po_file(locale: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(locale))
    committed = (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == committed, (
        f"run: pybabel compile -d {LOCALE_DIR.relative_to(Path.cwd())} -D messages"
    )


def test_every_message_in_the_code_is_in_the_catalogues_and_translated() -> None:
    wanted = _source_messages()
    assert len(wanted) > 250
    for locale in LOCALES:
        catalog = _catalog(locale)
        ids = {m.id for m in catalog if m.id}
        assert wanted - ids == set(), f"{locale}: run the extract/update in docs/dashboard.md"
    zh = _catalog("zh_CN")
    for message in zh:
        if not message.id:
            continue
        assert message.string, f"untranslated: {message.id!r}"
        assert set(_PLACEHOLDER.findall(message.id)) == set(_PLACEHOLDER.findall(message.string)), (
            message.id
        )


@pytest.mark.parametrize(
    ("header", "cookie", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
        ("zh-TW", None, "zh_CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", None, "en"),
        ("fr-FR,zh;q=0.5", None, "zh_CN"),
        ("fr-FR,de", None, "en"),
        ("", None, "en"),
        ("zh-CN;q=0,en", None, "en"),
        ("en", "zh_CN", "zh_CN"),
        ("zh-CN", "en", "en"),
        ("zh-CN", "xx", "zh_CN"),
    ],
)
def test_the_language_is_the_cookie_or_the_browsers_best(
    header: str, cookie: str | None, expected: str
) -> None:
    assert negotiate(header, cookie) == expected
