"""The PV/UV chart as inline SVG, drawn on the server (no chart library, no script).

Human PV are bars, bot/preview PV are stacked on top in their own colour, UV is a line.
Every bar carries a ``<title>`` (the browser's tooltip and what a screen reader reads);
the page adds the same numbers as a table. Colours come from classes in dashboard.css,
with presentation attributes as fallback; no ``style`` attribute (the CSP forbids them).
All text passes through ``escape``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from markupsafe import Markup, escape

from hoplink.analytics.models import Point

WIDTH, HEIGHT = 800, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 40
X_TICKS = 6


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 times 10^n at or above ``value`` (at least 4)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def series_svg(
    points: Sequence[Point],
    *,
    label: Callable[[datetime], str],
    number: Callable[[int], str],
    title: str,
    names: tuple[str, str, str],
) -> Markup:
    """``names``: the translated words for human PV, bot PV and UV."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = nice_ceiling(max((max(p.pv, p.uv) for p in points), default=0))
    n = max(1, len(points))
    slot = plot_w / n
    bar = max(1.0, slot * 0.8)

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    human_name, bot_name, uv_name = names
    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    # Grid lines at round numbers: 1, 2, 5 times 10^n split into five (or four) steps.
    intervals = 5 if top % 5 == 0 else 4
    for i in range(intervals + 1):
        value = top * i // intervals
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end" '
            f'font-size="12" fill="#555">{escape(number(value))}</text>'
        )
    uv_points: list[str] = []
    for i, p in enumerate(points):
        x = LEFT + i * slot + (slot - bar) / 2
        tip = escape(
            f"{label(p.start)} — {human_name} {number(p.human_pv)}, "
            f"{bot_name} {number(p.bot_pv)}, {uv_name} {number(p.uv)}"
        )
        parts.append(f'<g class="slot"><title>{tip}</title>')
        if p.human_pv:
            parts.append(
                f'<rect class="pv" x="{x:.2f}" y="{y(p.human_pv):.2f}" width="{bar:.2f}" '
                f'height="{y(0) - y(p.human_pv):.2f}" fill="#2563eb"/>'
            )
        if p.bot_pv:
            parts.append(
                f'<rect class="bot" x="{x:.2f}" y="{y(p.pv):.2f}" width="{bar:.2f}" '
                f'height="{y(p.human_pv) - y(p.pv):.2f}" fill="#f59e0b"/>'
            )
        # An invisible full-height target, so thin bars still show their tooltip.
        parts.append(
            f'<rect class="hit" x="{LEFT + i * slot:.2f}" y="{TOP}" width="{slot:.2f}" '
            f'height="{plot_h}" fill="transparent"/></g>'
        )
        uv_points.append(f"{LEFT + (i + 0.5) * slot:.2f},{y(p.uv):.2f}")
    if uv_points:
        parts.append(
            f'<polyline class="uv" points="{" ".join(uv_points)}" fill="none" '
            'stroke="#059669" stroke-width="2"/>'
        )
    step = max(1, -(-n // X_TICKS))
    for i in range(0, len(points), step):
        x = LEFT + (i + 0.5) * slot
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle" '
            f'font-size="12" fill="#555">{escape(label(points[i].start))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
