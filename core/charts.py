"""Small server-rendered SVG charts for the quality dashboard (no JavaScript, no CDN).

Each function returns safe SVG markup; every label is escaped. Values are numbers in
[y_min, y_max]; None values are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40


def _x(index: float, count: float) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / count if count else span / 2)


def _y(value: float, low: float, high: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    fraction = (value - low) / (high - low) if high > low else 0.5
    return TOP + span * (1 - min(max(fraction, 0.0), 1.0))


def _frame(
    title: str, body: list[str], low: float, high: float, x_label: str, y_label: str
) -> SafeString:
    ticks = []
    for step in range(5):
        value = low + (high - low) * step / 4
        y = _y(value, low, high)
        ticks.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.2g}</text>'
        )
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{''.join(ticks)}{''.join(body)}"
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{middle}" text-anchor="middle" transform="rotate(-90 12 {middle})">'
        f"{escape(y_label)}</text></svg>"
    )
    return mark_safe(svg)


def line_chart(
    title: str, points: Sequence[tuple[str, float | None]], *, low: float = 0.0, high: float = 1.0,
    y_label: str = "",
) -> SafeString:  # fmt: skip
    """A line over labelled points (e.g. dates), first and last label under the axis."""
    body: list[str] = []
    count = max(len(points) - 1, 1)
    coords = [
        (_x(i, count), _y(value, low, high), label, value)
        for i, (label, value) in enumerate(points)
        if value is not None
    ]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _l, _v in coords)
        body.append(f'<polyline points="{path}" class="line"/>')
        for x, y, label, value in coords:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot">'
                f"<title>{escape(label)}: {value:.3f}</title></circle>"
            )
    if points:
        body.append(f'<text x="{LEFT}" y="{HEIGHT - BOTTOM + 16}">{escape(points[0][0])}</text>')
        body.append(
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 16}" text-anchor="end">'
            f"{escape(points[-1][0])}</text>"
        )
    return _frame(title, body, low, high, "", y_label)


def scatter_chart(
    title: str, points: Sequence[tuple[float, float, str, bool]], *, x_label: str, y_label: str,
    low: float = 0.0, high: float = 1.0,
) -> SafeString:  # fmt: skip
    """Points (x, y, label, flagged); x scaled to the largest x."""
    body: list[str] = []
    x_max = max((x for x, _y_, _l, _f in points), default=1.0) or 1.0
    for x, y, label, flagged in points:
        css = "dot flagged" if flagged else "dot"
        body.append(
            f'<circle cx="{_x(x, x_max):.1f}" cy="{_y(y, low, high):.1f}" r="4" class="{css}">'
            f"<title>{escape(label)}: {x:.1f} s, {y:.3f}</title></circle>"
        )
    body.append(
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 16}" text-anchor="end">{x_max:.1f}</text>'
    )
    body.append(f'<text x="{LEFT}" y="{HEIGHT - BOTTOM + 16}">0</text>')
    return _frame(title, body, low, high, x_label, y_label)


def bar_chart(
    title: str, bars: Sequence[tuple[str, float | None, bool]], *, reference: float | None = None,
    low: float = 0.0, high: float = 1.0, y_label: str = "",
) -> SafeString:  # fmt: skip
    """Bars (label, value, flagged), with an optional dashed reference line."""
    body: list[str] = []
    count = max(len(bars), 1)
    slot = (WIDTH - LEFT - RIGHT) / count
    for i, (label, value, flagged) in enumerate(bars):
        if value is None:
            continue
        top = _y(value, low, high)
        css = "bar flagged" if flagged else "bar"
        body.append(
            f'<rect x="{LEFT + i * slot + slot * 0.15:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{HEIGHT - BOTTOM - top:.1f}" class="{css}"><title>{escape(label)}: '
            f"{value:.3f}</title></rect>"
        )
    if reference is not None:
        y = _y(reference, low, high)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="reference"/>'
        )
    return _frame(title, body, low, high, "", y_label)


SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5")


def series_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
    reference: tuple[str, Sequence[float | None]] | None = None, low: float = 0.0,
    high: float = 1.0, y_label: str = "",
) -> SafeString:  # fmt: skip
    """Several named lines over the same labelled x positions, with a legend; an optional
    dashed reference line (e.g. the human ceiling) that may vary along x."""
    body: list[str] = []
    count = max(len(labels) - 1, 1)

    def line(values: Sequence[float | None], css: str, name: str) -> None:
        coords = [
            (_x(i, count), _y(value, low, high), labels[i], value)
            for i, value in enumerate(values)
            if value is not None and i < len(labels)
        ]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _l, _v in coords)
            body.append(f'<polyline points="{path}" class="line {css}"/>')
        for x, y, label, value in coords:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="dot {css}">'
                f"<title>{escape(name)} at {escape(label)}: {value:.3f}</title></circle>"
            )

    if reference is not None:
        line(reference[1], "reference", reference[0])
    for index, (name, values) in enumerate(series):
        line(values, SERIES_CLASSES[index % len(SERIES_CLASSES)], name)
    legend = [*((name, SERIES_CLASSES[i % len(SERIES_CLASSES)]) for i, (name, _v) in
                enumerate(series))]  # fmt: skip
    if reference is not None:
        legend.append((reference[0], "reference"))
    for index, (name, css) in enumerate(legend):
        y = TOP + 12 * index + 4
        body.append(
            f'<rect x="{WIDTH - RIGHT - 150}" y="{y - 7}" width="8" height="8" class="key {css}"/>'
            f'<text x="{WIDTH - RIGHT - 138}" y="{y + 1}">{escape(name)}</text>'
        )
    if labels:
        body.append(f'<text x="{LEFT}" y="{HEIGHT - BOTTOM + 16}">{escape(labels[0])}</text>')
        body.append(
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 16}" text-anchor="end">'
            f"{escape(labels[-1])}</text>"
        )
    return _frame(title, body, low, high, "", y_label)


def interval_chart(
    title: str, rows: Sequence[tuple[str, float, float, float]], *, x_label: str,
    width: int = 440,
) -> SafeString:  # fmt: skip
    """One row per estimate (label, value, low, high): the label, and under it a dot at the
    value with a whisker over its interval, on a shared horizontal axis fitted to the
    intervals. Narrower than the other charts, so its text stays legible on a phone."""
    pad, row_height, top, bottom = 12, 40, 4, 44
    height = top + row_height * max(len(rows), 1) + bottom
    low = min((r[2] for r in rows), default=0.0)
    high = max((r[3] for r in rows), default=1.0)
    margin = (high - low) * 0.05 or 0.5
    low, high = low - margin, high + margin
    span = width - 2 * pad

    def x(value: float) -> float:
        return pad + span * (value - low) / (high - low)

    body: list[str] = []
    for step in range(5):
        value = low + (high - low) * step / 4
        anchor = "start" if step == 0 else "end" if step == 4 else "middle"
        body.append(
            f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top}" '
            f'y2="{height - bottom}" class="grid"/><text x="{x(value):.1f}" '
            f'y="{height - bottom + 16}" text-anchor="{anchor}">{value:.2f}</text>'
        )
    for index, (label, value, lo, hi) in enumerate(rows):
        y = top + row_height * index
        body.append(
            f'<text x="{pad}" y="{y + 15}" class="row-label">{escape(label)}</text>'
            f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y + 28}" y2="{y + 28}" '
            f'class="whisker"/><circle cx="{x(value):.1f}" cy="{y + 28}" r="5" class="dot">'
            f"<title>{escape(label)}: {value:.2f} [{lo:.2f}, {hi:.2f}]</title></circle>"
        )
    body.append(
        f'<text x="{width / 2:.1f}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>'
    )
    return mark_safe(
        f'<svg viewBox="0 0 {width} {height}" class="chart intervals" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )
