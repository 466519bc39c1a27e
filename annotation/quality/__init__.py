"""TODO"""

from annotation.quality.counted import (
    GOLD_REASON,
    UNCOUNTED_REASONS,
    counted_judgments,
    counted_pairs,
    counted_sql,
    gold_condition,
    uncounted_reasons,
)

__all__ = [
    "GOLD_REASON",
    "UNCOUNTED_REASONS",
    "counted_judgments",
    "counted_pairs",
    "counted_sql",
    "gold_condition",
    "uncounted_reasons",
]
