"""The user-agent patterns answered by RE2 (``bots.Search``, the crawler list compiled as
bytes) give exactly the verdicts of the engines they replaced, on ASCII and other text."""

from __future__ import annotations

import re

import re2
from crawlerdetect.providers.crawlers import data as crawler_patterns
from crawlerdetect.providers.exclusions import data as exclusion_patterns
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hoplink.ingest import bots, useragents
from hoplink.ingest.bots import Search

SEARCHES = [bots._ANY_PREVIEW, bots._IN_APP, useragents._OTHER, useragents._TABLET]
# Pieces that make the patterns match (or nearly): literals of the alternatives, word
# boundaries, case variants, and characters where the engines' Unicode rules differ.
PIECES = [
    *re.findall(r"[A-Za-z][A-Za-z_ -]{2,}", "|".join(s.python.pattern for s in SEARCHES)),
    *("Googlebot/2.1", "bingbot", "YandexSearch", "Yandex", "curl/8", "python-requests"),
    *("Mozilla/5.0 (", "; ", ") ", "/", "7", "10", "SM-T5", "KFTT", "AFTB", "GSA/1"),
    *("é", "\u212a", "\u017f", "İ", "ß", "٣", "_", "-", "\n"),
]
AGENT = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=12).map("".join)
FAST = settings(deadline=None, max_examples=400)


@FAST
@given(AGENT, st.sampled_from(SEARCHES), st.booleans())
# Where RE2 and Python's engine differ (a word boundary next to a non-ASCII letter or digit).
@example("Mozilla/5.0 (éKindle)", useragents._TABLET, False)
@example("Kindle٣ Build", useragents._TABLET, False)
@example("éWeChat/8", bots._IN_APP, False)
def test_search_answers_as_pythons_engine(agent: str, search: Search, upper: bool) -> None:
    agent = agent.upper() if upper else agent
    assert search(agent) is (search.python.search(agent) is not None)


def _as_before() -> tuple[object, object]:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 64 << 20
    plain = [p for p in crawler_patterns if "(?" not in p]
    return (
        re2.compile("(" + "|".join(plain) + ")", options),
        re2.compile("(" + "|".join(exclusion_patterns) + ")", options),
    )


CRAWLERS, EXCLUSIONS = _as_before()


@FAST
@given(AGENT)
def test_the_crawler_list_matches_as_before(agent: str) -> None:
    stripped = EXCLUSIONS.sub("", agent).strip()  # type: ignore[attr-defined]
    match = CRAWLERS.search(stripped) if stripped else None  # type: ignore[attr-defined]
    if stripped and match is None and bots._CRAWLERS_LOOKAROUND is not None:
        match = bots._CRAWLERS_LOOKAROUND.search(stripped)
    assert bots.crawler_list_match(agent) == (match.group(0) if match else None)
