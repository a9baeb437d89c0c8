"""Is this click a person or a machine?

Checked in this order, the first match wins:

1. ``HEAD`` requests: browsers never send them for a navigation; link scanners do (X
   checks shared links with HEAD and a browser user agent).
2. An empty user agent.
3. Link-preview fetchers of social networks and messengers (below): they fetch every
   link that is shared, so sellers see them as their own series, not as visitors.
4. In-app browsers of Facebook, Instagram, TikTok, LINE, WeChat, … are *people*; their
   user agents carry app tokens that generic crawler lists sometimes match, so they are
   recognised here and never checked further.
5. ua-parser's ``Spider`` device class.
6. The crawler list of the ``crawlerdetect`` package (MIT; patterns ship in the wheel,
   nothing is downloaded at run time), compiled with RE2 so the ~1,500 alternatives
   cost tens of microseconds instead of half a millisecond.

Bots are flagged, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import re2
from crawlerdetect.providers.crawlers import data as _crawler_patterns
from crawlerdetect.providers.exclusions import data as _exclusion_patterns

from hoplink.clicks.enriched import BotReason


@dataclass(frozen=True, slots=True)
class BotMatch:
    reason: BotReason
    name: str  # shown in the "bots" breakdown, e.g. "Facebook preview", "Googlebot"


# Preview fetchers: (pattern, name). Case-insensitive; anchored where the token alone would
# also appear in a human user agent.
_PREVIEWS: tuple[tuple[str, str], ...] = (
    (r"facebookexternalhit|facebookcatalog|\bFacebot\b|meta-external(agent|fetcher)", "Facebook"),
    (r"^WhatsApp/", "WhatsApp"),
    (r"TelegramBot", "Telegram"),
    (r"line-poker|LINE-Bot|\bLinebot\b", "LINE"),
    (r"Slackbot|Slack-ImgProxy", "Slack"),
    (r"Twitterbot", "X (Twitter)"),
    (r"Discordbot", "Discord"),
    (r"SkypeUriPreview", "Skype"),
    (r"MicrosoftPreview|Microsoft Office.*Preview", "Microsoft Teams/Outlook"),
    (r"LinkedInBot", "LinkedIn"),
    (r"Pinterestbot|^Pinterest/\d|pinterest\.com/bot", "Pinterest"),
    (r"kakaotalk-scrap", "KakaoTalk"),
    (r"Snap URL Preview", "Snapchat"),
    (r"ZaloBot|zalo-?crawl", "Zalo"),
    (r"vkShare", "VK"),
    (r"redditbot", "Reddit"),
    (r"Google-PageRenderer|Google \(\+https://developers\.google\.com/\+/web/snippet/\)", "Google"),
    (r"Iframely|Embedly", "Embed service"),
    (r"Mastodon/", "Mastodon"),
    (r"Bluesky Cardyb", "Bluesky"),
)


class Search:
    """``pattern.search(text) is not None``, answered by RE2 when the text is ASCII (nearly
    every user agent): in linear time, and 5 to 10 times faster than Python's engine on these
    alternations. On ASCII text both engines agree for the patterns used here (no
    look-around, no back-references); they differ only in what counts as a word character,
    a digit or a case variant beyond ASCII, so other text goes to Python's engine."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.python = re.compile(pattern, flags)
        options = re2.Options()
        options.case_sensitive = not flags & re.IGNORECASE
        self.re2 = re2.compile(pattern.encode(), options)

    def __call__(self, text: str) -> bool:
        if text.isascii():
            return self.re2.search(text.encode()) is not None
        return self.python.search(text) is not None


_PREVIEW_RE = [(re.compile(p, re.IGNORECASE), name) for p, name in _PREVIEWS]
# Any of them: most agents match none, and one pass tells.
_ANY_PREVIEW = Search("|".join(f"(?:{p})" for p, _ in _PREVIEWS), re.IGNORECASE)

# Tokens of in-app browsers (people reading a post and tapping the link). Case-sensitive:
# "Line/13.2" is LINE's in-app browser while "line-poker" is its preview fetcher.
_IN_APP = Search(
    r"FBAN/|FBAV/|FB_IAB|FBIOS|\bInstagram \d|musical_ly|BytedanceWebview|TikTok|"
    r"\bLine/\d|MicroMessenger|\bWeChat\b|Snapchat/?\d|\[Pinterest/|\[LinkedInApp\]|"
    r"Twitter for (iPhone|Android)|TwitterAndroid|Telegram-(Android|iOS)|\bGSA/\d|"
    r"\bViber/\d|KAKAOTALK|\bZalo(App)?[/ ]|Shopee|Lazada"
)


def _compile_crawler_list() -> tuple[Any, Any, re.Pattern[str] | None]:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 64 << 20
    # RE2 has no look-around; the few patterns that use it run on Python's engine.
    plain = [p for p in _crawler_patterns if "(?" not in p]
    special = [p for p in _crawler_patterns if "(?" in p]
    # Compiled as bytes and given UTF-8: the same matches (RE2 works on UTF-8 either way)
    # without google-re2's conversion of every match offset to a character index.
    crawlers = re2.compile(("(" + "|".join(plain) + ")").encode(), options)
    exclusions = re2.compile(("(" + "|".join(_exclusion_patterns) + ")").encode(), options)
    rest = re.compile("(" + "|".join(special) + ")", re.IGNORECASE) if special else None
    return crawlers, exclusions, rest


_CRAWLERS, _EXCLUSIONS, _CRAWLERS_LOOKAROUND = _compile_crawler_list()


def preview_fetcher(user_agent: str) -> str | None:
    if not _ANY_PREVIEW(user_agent):
        return None
    for pattern, name in _PREVIEW_RE:
        if pattern.search(user_agent):
            return name
    return None


def is_in_app_browser(user_agent: str) -> bool:
    return _IN_APP(user_agent)


def crawler_list_match(user_agent: str) -> str | None:
    """The crawler-list entry the user agent matches, as crawlerdetect decides it."""
    # Like crawlerdetect: strip the tokens every browser carries, then look for a crawler.
    text, kept, start = user_agent.encode(), [], 0
    for token in _EXCLUSIONS.finditer(text):
        kept.append(text[start : token.start()])
        start = token.end()
    kept.append(text[start:])
    agent = b"".join(kept).decode().strip()
    if not agent:
        return None
    match = _CRAWLERS.search(agent.encode())
    if match is not None:
        return str(match.group(0).decode())
    if _CRAWLERS_LOOKAROUND is not None and (found := _CRAWLERS_LOOKAROUND.search(agent)):
        return found.group(0)
    return None


def classify_agent(user_agent: str, *, spider_name: str | None) -> BotMatch | None:
    """The bot verdict for a user agent (the method is checked by the pipeline).

    ``spider_name`` is ua-parser's browser family when it put the agent in the ``Spider``
    device class, else None.
    """
    if not user_agent.strip():
        return BotMatch(BotReason.EMPTY_USER_AGENT, "(empty user agent)")
    preview = preview_fetcher(user_agent)
    if preview is not None:
        return BotMatch(BotReason.LINK_PREVIEW, f"{preview} preview")
    if is_in_app_browser(user_agent):
        return None
    if spider_name is not None:
        return BotMatch(BotReason.SPIDER, spider_name[:100])
    listed = crawler_list_match(user_agent)
    if listed is not None:
        return BotMatch(BotReason.CRAWLER_LIST, listed[:100])
    return None
