"""Device class and bot flag on real user agents seen on short links."""

from __future__ import annotations

import pytest

from hoplink.clicks.enriched import BotReason, DeviceClass
from hoplink.ingest.useragents import AgentClassifier

M, T, D, B, X = (
    DeviceClass.MOBILE,
    DeviceClass.TABLET,
    DeviceClass.DESKTOP,
    DeviceClass.BOT,
    DeviceClass.OTHER,
)

# (user agent, expected device class, expected bot reason or None for a person)
CORPUS: list[tuple[str, DeviceClass, BotReason | None]] = [
    # --- people: phones ---------------------------------------------------------------------
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Mobile Safari/537.36",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.6261.90 Mobile Safari/537.36",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; SM-G973F) AppleWebKit/537.36 (KHTML, like Gecko)"
        " SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 4.4.2; zh-CN; HUAWEI MT7-TL00 Build/HuaweiMT7-TL00)"
        " AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 UCBrowser/11.3.8.909"
        " Mobile Safari/533.1",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) CriOS/122.0.6261.89 Mobile/15E148 Safari/604.1",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36"
        " Edge/15.15063",
        M,
        None,
    ),
    # --- people: in-app browsers (Facebook, Messenger, Instagram, TikTok, LINE, WeChat, …) --
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/455.0.0.38.106;FBBV/579384617;"
        "FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B Build/TP1A.220624.014; wv)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119"
        " Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/454.0.0.44.108;]",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; V2120 Build/SP1A.210812.003; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/101.0.4951.61 Mobile Safari/537.36"
        " [FB_IAB/Orca-Android;FBAV/395.0.0.27.214;]",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Instagram 320.0.2.33.106 (iPhone15,2; iOS 17_3;"
        " en_US; en; scale=3.00; 1179x2556; 567228584)",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; SM-A205U) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Mobile Safari/537.36 Instagram 321.0.0.32.113 Android (29/10;"
        " 420dpi; 1080x2131; samsung; SM-A205U; a20; exynos7884B; en_US; 567221221)",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; SM-A515F Build/SP1A.210812.016; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36"
        " musical_ly_2023307020 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly"
        " app_version/33.7.2 ByteLocale/en ByteFullLocale/en Region/US"
        " BytedanceWebview/d8a21c6",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 BytedanceWebview/d8a21c6 TikTok",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Line/13.21.0",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/90.0.4430.91 Mobile Safari/537.36 Line/11.4.1/IAB",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2f) NetType/WIFI"
        " Language/zh_CN",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; 23021RAAEG Build/TKQ1.221114.001; wv)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0"
        " Mobile Safari/537.36 XWEB/1180061 MMWEBSDK/20230701 MMWEBID/1234"
        " MicroMessenger/8.0.40.2420(0x28002851) WeChat/arm64 Weixin NetType/WIFI"
        " Language/zh_CN ABI/arm64",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.27.2011",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/114.0.0.0 Mobile Safari/537.36 Telegram-Android/10.2.9 (Samsung SM-A515F;"
        " Android 13; SDK 33; AVERAGE)",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Viber/20.1.0",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Snapchat/12.70.0.39 (like Safari/8617.2.4.10.8,"
        " panda)",
        M,
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) GSA/302.0.605489426 Mobile/15E148 Safari/604.1",
        M,
        None,
    ),
    # --- people: tablets ----------------------------------------------------------------------
    (
        "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.3 Mobile/15E148 Safari/604.1",
        T,
        None,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.28.107;FBBV/544047127;FBDV/iPad13,1;"
        "FBMD/iPad;FBSN/iPadOS;FBSV/16.6;FBSS/2;FBID/tablet;FBLC/en_US;FBOP/5]",
        T,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36",
        T,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Silk/121.3.1 like Chrome/121.0.6167.178 Safari/537.36",
        T,
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        T,
        None,
    ),
    # --- people: desktops --------------------------------------------------------------------
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36",
        D,
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
        D,
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        D,
        None,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0", D, None),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
        D,
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        D,
        None,
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36",
        D,
        None,
    ),
    # --- people: TVs and consoles --------------------------------------------------------------
    (
        "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko)"
        " 85.0.4183.93/6.0 TV Safari/537.36",
        X,
        None,
    ),
    (
        "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/13.0 Safari/605.1.15",
        X,
        None,
    ),
    # --- link-preview fetchers ----------------------------------------------------------------
    (
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        B,
        BotReason.LINK_PREVIEW,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4"
        " (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot"
        " Twitterbot/1.0",
        B,
        BotReason.LINK_PREVIEW,
    ),
    ("facebookcatalog/1.0", B, BotReason.LINK_PREVIEW),
    ("Facebot", B, BotReason.LINK_PREVIEW),
    ("facebookexternalhit/1.1;line-poker/1.0", B, BotReason.LINK_PREVIEW),
    ("WhatsApp/2.23.20.0", B, BotReason.LINK_PREVIEW),
    ("WhatsApp/2.2407.3 i", B, BotReason.LINK_PREVIEW),
    ("TelegramBot (like TwitterBot)", B, BotReason.LINK_PREVIEW),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", B, BotReason.LINK_PREVIEW),
    ("Slack-ImgProxy (+https://api.slack.com/robots)", B, BotReason.LINK_PREVIEW),
    ("Twitterbot/1.0", B, BotReason.LINK_PREVIEW),
    (
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        B,
        BotReason.LINK_PREVIEW,
    ),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5"
        " skype-url-preview@microsoft.com",
        B,
        BotReason.LINK_PREVIEW,
    ),
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        B,
        BotReason.LINK_PREVIEW,
    ),
    ("Pinterestbot/1.0 (+http://www.pinterest.com/bot.html)", B, BotReason.LINK_PREVIEW),
    ("Pinterest/0.2 (+http://www.pinterest.com/bot.html)", B, BotReason.LINK_PREVIEW),
    ("kakaotalk-scrap/1.0; +https://devtalk.kakao.com/", B, BotReason.LINK_PREVIEW),
    ("vkShare; +http://vk.com/dev/Share", B, BotReason.LINK_PREVIEW),
    ("ZaloBot", B, BotReason.LINK_PREVIEW),
    # --- crawlers, tools and headless browsers -------------------------------------------------
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        B,
        BotReason.SPIDER,
    ),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/120.0.6099.216 Mobile Safari/537.36 (compatible;"
        " Googlebot/2.1; +http://www.google.com/bot.html)",
        B,
        BotReason.SPIDER,
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        B,
        BotReason.SPIDER,
    ),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", B, BotReason.SPIDER),
    (
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        B,
        BotReason.SPIDER,
    ),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", B, BotReason.SPIDER),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0;"
        " +https://openai.com/gptbot)",
        B,
        BotReason.SPIDER,
    ),
    ("curl/8.4.0", B, BotReason.CRAWLER_LIST),
    ("Wget/1.21.4", B, BotReason.CRAWLER_LIST),
    ("python-requests/2.31.0", B, BotReason.CRAWLER_LIST),
    ("Go-http-client/1.1", B, BotReason.CRAWLER_LIST),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/120.0.0.0 Safari/537.36",
        B,
        BotReason.CRAWLER_LIST,
    ),
    ("", B, BotReason.EMPTY_USER_AGENT),
]


