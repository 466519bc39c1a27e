"""Server-rendered SVG geometry for the leaderboard chart (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROW = 26
LEFT = 150
WIDTH = 620
TOP = 10


@dataclass(frozen=True)
class StrengthMark:
    generator: str
    y: float
    x: float
    x_low: float
    x_high: float
    strength: float
    low: float
    high: float


@dataclass(frozen=True)
class StrengthChart:
    width: int
    height: int
    left: int
    zero_x: float
    marks: list[StrengthMark]


def strength_chart(table: dict[str, Any]) -> StrengthChart | None:
    """Points with 95% interval whiskers, one row per generator, best first."""
    rows = table.get("generators") or []
    if not rows:
        return None
    # Without an interval (a single prompt) a whisker collapses onto its dot.
    rows = [
        {
            **row,
            "low": row["strength"] if row["low"] is None else row["low"],
            "high": row["strength"] if row["high"] is None else row["high"],
        }
        for row in rows
    ]
    lo = min(min(row["low"], row["strength"]) for row in rows)
    hi = max(max(row["high"], row["strength"]) for row in rows)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = (hi - lo) or 1.0
    inner = WIDTH - LEFT - 20

    def x(value: float) -> float:
        return round(LEFT + (value - lo) / span * inner, 1)

    marks = [
        StrengthMark(
            generator=row["generator"],
            y=TOP + index * ROW + ROW / 2,
            x=x(row["strength"]),
            x_low=x(row["low"]),
            x_high=x(row["high"]),
            strength=row["strength"],
            low=row["low"],
            high=row["high"],
        )
        for index, row in enumerate(rows)
    ]
    return StrengthChart(WIDTH, TOP * 2 + ROW * len(rows), LEFT, x(0.0), marks)
