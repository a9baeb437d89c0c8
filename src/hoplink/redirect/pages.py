# ruff: noqa: RUF001 - the Chinese texts use full-width punctuation, as Chinese does
"""Friendly pages the redirect edge answers instead of a 302, in the visitor's language.

Small static HTML (no scripts, no styles from elsewhere: the edge's CSP is
``default-src 'none'``), rendered once per (page, language) and kept. The language is the
visitor's most preferred ``Accept-Language`` tag we have a text for, else English. Reusable
by any state that stops a link from redirecting (expired, not yet started, disabled, …).
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

# page → language → (title, text). Languages: lower-case BCP 47 tags.
TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "expired": {
        "en": ("Link expired", "This link has expired and is no longer available."),
        "zh-cn": ("链接已过期", "此链接已过期，无法再访问。"),
        "zh-tw": ("連結已過期", "此連結已過期，無法再存取。"),
        "ja": ("リンクの有効期限切れ", "このリンクは有効期限が切れたため、ご利用いただけません。"),
        "ko": ("링크 만료", "이 링크는 만료되어 더 이상 사용할 수 없습니다."),
        "de": ("Link abgelaufen", "Dieser Link ist abgelaufen und nicht mehr verfügbar."),
        "fr": ("Lien expiré", "Ce lien a expiré et n'est plus disponible."),
        "es": ("Enlace caducado", "Este enlace ha caducado y ya no está disponible."),
        "pt": ("Link expirado", "Este link expirou e não está mais disponível."),
    },
    "scheduled": {
        "en": ("Not available yet", "This link is not active yet. Please come back later."),
        "zh-cn": ("链接尚未开放", "此链接尚未生效，请稍后再来。"),
        "zh-tw": ("連結尚未開放", "此連結尚未生效，請稍後再來。"),
        "ja": (
            "まだご利用いただけません",
            "このリンクはまだ有効ではありません。後でもう一度お試しください。",
        ),
        "ko": (
            "아직 사용할 수 없음",
            "이 링크는 아직 활성화되지 않았습니다. 나중에 다시 방문해 주세요.",
        ),
        "de": (
            "Noch nicht verfügbar",
            "Dieser Link ist noch nicht aktiv. Bitte später erneut versuchen.",
        ),
        "fr": ("Pas encore disponible", "Ce lien n'est pas encore actif. Revenez plus tard."),
        "es": ("Aún no disponible", "Este enlace aún no está activo. Vuelve más tarde."),
        "pt": ("Ainda não disponível", "Este link ainda não está ativo. Volte mais tarde."),
    },
}
STATUS = {"expired": 410, "scheduled": 404}
_REGIONLESS = {"zh": "zh-cn", "zh-hans": "zh-cn", "zh-hant": "zh-tw", "zh-hk": "zh-tw"}


def language_for(page: str, preferred: str) -> str:
    """The language of ``page`` to show a visitor whose preferred tag is ``preferred``."""
    texts = TEXTS[page]
    tag = preferred.lower()
    while tag:
        if tag in texts:
            return tag
        if tag in _REGIONLESS:
            return _REGIONLESS[tag]
        tag = tag.rpartition("-")[0]
    return "en"


@lru_cache(maxsize=64)
def render(page: str, language: str) -> bytes:
    title, text = TEXTS[page][language]
    return (
        f'<!doctype html><html lang="{escape(language)}"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(text)}</p></html>"
    ).encode()
