"""Bar charts as SVG text: no JavaScript, no fonts or images to fetch, printable.

Every label is XML-escaped here, so a chart can be put into a page as it is. Colours
and sizes are presentation attributes, not ``style``: the desk's Content-Security-Policy
allows no inline styles. A suppressed count is drawn as an empty dashed bar with a
label ("hidden") instead of a number, so a reader sees that something is there without
learning how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

# Okabe–Ito: told apart with every common colour-vision deficiency, and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
INK = "#1d2327"
MUTED = "#6b7177"
FONT = 'font-family="system-ui, sans-serif"'

Bar = tuple[str, int | None]  # label, count (None: suppressed)


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 13,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>'
    )


def quoteattr_free(text: str) -> str:
    """Text for inside a double-quoted attribute."""
    return escape(text, {'"': "&quot;"})


def _frame(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{quoteattr_free(title)}">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        + _text(8, 20, title, size=15, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def horizontal(title: str, bars: Sequence[Bar], hidden: str, width: int = 640) -> str:
    """One bar per label, longest on the scale of the largest count."""
    # No font metrics without a browser: about 7 pixels a character at 13 px is enough.
    label_w = min(320, max(120, 7 * max((len(label) for label, _v in bars), default=0) + 16))
    top, step, bar_h = 36, 28, 18
    height = top + step * len(bars) + 10
    largest = max((v for _l, v in bars if v), default=1)
    scale = (width - label_w - 70) / largest
    body = []
    for i, (label, value) in enumerate(bars):
        y = top + i * step
        body.append(_text(label_w - 8, y + 14, label, anchor="end"))
        if value is None:
            body.append(
                f'<rect x="{label_w}" y="{y}" width="40" height="{bar_h}" fill="none" '
                f'stroke="{MUTED}" stroke-dasharray="4 3"/>'
            )
            body.append(_text(label_w + 48, y + 14, hidden, fill=MUTED))
        else:
            w = max(value * scale, 1 if value else 0)
            body.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{PALETTE[0]}"/>'
            )
            body.append(_text(label_w + w + 6, y + 14, str(value)))
    return _frame(width, height, title, body)


def grouped(
    title: str,
    groups: Sequence[tuple[str, Sequence[Bar]]],
    series: Sequence[str],
    hidden: str,
    width: int = 720,
) -> str:
    """Vertical bars: one group per label (a period), one bar per series (a country)."""
    left, top, plot_h, legend_h = 40, 56, 200, 24
    n = max(len(series), 1)
    width = max(width, left + sum(16 + 7 * len(name) + 18 for name in series))
    group_w = (width - left - 10) / max(len(groups), 1)
    bar_w = min(28.0, (group_w - 12) / n)
    largest = max((v for _g, bars in groups for _l, v in bars if v), default=1)
    scale = plot_h / largest
    base = top + plot_h
    body = [f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="{MUTED}"/>']
    lx = left
    for i, name in enumerate(series):
        body.append(
            f'<rect x="{lx}" y="30" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        body.append(_text(lx + 16, 41, name, size=12))
        lx += 16 + 7 * len(name) + 18
    for g, (label, bars) in enumerate(groups):
        x0 = left + g * group_w + (group_w - bar_w * n) / 2
        for i, (_name, value) in enumerate(bars):
            x = x0 + i * bar_w
            if value is None:
                body.append(
                    f'<rect x="{x + 1:.1f}" y="{base - 14}" width="{bar_w - 2:.1f}" height="14" '
                    f'fill="none" stroke="{MUTED}" stroke-dasharray="3 2"/>'
                )
                continue
            h = value * scale
            body.append(
                f'<rect x="{x + 1:.1f}" y="{base - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            )
            if value:
                body.append(
                    _text(x + bar_w / 2, base - h - 3, str(value), size=10, anchor="middle")
                )
        body.append(
            _text(left + g * group_w + group_w / 2, base + 16, label, size=12, anchor="middle")
        )
    body.append(_text(left, base + 38, f"- - -  {hidden}", size=11, fill=MUTED))
    return _frame(width, base + legend_h + 24, title, body)
