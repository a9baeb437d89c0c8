"""QR codes with options and the workspace's logo, read back by a real decoder (zxing-cpp).

Every combination a seller can pick must still scan: each PNG is decoded and must give
exactly the short URL. zxing-cpp is a test dependency (pyproject [test]); without it this
module fails to import, it never skips.
"""

from __future__ import annotations

import base64
import io
import random
import re

import zxingcpp
from dashboard_harness import Dash
from PIL import Image

from hoplink.workspaces.models import Role


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def logo_png(side: int = 300, colour: str = "#d90429") -> bytes:
    """A square logo with a stripe, like a shop's: not a flat block."""
    image = Image.new("RGB", (side, side), colour)
    for x in range(side // 3, side * 2 // 3):
        for y in range(side):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def _short_url(b: object, path: str) -> str:
    page = await b.get(path)  # type: ignore[attr-defined]
    match = re.search(r'<code id="short-url" class="short-url">([^<]+)</code>', page.text)
    assert match, page.text[:2000]
    return match.group(1)


async def test_every_option_scans_back_to_the_short_url(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.ADMIN)
    link = await dash.link(ws)
    path = f"/app/w/{ws.slug}/links/{link.id}"
    short = await _short_url(b, path)
    uploaded = await b.post(
        f"/app/w/{ws.slug}/settings/qr-logo",
        files={"logo": ("logo.png", logo_png(), "image/png")},
    )
    assert uploaded.status_code == 303, uploaded.text[:500]
    cases = [
        {},
        {"size": "256", "error": "l", "margin": "0"},
        {"size": "1024", "dark": "#1d3557", "light": "#f1faee", "error": "q"},
        {"size": "2048", "margin": "10", "error": "h"},
        {"logo": "1"},
        {"logo": "1", "size": "256", "dark": "#14213d", "light": "#fefae0", "margin": "2"},
    ]
    for params in cases:
        png = await b.get(f"{path}/qr.png", params=params)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png", params
        assert decode(png.content) == [short], params
        image = Image.open(io.BytesIO(png.content))
        assert image.width <= int(params.get("size", "512")), (params, image.size)
        assert image.width >= int(params.get("size", "512")) * 0.6, (params, image.size)
        if params.get("logo"):
            # The logo is really there: the middle has the logo's red.
            pixels = image.convert("RGB")
            dx = int(image.width * 0.06)  # beside the logo's white stripe, inside the logo
            middle = [pixels.getpixel((image.width // 2 + d, image.height // 2)) for d in (-dx, dx)]
            assert any(p[0] > 180 and p[1] < 60 for p in middle), middle  # type: ignore[index]
        svg = await b.get(f"{path}/qr.svg", params=params)
        assert svg.status_code == 200 and svg.content.startswith(b"<svg")
        assert (b"data:image/png;base64," in svg.content) == bool(params.get("logo"))
        if "dark" in params:
            assert params["dark"].encode() in svg.content


async def test_bad_options_are_a_422_naming_the_field(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    link = await dash.link(ws)
    path = f"/app/w/{ws.slug}/links/{link.id}"
    for params, field in [
        ({"size": "333"}, "size"),
        ({"dark": "red"}, "dark"),
        ({"light": "#12345"}, "light"),
        ({"margin": "11"}, "margin"),
        ({"margin": "-1"}, "margin"),
        ({"error": "x"}, "error"),
        ({"dark": "#eeeeee", "light": "#ffffff"}, "dark"),  # too little contrast
        ({"logo": "1"}, "logo"),  # this workspace has no logo
    ]:
        for kind in ("png", "svg"):
            answer = await b.get(f"{path}/qr.{kind}", params=params)
            assert answer.status_code == 422, (params, answer.status_code)
            assert field in answer.text, (params, answer.text[:300])
        page = await b.get(path, params=params)  # the link page: the form says what is wrong
        assert page.status_code == 200 and 'id="qr-errors"' in page.text, params
    zh = await b.get(path, params={"dark": "#eeeeee"}, headers={"Accept-Language": "zh-CN"})
    assert "颜色太接近" in zh.text and "too little contrast" not in zh.text


async def test_the_logo_upload_is_checked_and_stored_as_a_new_png(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    url = f"/app/w/{ws.slug}/settings/qr-logo"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    gif = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
    big = io.BytesIO()
    noise = random.Random(14).randbytes(600 * 600 * 3)  # does not compress
    Image.frombytes("RGB", (600, 600), noise).save(big, format="PNG")
    assert len(big.getvalue()) > 512 * 1024
    for name, data, ctype, why in [
        ("logo.svg", svg, "image/svg+xml", "PNG or JPEG"),
        ("logo.png", svg, "image/png", "PNG or JPEG"),  # the type claimed is not trusted
        ("logo.gif", gif, "image/gif", "PNG or JPEG"),
        ("logo.png", big.getvalue(), "image/png", "512 KB"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png", "PNG or JPEG"),
    ]:
        refused = await b.post(url, files={"logo": (name, data, ctype)})
        assert refused.status_code == 422, name
        assert why in refused.text and 'id="err-logo"' in refused.text, name
    refused = await b.post(url, {})
    assert refused.status_code == 422 and "choose an image file" in refused.text
    async with dash.db.transaction() as tx:
        assert await tx.qr_logo(ws.id).get() is None  # nothing half-written

    jpeg = io.BytesIO()
    Image.new("RGB", (1200, 600), "#2a9d8f").save(jpeg, format="JPEG", comment=b"secret-exif")
    assert (await b.post(url, files={"logo": ("l.jpg", jpeg.getvalue(), "image/jpeg")})).is_redirect
    async with dash.db.transaction() as tx:
        stored = await tx.qr_logo(ws.id).get()
    assert stored is not None
    png = base64.b64decode(stored)
    assert png.startswith(b"\x89PNG") and b"secret-exif" not in png
    assert Image.open(io.BytesIO(png)).size == (256, 128)
    shown = await b.get(f"/app/w/{ws.slug}/settings/qr-logo.png")
    assert shown.content == png and shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    settings = await b.get(f"/app/w/{ws.slug}/settings")
    assert "qr-logo.png" in settings.text

    assert (await b.post(f"{url}/delete", {})).is_redirect
    assert (await b.get(f"/app/w/{ws.slug}/settings/qr-logo.png")).status_code == 404


async def test_members_cannot_change_the_logo(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.MEMBER)
    answer = await b.post(
        f"/app/w/{ws.slug}/settings/qr-logo",
        files={"logo": ("logo.png", logo_png(), "image/png")},
    )
    assert answer.status_code == 403
    assert (await b.post(f"/app/w/{ws.slug}/settings/qr-logo/delete", {})).status_code == 403
