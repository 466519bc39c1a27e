"""Server-rendered SVG charts, the one chart module of the site (no JavaScript, no CDN).

Every chart is drawn full width (static/css/site.css scales the viewBox to its column),
with a visible title, labelled axes with tick values, a legend where colours mean
something, and every mark's value on hover (an SVG <title>, which is also what a screen
reader announces). Each function returns safe SVG markup; every label is escaped. Values
are numbers in [low, high]; None values are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 78
MAX_X_TICKS = 12  # labels under the x axis; with more points every n-th is labelled


def _x(index: float, count: float) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / count if count else span / 2)


def _y(value: float, low: float, high: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    fraction = (value - low) / (high - low) if high > low else 0.5
    return TOP + span * (1 - min(max(fraction, 0.0), 1.0))


def number(value: float) -> str:
    """A tick or hover value: up to three significant digits, no exponent for counts."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def nice_ceiling(value: float, ticks: int = 4, *, whole: bool = False) -> float:
    """The smallest round top of an axis holding `value` with `ticks` equal steps of 1,
    2, 2.5, 3, 4, 5, 6 or 8 times a power of ten (148 gives 160: ticks every 40); with
    `whole`, steps are whole numbers (for counts)."""
    if value <= 0:
        return float(ticks)
    raw = value / ticks
    power = 10 ** math.floor(math.log10(raw))
    steps = [m * power for m in (1, 2, 2.5, 3, 4, 5, 6, 8, 10)]
    if whole:
        steps = [step for step in steps if step >= 1 and float(step).is_integer()] or [1]
    return next(step for step in steps if step >= raw) * ticks


def _slanted(labels: Sequence[str]) -> bool:
    return any(len(label) > 6 for label in labels) and len(labels) > 3


def _x_tick(x: float, label: str, *, slanted: bool) -> str:
    y = HEIGHT - BOTTOM + 14
    if slanted:
        return (
            f'<text x="{x:.1f}" y="{y}" text-anchor="end" class="tick" '
            f'transform="rotate(-35 {x:.1f} {y})">{escape(label)}</text>'
        )
    return f'<text x="{x:.1f}" y="{y}" text-anchor="middle" class="tick">{escape(label)}</text>'


