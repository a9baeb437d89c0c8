"""QR codes of short URLs: segno draws the symbol (SVG, PNG); Pillow puts the workspace's
logo in the middle of a PNG and checks the logos workspaces upload.

The options come from the query string of ``qr.svg`` / ``qr.png`` (the link page's form
is a GET form, so a chosen look is a URL that can be bookmarked). Every option is
checked, a bad one is a 422 naming its field. A code must stay scannable: the colours
need contrast (dark on light), and a logo raises error correction to H (30 % of the
symbol may be lost) and covers at most a fifth of its width.

An uploaded logo is never served or embedded as uploaded: it is decoded (PNG or JPEG
only, bounded in bytes and pixels), scaled down and written anew as a PNG, which drops
metadata and anything else the file carried.
"""

from __future__ import annotations

import base64
import io
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import segno
from PIL import Image

from hoplink.errors import FieldError, InvalidInput
from hoplink.wholenumbers import parse_whole

ERROR_LEVELS = ("l", "m", "q", "h")
SIZES = (256, 512, 1024, 2048)  # pixels of the PNG (the SVG scales)
MAX_MARGIN = 10  # modules; the spec asks for 4
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_PIXELS = 4096 * 4096
LOGO_STORED_SIDE = 256
LOGO_SHARE = 0.2  # of the symbol's width, quiet zone excluded
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class QrOptions:
    size: int = 512
    dark: str = "#000000"
    light: str = "#ffffff"
    margin: int = 4
    error: str = "m"
    logo: bool = False

    @property
    def effective_error(self) -> str:
        return "h" if self.logo else self.error

    def query(self) -> dict[str, str]:
        """The options as the query string writes them (defaults left out)."""
        out: dict[str, str] = {}
        for name, default in (
            ("size", QrOptions.size),
            ("dark", QrOptions.dark),
            ("light", QrOptions.light),
            ("margin", QrOptions.margin),
            ("error", QrOptions.error),
        ):
            value = getattr(self, name)
            if value != default:
                out[name] = str(value)
        if self.logo:
            out["logo"] = "1"
        return out


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2) of ``#rrggbb``."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(dark: str, light: str) -> float:
    return (_luminance(light) + 0.05) / (_luminance(dark) + 0.05)


MIN_CONTRAST = 3.0  # below this, phone cameras misread modules; scanners expect dark on light


def parse_options(params: Mapping[str, str]) -> QrOptions:
    errors: list[FieldError] = []
    size = QrOptions.size
    raw = params.get("size", "")
    if raw:
        number = parse_whole(raw)
        if number is not None and number in SIZES:
            size = number
        else:
            sizes = ", ".join(map(str, SIZES))
            errors.append(FieldError("size", "invalid_choice", f"use one of {sizes} (pixels)"))
    colours = {}
    for name, default in (("dark", QrOptions.dark), ("light", QrOptions.light)):
        value = params.get(name, "") or default
        if not _COLOUR.fullmatch(value):
            errors.append(FieldError(name, "invalid_colour", "use a colour like #1a2b3c"))
        colours[name] = value.lower()
    margin = QrOptions.margin
    raw = params.get("margin", "")
    if raw:
        number = parse_whole(raw)
        if number is not None and 0 <= number <= MAX_MARGIN:
            margin = number
        else:
            errors.append(
                FieldError("margin", "invalid_margin", f"use 0 to {MAX_MARGIN} (modules)")
            )
    error = params.get("error", "") or QrOptions.error
    if error not in ERROR_LEVELS:
        errors.append(FieldError("error", "invalid_choice", "use l, m, q or h"))
    logo = params.get("logo", "") in ("1", "on", "true")
    if not errors and contrast(colours["dark"], colours["light"]) < MIN_CONTRAST:
        errors.append(
            FieldError(
                "dark",
                "low_contrast",
                f"too little contrast with the background ({MIN_CONTRAST}:1 at least,"
                " dark modules on a light background)",
            )
        )
    if errors:
        raise InvalidInput(errors)
    return QrOptions(
        size=size,
        dark=colours["dark"],
        light=colours["light"],
        margin=margin,
        error=error,
        logo=logo,
    )


