"""Real user agents of in-app browsers and plain browsers, labelled with what the redirect
edge must read from them: (in-app browser or None, OS, device class)."""

from __future__ import annotations

# (user agent, in-app browser, os, device)
AGENTS: list[tuple[str, str | None, str, str]] = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/455.0.0.38.106;FBBV/579384617;"
        "FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
        "facebook", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B Build/TP1A.220624.014; wv)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.119"
        " Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/454.0.0.44.108;]",
        "facebook", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.28.107;FBBV/544047127;FBDV/iPad13,1;"
        "FBMD/iPad;FBSN/iPadOS;FBSV/16.6;FBSS/2;FBID/tablet;FBLC/en_US;FBOP/5]",
        "facebook", "ios", "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; V2120 Build/SP1A.210812.003; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/101.0.4951.61 Mobile Safari/537.36"
        " [FB_IAB/Orca-Android;FBAV/395.0.0.27.214;]",
        "messenger", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/440.0.0.34.109;"
        "FBBV/544409398;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBCR/;FBID/phone;"
        "FBLC/en_US;FBOP/5]",
        "messenger", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Instagram 320.0.2.33.106 (iPhone15,2; iOS 17_3;"
        " en_US; en; scale=3.00; 1179x2556; 567228584)",
        "instagram", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; SM-A205U) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Mobile Safari/537.36 Instagram 321.0.0.32.113 Android (29/10;"
        " 420dpi; 1080x2131; samsung; SM-A205U; a20; exynos7884B; en_US; 567221221)",
        "instagram", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; SM-A515F Build/SP1A.210812.016; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36"
        " musical_ly_2023307020 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly"
        " app_version/33.7.2 ByteLocale/en ByteFullLocale/en Region/US"
        " BytedanceWebview/d8a21c6",
        "tiktok", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 BytedanceWebview/d8a21c6 TikTok",
        "tiktok", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Line/13.21.0",
        "line", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; Pixel 5) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/90.0.4430.91 Mobile Safari/537.36 Line/11.4.1/IAB",
        "line", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2f) NetType/WIFI"
        " Language/zh_CN",
        "wechat", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; 23021RAAEG Build/TKQ1.221114.001; wv)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0"
        " Mobile Safari/537.36 XWEB/1180061 MMWEBSDK/20230701 MMWEBID/1234"
        " MicroMessenger/8.0.40.2420(0x28002851) WeChat/arm64 Weixin NetType/WIFI"
        " Language/zh_CN ABI/arm64",
        "wechat", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Snapchat/12.70.0.39 (like Safari/8617.2.4.10.8,"
        " panda)",
        "snapchat", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36"
        " Snapchat/12.62.0.32 (SM-G991B; Android 13#G991BXXS9EWK1#33; gzip; )",
        "snapchat", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]",
        "pinterest", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/117.0.5938.153 Mobile Safari/537.36"
        " [Pinterest/Android]",
        "pinterest", "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Mobile/15E148 Twitter for iPhone/10.21",
        "x", "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041; wv) AppleWebKit/537.36"
        " (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36"
        " TwitterAndroid",
        "x", "android", "mobile",
    ),
    # --- plain browsers -------------------------------------------------------------------
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        None, "ios", "mobile",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.6261.90 Mobile Safari/537.36",
        None, "android", "mobile",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.3 Mobile/15E148 Safari/604.1",
        None, "ios", "tablet",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36",
        None, "android", "tablet",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/122.0.0.0 Safari/537.36",
        None, "other", "desktop",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
        " Version/17.3 Safari/605.1.15",
        None, "other", "desktop",
    ),
    (
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950)"
        " AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36"
        " Edge/15.15063",
        None, "other", "mobile",
    ),
    ("curl/8.5.0", None, "other", "other"),
    ("", None, "other", "other"),
]  # fmt: skip
