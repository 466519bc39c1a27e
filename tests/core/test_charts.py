"""The shared SVG charts (core/charts.py): titled, with labelled axes, a name under every
bar, a range under every bin, a value on every mark's hover, rows that line up."""

from __future__ import annotations

import re
from itertools import pairwise

from core import charts


def hover_texts(svg: str) -> list[str]:
    return re.findall(r"<title>([^<]*)</title>", svg)[1:]  # the first is the chart's


def test_a_bar_chart_names_every_bar_and_says_what_its_lines_and_colours_mean() -> None:
    svg = charts.bar_chart(
        "First shown won",
        [("ann-0", 0.5, False), ("ann-<1>", 0.9, True)],
        reference=0.5,
        reference_label="0.5: no position bias",
        y_label="first shown won",
        x_label="annotator",
    )
    assert svg.startswith("<svg") and 'class="chart-title">First shown won<' in svg
    ticks = re.findall(r'class="tick"[^>]*>([^<]*)<', svg)
    assert {"ann-0", "ann-&lt;1&gt;", "0", "0.5", "1"} <= set(ticks)  # names escaped
    assert hover_texts(svg) == ["ann-0: 0.5", "ann-&lt;1&gt;: 0.9"]
    assert ">flagged<" in svg and ">0.5: no position bias<" in svg  # the legend
    assert ">annotator<" in svg and ">first shown won<" in svg  # both axes


def test_bars_may_carry_their_intervals() -> None:
    svg = charts.bar_chart(
        "Bias", [("ann-0", 0.4, False), ("ann-1", 0.5, False)], intervals=[(0.2, 0.6), None]
    )
    assert hover_texts(svg) == ["ann-0: 0.4, 95% interval 0.2 to 0.6", "ann-1: 0.5"]
    assert svg.count('class="whisker"') == 1 and ">95% interval<" in svg


def test_a_histogram_labels_every_bin_with_its_range_and_counts_on_the_y_axis() -> None:
    svg = charts.histogram("W", [0.0, 0.5, 1.0], [3, 1], x_label="Kendall's W")
    assert re.findall(r'class="tick"[^>]*>(\d[^<]*-[^<]*)<', svg) == ["0-0.5", "0.5-1"]
    assert hover_texts(svg) == ["0-0.5: 3", "0.5-1: 1"]
    assert ">4<" in svg  # a round top above the fullest bin


def test_axes_end_on_round_numbers() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 148, 0.9, 1001, 7.66)] == [4, 160, 1, 1200, 8]
    assert [charts.nice_ceiling(v, whole=True) for v in (3, 9, 22)] == [4, 12, 24]


def test_a_scatter_names_each_dot_and_gives_both_values_on_hover() -> None:
    svg = charts.scatter_chart(
        "Speed", [(4.0, 0.8, "ann-0", False), (8.0, 0.4, "ann-1", True)],
        x_label="median seconds", y_label="agreement", x_unit=" s",
    )  # fmt: skip
    assert re.findall(r'class="mark-label">([^<]*)<', svg) == ["ann-0", "ann-1"]
    assert hover_texts(svg) == ["ann-0: 4 s, 0.8", "ann-1: 8 s, 0.4"]
    assert ">8<" in svg and ">median seconds<" in svg  # the x axis: 0 to 8 s


def test_names_of_dots_close_together_do_not_overlap() -> None:
    points = [(4.0, 0.80, "ann-0", False), (4.1, 0.81, "ann-1", False), (4.2, 0.80, "ann-2", False)]
    svg = charts.scatter_chart("Speed", points, x_label="s", y_label="agreement")
    rows = sorted(float(y) for y in re.findall(r'y="([\d.]+)"[^>]*class="mark-label"', svg))
    assert all(b - a >= 13 for a, b in pairwise(rows)), rows


def test_an_interval_chart_puts_each_name_on_its_own_marks_row() -> None:
    svg = charts.interval_chart(
        "Strengths", [("gen-0", 0.6, 0.2, 1.0), ("gen-1", -0.6, None, None)],
        x_label="strength",
    )  # fmt: skip
    labels = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end"', svg)]
    dots = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert len(labels) == len(dots) == 2
    assert hover_texts(svg)[0] == "gen-0: 0.600, 95% interval [0.200, 1.000]"
    assert all(abs(label - 4 - dot) < 0.01 for label, dot in zip(labels, dots, strict=True))
    assert svg.count('class="whisker"') == 1  # no interval, no whisker
    assert hover_texts(svg)[1] == "gen-1: -0.600, no interval"
    ticks = re.findall(r'class="tick">(-?[\d.]+)<', svg)
    assert ">strength<" in svg and "0" in ticks and set(ticks) <= {"-1", "-0.5", "0", "0.5", "1"}
    assert charts.interval_chart("Empty", [], x_label="strength") == ""
