"""The visitor page: what a shopper sees when a short link does not redirect.

Unknown, disabled, banned (410), suspended, rate-limited (429), unavailable (503), expired
(410) and not-yet-started (404) links all answer one small, phone-sized page in the
visitor's language (English or Simplified Chinese, from Accept-Language; the expired and
not-yet-started pages of scheduled links also in Traditional Chinese, Japanese, Korean,
German, French, Spanish and Portuguese, chosen by redirect/rules.py), with a button to the
workspace's fallback URL when it set one. The template is Jinja (autoescaped) and may be
replaced by the operator (``visitor_page_template``); it receives ``lang``, ``status``,
``title``, ``message``, ``fallback_url`` and ``fallback_label``.

Only the miss path (and a scheduled link's closed window) comes here: every (kind,
language) page without a fallback is rendered once at start-up, and a page with a
workspace's fallback URL is rendered on demand and kept (a small LRU), so the redirect
itself never touches Jinja. Inline ``<style>`` blocks are allowed by their hash in the
Content-Security-Policy; nothing else may load.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jinja2

_DEFAULT_TEMPLATE = Path(__file__).with_name("templates") / "visitor.html"
LANGUAGES = ("en", "zh-CN", "zh-TW", "ja", "ko", "de", "fr", "es", "pt")

# kind → status; "expired" / "scheduled" are for scheduled links that ended / not started.
STATUS = {
    "not_found": 404,
    "disabled": 404,
    "gone": 410,
    "expired": 410,
    "scheduled": 404,
    "too_many": 429,
    "unavailable": 503,
}

# (title, message) per kind, then the fallback button's label, per language. A test checks
# both languages hold the same keys and the Chinese texts hold no English words.
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "not_found": ("Link not found", "This short link does not exist. Check the address."),
        "disabled": ("Link turned off", "The owner of this short link has turned it off."),
        "gone": ("Link unavailable", "This short link is no longer available."),
        "expired": ("Link expired", "This link has expired and is no longer available."),
        "scheduled": ("Not available yet", "This link is not active yet. Please come back later."),
        "too_many": (
            "Too many requests",
            "Too many unknown links were requested from your address. Please wait a moment.",
        ),
        "unavailable": ("Please try again", "This link cannot be opened right now."),
        "fallback": ("Visit the shop", ""),
    },
    "zh-CN": {
        "not_found": ("链接不存在", "此短链接不存在，请检查地址。"),
        "disabled": ("链接已停用", "此短链接已被所有者停用。"),
        "gone": ("链接不可用", "此短链接已不再可用。"),
        "expired": ("链接已过期", "此链接已过期，无法再访问。"),
        "scheduled": ("链接尚未开放", "此链接尚未生效，请稍后再来。"),
        "too_many": ("请求过多", "您的网络地址请求了过多不存在的链接，请稍候再试。"),
        "unavailable": ("请稍后再试", "此链接暂时无法打开。"),
        "fallback": ("前往店铺", ""),
    },
    # The other languages hold the scheduled links' pages only; other kinds are in English.
    "zh-TW": {
        "expired": ("連結已過期", "此連結已過期，無法再存取。"),
        "scheduled": ("連結尚未開放", "此連結尚未生效，請稍後再來。"),
    },
    "ja": {
        "expired": (
            "リンクの有効期限切れ",
            "このリンクは有効期限が切れたため、ご利用いただけません。",
        ),
        "scheduled": (
            "まだご利用いただけません",
            "このリンクはまだ有効ではありません。後でもう一度お試しください。",
        ),
    },
    "ko": {
        "expired": ("링크 만료", "이 링크는 만료되어 더 이상 사용할 수 없습니다."),
        "scheduled": (
            "아직 사용할 수 없음",
            "이 링크는 아직 활성화되지 않았습니다. 나중에 다시 방문해 주세요.",
        ),
    },
    "de": {
        "expired": ("Link abgelaufen", "Dieser Link ist abgelaufen und nicht mehr verfügbar."),
        "scheduled": (
            "Noch nicht verfügbar",
            "Dieser Link ist noch nicht aktiv. Bitte später erneut versuchen.",
        ),
    },
    "fr": {
        "expired": ("Lien expiré", "Ce lien a expiré et n'est plus disponible."),
        "scheduled": (
            "Pas encore disponible",
            "Ce lien n'est pas encore actif. Revenez plus tard.",
        ),
    },
    "es": {
        "expired": ("Enlace caducado", "Este enlace ha caducado y ya no está disponible."),
        "scheduled": ("Aún no disponible", "Este enlace aún no está activo. Vuelve más tarde."),
    },
    "pt": {
        "expired": ("Link expirado", "Este link expirou e não está mais disponível."),
        "scheduled": ("Ainda não disponível", "Este link ainda não está ativo. Volte mais tarde."),
    },
}
_BY_TAG = {lang.lower(): lang for lang in LANGUAGES}
_REGIONLESS = {"zh": "zh-CN", "zh-hans": "zh-CN", "zh-hant": "zh-TW", "zh-hk": "zh-TW"}

_STYLE = re.compile(rb"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_LANG_TAG = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?")
_MAX_CACHED = 1024


def language(accept_language: bytes | None) -> str:
    """ "zh-CN" when the visitor prefers any Chinese over English, else "en"."""
    if not accept_language:
        return "en"
    best, best_q = "en", -1.0
    for part in accept_language.decode("latin-1")[:200].split(","):
        match = _LANG_TAG.fullmatch(part)
        if match is None:
            continue
        tag, q_text = match.group(1).lower(), match.group(2)
        if tag == "zh" or tag.startswith("zh-"):
            lang = "zh-CN"
        elif tag == "en" or tag.startswith("en-"):
            lang = "en"
        else:
            continue
        try:
            q = float(q_text) if q_text else 1.0
        except ValueError:
            continue
        if q <= 0:  # "not this language"
            continue
        if q > best_q:
            best, best_q = lang, q
    return best


def language_for(kind: str, preferred: str) -> str:
    """The language of page ``kind`` for a visitor whose preferred tag is ``preferred``
    (a scheduled link's page: up to nine languages, see ``MESSAGES``)."""
    tag = preferred.lower()
    while tag:
        lang = _BY_TAG.get(tag) or _REGIONLESS.get(tag)
        if lang is not None and kind in MESSAGES[lang]:
            return lang
        tag = tag.rpartition("-")[0]
    return "en"


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    body: bytes
    csp: bytes  # the Content-Security-Policy that lets this page's own styles in


class VisitorPages:
    def __init__(self, template: Path | None = None) -> None:
        path = template or _DEFAULT_TEMPLATE
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        self._template = env.from_string(path.read_text(encoding="utf-8"))
        self._fixed = {
            (k, lang): self._render(k, lang, None)
            for lang in LANGUAGES
            for k in STATUS
            if k in MESSAGES[lang]
        }
        self._with_fallback: OrderedDict[tuple[str, str, str], Page] = OrderedDict()

    def page(self, kind: str, lang: str, fallback_url: str | None = None) -> Page:
        if kind not in MESSAGES[lang]:
            lang = "en"
        if not fallback_url or kind in ("too_many", "unavailable"):
            return self._fixed[(kind, lang)]
        key = (kind, lang, fallback_url)
        page = self._with_fallback.get(key)
        if page is None:
            page = self._with_fallback[key] = self._render(kind, lang, fallback_url)
            if len(self._with_fallback) > _MAX_CACHED:
                self._with_fallback.popitem(last=False)
        else:
            self._with_fallback.move_to_end(key)
        return page

    def _render(self, kind: str, lang: str, fallback_url: str | None) -> Page:
        title, message = MESSAGES[lang][kind]
        status = STATUS[kind]
        body = self._template.render(
            lang=lang,
            status=status,
            title=title,
            message=message,
            fallback_url=fallback_url,
            fallback_label=MESSAGES[lang].get("fallback", MESSAGES["en"]["fallback"])[0],
        ).encode()
        hashes = " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
            for s in _STYLE.findall(body)
        )
        csp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        if hashes:
            csp += f"; style-src {hashes}"
        return Page(status, body, csp.encode())
