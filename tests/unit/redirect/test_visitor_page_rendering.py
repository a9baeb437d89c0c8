"""The visitor page's language choice, catalogue and pre-rendering."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from hoplink.redirect.pages import LANGUAGES, MESSAGES, STATUS, VisitorPages, language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        (b"", "en"),
        (b"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        (b"zh-TW", "zh-CN"),
        (b"zh", "zh-CN"),
        (b"en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        (b"fr-FR,zh;q=0.5", "zh-CN"),
        (b"de-DE,de;q=0.9", "en"),
        (b"en;q=0.2, zh-Hans;q=0.7", "zh-CN"),
        (b"*", "en"),
        (b"zh;q=abc, en", "en"),
        (b"zh-CN;q=0", "en"),
        (b"\xff\xfe garbage;;;", "en"),
    ],
)
def test_language_from_accept_language(header: bytes | None, expected: str) -> None:
    assert language(header) == expected


def test_both_languages_translate_every_message_and_chinese_has_no_english_words() -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["zh-CN"]) == {*STATUS, "fallback"}
    for title, message in MESSAGES["zh-CN"].values():
        assert not re.search(r"[A-Za-z]{2,}", title + message), (title, message)


def test_fixed_pages_are_rendered_once_and_their_style_hash_matches() -> None:
    pages = VisitorPages()
    for kind in STATUS:
        for lang in LANGUAGES:
            page = pages.page(kind, lang)
            assert page is pages.page(kind, lang)  # pre-rendered, not rendered per call
            assert page.status == STATUS[kind]
            [style] = re.findall(rb"<style>(.*?)</style>", page.body, re.DOTALL)
            digest = base64.b64encode(hashlib.sha256(style).digest()).decode()
            assert f"style-src 'sha256-{digest}'".encode() in page.csp


def test_a_fallback_page_is_kept_and_escaped() -> None:
    pages = VisitorPages()
    first = pages.page("disabled", "en", 'https://shop.example/"><script>')
    assert first is pages.page("disabled", "en", 'https://shop.example/"><script>')
    assert b"<script>" not in first.body and b"&#34;&gt;&lt;script&gt;" in first.body
    # Rate-limit and outage pages never carry a workspace's link.
    assert b"shop.example" not in pages.page("too_many", "en", "https://shop.example/").body
