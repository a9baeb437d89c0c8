"""The PV/UV chart as inline SVG, drawn on the server (no chart library, no script).

Human PV are bars, bot/preview PV are stacked on top in their own colour, UV is a line.
Every bar carries a ``<title>`` (the browser's tooltip and what a screen reader reads);
the page adds the same numbers as a table. Colours come from classes in dashboard.css,
with presentation attributes as fallback; no ``style`` attribute (the CSP forbids them).
All text passes through ``escape``.

An SVG scales its text with its width, so one drawing cannot keep labels legible from a
phone to a desktop: the page gets two (``Layout``), a narrow one the CSS shows below
700 px and a wide one above; each is drawn at about the width it is shown at, so its
12-13 px text stays 11 px or more on screen.

The time axis is marked on round instants of the workspace's time zone: whole hours
(every 1, 2, 3, 6 or 12) when the range is short, midnights (every 1, 2, 7 or 14 days)
when it is long; a tick is drawn at the start of its slot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from hoplink.analytics.models import Point


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    width: int
    height: int
    left: int
    font: int
    max_ticks: int


WIDE = Layout(name="wide", width=800, height=260, left=52, font=13, max_ticks=8)
NARROW = Layout(name="narrow", width=340, height=220, left=40, font=13, max_ticks=4)
RIGHT, TOP, BOTTOM = 12, 14, 40
HOUR_STEPS = (1, 2, 3, 6, 12)
DAY_STEPS = (1, 2, 7, 14, 28)


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


def time_ticks(
    starts: Sequence[datetime], *, hourly: bool, max_ticks: int
) -> tuple[list[int], bool]:
    """Indexes of the slots that get a tick, and whether the ticks are whole days.

    ``starts`` are aware datetimes in the workspace's zone, one per slot, in order."""
    if not starts:
        return [], not hourly
    if hourly:
        for every in HOUR_STEPS:
            marks = [i for i, s in enumerate(starts) if s.minute == 0 and s.hour % every == 0]
            if len(marks) <= max_ticks:
                return marks, False
    midnights = [i for i, s in enumerate(starts) if s.hour == 0 and s.minute == 0]
    for every in DAY_STEPS:
        # Counted from the first of the month, so the marks fall on the same dates
        # whichever range is shown (1, 3, 5 … or 1, 8, 15 …).
        marks = [i for i in midnights if (starts[i].day - 1) % every == 0]
        if len(marks) <= max_ticks:
            return marks, True
    return [i for i in midnights if starts[i].day == 1][:max_ticks], True


def _text_width(text: str, font: int) -> float:
    """About how wide ``text`` is drawn: CJK characters are square, Latin ones narrower."""
    return sum(font if ord(c) > 0x2E80 else font * 0.6 for c in text)


def series_svg(
    points: Sequence[Point],
    *,
    hour_label: Callable[[datetime], str],
    day_label: Callable[[datetime], str],
    tip_label: Callable[[datetime], str],
    number: Callable[[int], str],
    title: str,
    names: tuple[str, str, str],
    hourly: bool,
    layout: Layout = WIDE,
) -> Markup:
    """``names``: the translated words for human PV, bot PV and UV."""
    width, height, left = layout.width, layout.height, layout.left
    plot_w, plot_h = width - left - RIGHT, height - TOP - BOTTOM
    top = nice_ceiling(max((max(p.pv, p.uv) for p in points), default=0))
    n = max(1, len(points))
    slot = plot_w / n
    bar = max(1.0, slot * 0.8)
    font = layout.font

    def y(value: int) -> float:
        return TOP + plot_h - plot_h * value / top

    human_name, bot_name, uv_name = names
    parts: list[str] = [
        f'<svg class="chart chart-{layout.name}" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">',
        f"<title>{escape(title)}</title>",
    ]
    # Grid lines at round numbers: 1, 2, 5 times 10^n split into five (or four) steps.
    intervals = 5 if top % 5 == 0 else 4
    for i in range(intervals + 1):
        value = top * i // intervals
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
            f'<text class="axis y" x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" '
            f'font-size="{font}" fill="#555">{escape(number(value))}</text>'
        )
    uv_points: list[str] = []
    for i, p in enumerate(points):
        x = left + i * slot + (slot - bar) / 2
        tip = escape(
            f"{tip_label(p.start)} — {human_name} {number(p.human_pv)}, "
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
            f'<rect class="hit" x="{left + i * slot:.2f}" y="{TOP}" width="{slot:.2f}" '
            f'height="{plot_h}" fill="transparent"/></g>'
        )
        uv_points.append(f"{left + (i + 0.5) * slot:.2f},{y(p.uv):.2f}")
    if uv_points:
        parts.append(
            f'<polyline class="uv" points="{" ".join(uv_points)}" fill="none" '
            'stroke="#059669" stroke-width="2"/>'
        )
    marks, daily = time_ticks([p.start for p in points], hourly=hourly, max_ticks=layout.max_ticks)
    base = height - BOTTOM
    for i in marks:
        x = left + i * slot
        start = points[i].start
        # Hour ticks name the day at midnight (every hour step divides 24, so each day of
        # the range shows its date), else the hour alone.
        label = day_label(start) if daily or start.hour == 0 else hour_label(start)
        # Text past the plot's edge would be cut off: the end ticks align inwards.
        half = _text_width(label, font) / 2
        anchor = "start" if x - half < 0 else "end" if x + half > width else "middle"
        parts.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" y2="{base + 5}" '
            'stroke="#999" stroke-width="1"/>'
            f'<text class="axis x" x="{x:.1f}" y="{base + 20}" text-anchor="{anchor}" '
            f'font-size="{font}" fill="#555">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