def _shown_ticks(positions: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """Every label, or every n-th counted back from the last (the latest point of a time
    axis always labelled) when there are more than MAX_X_TICKS."""
    step = max(1, math.ceil(len(positions) / MAX_X_TICKS))
    return list(positions)[::-1][::step][::-1]


def _x_ticks(shown: Sequence[tuple[float, str]]) -> list[str]:
    """Labels under the x axis, slanted when any is long, so neighbours never overlap."""
    slanted = _slanted([label for _x_, label in shown])
    return [_x_tick(x, label, slanted=slanted) for x, label in shown]


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Keys in a row above the plot, right-aligned in order: (label, css class)."""
    parts = []
    x: float = WIDTH - RIGHT
    for label, css in reversed(entries):
        width = 14 + 6.2 * len(label)
        x -= width + 10
        parts.append(
            f'<g class="legend"><rect x="{x:.1f}" y="{TOP - 14}" width="9" height="9" '
            f'class="key {css}"/><text x="{x + 13:.1f}" y="{TOP - 6}">{escape(label)}</text></g>'
        )
    return parts


def _frame(
    title: str,
    body: list[str],
    low: float,
    high: float,
    x_label: str,
    y_label: str,
    *,
    x_ticks: Sequence[tuple[float, str]] = (),
    legend: Sequence[tuple[str, str]] = (),
) -> SafeString:
    ticks = []
    for step in range(5):
        value = low + (high - low) * step / 4
        y = _y(value, low, high)
        ticks.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{number(value)}</text>"
        )
    bottom = HEIGHT - BOTTOM
    axes = (
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" class="axis"/>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" class="axis"/>'
    )
    shown = _shown_ticks(x_ticks)
    # Slanted labels need the whole bottom margin; level ones half of it, so the
    # picture is cut shorter (nothing is drawn below the x axis's title).
    height = HEIGHT if _slanted([label for _x_, label in shown]) else HEIGHT - BOTTOM // 2
    middle = TOP + (HEIGHT - TOP - BOTTOM) / 2
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {height}" class="chart" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text x="{LEFT}" y="14" class="chart-title">{escape(title)}</text>'
        f"{''.join(ticks)}{axes}{''.join(body)}{''.join(_x_ticks(shown))}"
        f"{''.join(_legend(legend))}"
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{height - 6}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
        f'<text x="14" y="{middle}" text-anchor="middle" class="axis-label" '
        f'transform="rotate(-90 14 {middle})">{escape(y_label)}</text></svg>'
    )
    return mark_safe(svg)


def line_chart(
    title: str, points: Sequence[tuple[str, float | None]], *, low: float = 0.0, high: float = 1.0,
    y_label: str = "", x_label: str = "",
) -> SafeString:  # fmt: skip
    """A line over labelled points (e.g. dates), the labels under the axis."""
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
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="dot">'
                f"<title>{escape(label)}: {number(value)}</title></circle>"
            )
    ticks = [(_x(i, count), label) for i, (label, _v) in enumerate(points)]
    return _frame(title, body, low, high, x_label, y_label, x_ticks=ticks)


def scatter_chart(
    title: str, points: Sequence[tuple[float, float, str, bool]], *, x_label: str, y_label: str,
    low: float = 0.0, high: float = 1.0, x_unit: str = "",
) -> SafeString:  # fmt: skip
    """Points (x, y, label, flagged), each named beside its dot (names that would overlap
    are moved down a line); x from 0 to a round number above the largest x. Flagged
    points are drawn in the flag colour (a legend says so)."""
    body: list[str] = []
    x_max = nice_ceiling(max((x for x, _y_, _l, _f in points), default=0.0))
    placed: list[tuple[float, float, float]] = []  # labels so far: left, right, baseline
    for x, y, label, flagged in sorted(points, key=lambda point: -point[1]):
        css = "dot flagged" if flagged else "dot"
        cx, cy = _x(x, x_max), _y(y, low, high)
        anchor = "end" if cx > WIDTH - RIGHT - 80 else "start"
        dx = -7 if anchor == "end" else 7
        width = 6.5 * len(label)
        start = cx + dx - width if anchor == "end" else cx + dx
        ly = cy - 6
        while any(
            start < right and left < start + width and abs(py - ly) < 13
            for left, right, py in placed
        ):
            ly += 13
        placed.append((start, start + width, ly))
        body.append(
            f'<g class="point"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" class="{css}">'
            f"<title>{escape(label)}: {number(x)}{escape(x_unit)}, {number(y)}</title></circle>"
            f'<text x="{cx + dx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" class="mark-label">'
            f"{escape(label)}</text></g>"
        )
    ticks = [(_x(x_max * i / 4, x_max), number(x_max * i / 4)) for i in range(5)]
    legend = [("flagged", "flagged")] if any(flagged for *_rest, flagged in points) else []
    return _frame(title, body, low, high, x_label, y_label, x_ticks=ticks, legend=legend)


def bar_chart(
    title: str, bars: Sequence[tuple[str, float | None, bool]], *, reference: float | None = None,
    low: float = 0.0, high: float = 1.0, y_label: str = "", x_label: str = "",
    reference_label: str = "", value_unit: str = "",
    intervals: Sequence[tuple[float, float] | None] = (),
) -> SafeString:  # fmt: skip
    """Bars (label, value, flagged), each labelled under the axis, with an optional
    dashed reference line and optional 95% intervals (one per bar, drawn as whiskers);
    the legend names the flag colour, the reference line and the whiskers."""
    body: list[str] = []
    count = max(len(bars), 1)
    slot = (WIDTH - LEFT - RIGHT) / count
    for i, (label, value, flagged) in enumerate(bars):
        if value is None:
            continue
        top = _y(value, low, high)
        css = "bar flagged" if flagged else "bar"
        interval = intervals[i] if i < len(intervals) else None
        words = f"{number(value)}{escape(value_unit)}"
        if interval is not None:
            words += f", 95% interval {number(interval[0])} to {number(interval[1])}"
        body.append(
            f'<rect x="{LEFT + i * slot + slot * 0.15:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{HEIGHT - BOTTOM - top:.1f}" class="{css}"><title>{escape(label)}: '
            f"{words}</title></rect>"
        )
        if interval is not None:
            middle = LEFT + (i + 0.5) * slot
            y_low, y_high = _y(interval[0], low, high), _y(interval[1], low, high)
            body.append(
                f'<path d="M{middle - 5:.1f},{y_low:.1f}h10M{middle:.1f},{y_low:.1f}'
                f'V{y_high:.1f}M{middle - 5:.1f},{y_high:.1f}h10" class="whisker"/>'
            )
    legend = [("flagged", "flagged")] if any(flagged for *_rest, flagged in bars) else []
    if any(interval is not None for interval in intervals):
        legend.append(("95% interval", "whisker-key"))
    if reference is not None:
        y = _y(reference, low, high)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="reference"/>'
        )
        if reference_label:
            legend.append((reference_label, "reference"))
    ticks = [(LEFT + (i + 0.5) * slot, label) for i, (label, _v, _f) in enumerate(bars)]
    return _frame(title, body, low, high, x_label, y_label, x_ticks=ticks, legend=legend)


def histogram(
    title: str, edges: Sequence[float], counts: Sequence[int], *, x_label: str,
    y_label: str = "count",
) -> SafeString:  # fmt: skip
    """Counts per bin between `edges` (one more edge than counts), each bin labelled with
    its range; the y axis in counts, from 0 to a round number above the fullest bin."""
    bars = [
        (f"{number(edges[i])}-{number(edges[i + 1])}", float(n), False)
        for i, n in enumerate(counts)
    ]
    tallest = max(counts, default=0)
    return bar_chart(
        title,
        bars,
        low=0.0,
        high=nice_ceiling(tallest, whole=True),
        y_label=y_label,
        x_label=x_label,
    )


SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5")


def series_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
    reference: tuple[str, Sequence[float | None]] | None = None, low: float = 0.0,
    high: float = 1.0, y_label: str = "", x_label: str = "",
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
                f"<title>{escape(name)} at {escape(label)}: {number(value)}</title></circle>"
            )

    if reference is not None:
        line(reference[1], "reference", reference[0])
    for index, (name, values) in enumerate(series):
        line(values, SERIES_CLASSES[index % len(SERIES_CLASSES)], name)
    legend = [
        (name, SERIES_CLASSES[i % len(SERIES_CLASSES)]) for i, (name, _v) in enumerate(series)
    ]
    if reference is not None:
        legend.append((reference[0], "reference"))
    ticks = [(_x(i, count), label) for i, label in enumerate(labels)]
    return _frame(title, body, low, high, x_label, y_label, x_ticks=ticks, legend=legend)


ROW = 28  # one generator per row of the interval chart


def interval_chart(
    title: str, rows: Sequence[tuple[str, float, float | None, float | None]], *, x_label: str,
    zero_label: str = "", include_zero: bool = True,
) -> SafeString:  # fmt: skip
    """One row per item, top to bottom: its name on the left, its estimate as a dot with
    the 95% interval as a whisker (a row without an interval shows the dot only), a
    value axis with ticks below and a dashed line at 0 (with `include_zero`; without, the
    axis is fitted to the values, for scores far from 0). Rows are centred on their
    labels, so name and mark line up."""
    if not rows:
        return mark_safe("")
    left, top = 170, 34
    height = top + ROW * len(rows) + 48
    values = [v for _n, est, lo, hi in rows for v in (est, lo, hi) if v is not None]
    anchors = [0.0] if include_zero else []
    lo, hi = min(*values, *anchors), max(*values, *anchors)
    span = (hi - lo) or 1.0
    lo, hi = lo - span * 0.04, hi + span * 0.04
    inner = WIDTH - left - RIGHT

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * inner

    bottom = top + ROW * len(rows)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" class="chart intervals" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>'
    ]
    step = nice_ceiling(hi - lo) / 4  # ticks on round values, 0 among them
    for i in range(math.ceil(lo / step), math.floor(hi / step) + 1):
        value = i * step
        parts.append(
            f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{x(value):.1f}" y="{bottom + 16}" text-anchor="middle" class="tick">'
            f"{number(round(value, 6))}</text>"
        )
    if include_zero:
        parts.append(
            f'<line x1="{x(0.0):.1f}" x2="{x(0.0):.1f}" y1="{top}" y2="{bottom}" '
            'class="reference"/>'
        )
    parts.append(
        f'<line x1="{left}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" class="axis"/>'
    )
    for index, (name, estimate, low, high) in enumerate(rows):
        y = top + index * ROW + ROW / 2
        interval = (
            "no interval"
            if low is None or high is None
            else f"95% interval [{low:.3f}, {high:.3f}]"
        )
        hover = f"{name}: {estimate:.3f}, {interval}"
        parts.append(
            f'<g class="row"><title>{escape(hover)}</title>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" class="row-label">'
            f"{escape(name)}</text>"
        )
        if low is not None and high is not None:
            parts.append(
                f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'class="whisker"/>'
            )
        parts.append(f'<circle cx="{x(estimate):.1f}" cy="{y:.1f}" r="5" class="dot"/></g>')
    middle = (left + WIDTH - RIGHT) / 2
    parts.append(
        f'<text x="{middle}" y="{height - 8}" text-anchor="middle" class="axis-label">'
        f"{escape(x_label)}</text>"
    )
    if zero_label and include_zero:
        parts.append(
            f'<text x="{x(0.0) + 4:.1f}" y="{top - 4}" class="tick">{escape(zero_label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