@pytest.fixture(scope="module")
def agents() -> AgentClassifier:
    return AgentClassifier(cache_size=0)


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 50
    assert len({ua for ua, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("ua", "device", "bot"), CORPUS, ids=lambda v: str(v)[:40])
def test_device_class_and_bot_flag(
    agents: AgentClassifier, ua: str, device: DeviceClass, bot: BotReason | None
) -> None:
    agent = agents.classify(ua)
    assert agent.device is device
    assert (agent.bot.reason if agent.bot else None) is bot


def test_os_and_browser_come_from_ua_parser(agents: AgentClassifier) -> None:
    iphone = agents.classify(CORPUS[0][0])
    assert (iphone.os, iphone.browser) == ("iOS", "Mobile Safari")
    tiktok = agents.classify(CORPUS[12][0])
    assert (tiktok.os, tiktok.browser) == ("Android", "TikTok")
    edge = agents.classify(CORPUS[30][0])
    assert (edge.os, edge.browser) == ("Windows", "Edge")


def test_preview_fetchers_are_named_for_the_bots_breakdown(agents: AgentClassifier) -> None:
    agent = agents.classify(
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
    )
    assert agent.bot is not None and agent.bot.name == "Facebook preview"
    google = agents.classify(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    )
    assert google.bot is not None and google.bot.name == "Googlebot"


def test_parses_are_cached() -> None:
    agents = AgentClassifier(cache_size=10)
    first = agents.classify("curl/8.4.0")
    assert agents.classify("curl/8.4.0") is first
    assert agents.classify.cache_info().hits == 1