def _symbol(url: str, options: QrOptions) -> segno.QRCode:
    return segno.make(url, error=options.effective_error, boost_error=False)


def _logo_box(side: int, margin_px: int) -> tuple[int, int]:
    """Where the logo goes in a drawing ``side`` pixels wide: its left/top and its side."""
    inner = side - 2 * margin_px
    logo_side = int(inner * LOGO_SHARE)
    return (side - logo_side) // 2, logo_side


def qr_svg(url: str, options: QrOptions | None = None, logo_png: bytes | None = None) -> bytes:
    options = options or QrOptions()
    qr = _symbol(url, options)
    scale = 10
    out = io.BytesIO()
    qr.save(
        out,
        kind="svg",
        scale=scale,
        border=options.margin,
        dark=options.dark,
        light=options.light,
        xmldecl=False,
        svgns=True,
    )
    svg = out.getvalue()
    if options.logo and logo_png:
        side = int(qr.symbol_size(scale=scale, border=options.margin)[0])
        at, logo_side = _logo_box(side, options.margin * scale)
        pad = max(2, logo_side // 12)
        # The logo is our own re-encoded PNG (see normalize_logo), inlined as data: the SVG
        # stays one self-contained file, loads nothing, runs nothing.
        data = base64.b64encode(logo_png).decode("ascii")
        overlay = (
            f'<rect x="{at - pad}" y="{at - pad}" width="{logo_side + 2 * pad}" '
            f'height="{logo_side + 2 * pad}" fill="{options.light}"/>'
            f'<image x="{at}" y="{at}" width="{logo_side}" height="{logo_side}" '
            f'href="data:image/png;base64,{data}"/>'
        ).encode("ascii")
        svg = svg.replace(b"</svg>", overlay + b"</svg>")
    return svg


def qr_png(url: str, options: QrOptions | None = None, logo_png: bytes | None = None) -> bytes:
    options = options or QrOptions()
    qr = _symbol(url, options)
    modules = int(qr.symbol_size(scale=1, border=options.margin)[0])
    # Whole pixels per module (a blurred module misreads); the image is then at most the
    # chosen size, and at least one pixel per module.
    scale = max(1, options.size // modules)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=options.margin, dark=options.dark,
            light=options.light)  # fmt: skip
    if not (options.logo and logo_png):
        return out.getvalue()
    image = Image.open(io.BytesIO(out.getvalue())).convert("RGBA")
    at, logo_side = _logo_box(image.width, options.margin * scale)
    pad = max(2, logo_side // 12)
    logo = Image.open(io.BytesIO(logo_png)).convert("RGBA")
    logo.thumbnail((logo_side, logo_side), Image.Resampling.LANCZOS)
    backing = Image.new("RGBA", (logo_side + 2 * pad, logo_side + 2 * pad), options.light)
    image.paste(backing, (at - pad, at - pad))
    offset = (at + (logo_side - logo.width) // 2, at + (logo_side - logo.height) // 2)
    image.alpha_composite(logo, offset)
    result = io.BytesIO()
    image.convert("RGB").save(result, format="PNG", optimize=True)
    return result.getvalue()


def normalize_logo(data: bytes) -> bytes:
    """An uploaded logo, checked and re-encoded as a PNG at most 256 px on a side.
    InvalidInput (field ``logo``) names what is wrong."""
    if not data:
        raise InvalidInput(FieldError("logo", "required", "choose an image file"))
    if len(data) > LOGO_MAX_BYTES:
        raise InvalidInput(
            FieldError("logo", "image_too_large", f"at most {LOGO_MAX_BYTES // 1024} KB")
        )
    try:
        with warnings.catch_warnings():
            # A decompression bomb is an error here, not a warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            if image.width * image.height > LOGO_MAX_PIXELS:
                raise InvalidInput(
                    FieldError("logo", "image_too_large", "at most 4096 x 4096 pixels")
                )
            image.load()
    except InvalidInput:
        raise
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InvalidInput(FieldError("logo", "invalid_image", "use a PNG or JPEG image")) from None
    converted = image.convert("RGBA")
    converted.thumbnail((LOGO_STORED_SIDE, LOGO_STORED_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    return out.getvalue()
