"""QR codes of short URLs (segno: pure Python, SVG and PNG without Pillow)."""

from __future__ import annotations

import io

import segno


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    # Error correction M survives a smudged print; the quiet zone of 4 modules is the spec's.
    segno.make(url, error="m").save(out, kind="svg", scale=6, border=4, xmldecl=False)
    return out.getvalue()


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=10, border=4)
    return out.getvalue()
