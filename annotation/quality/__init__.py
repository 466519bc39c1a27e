"""Quality: how far the judgments agree and how far each annotator can be trusted.

counted (which judgments count: the rule every statistic, the export, the leaderboard
and the training trigger share), agreement (compute_agreement: the report and its
cache), agreement_data (judgments as arrays, one SQL query), agreement_stats (the
statistics, numpy only), annotator_stats (per-annotator figures and flags),
annotator_quality (refreshing flags, excluding an annotator), gold (gold pairs against a
degraded copy), repeats (self-consistency items).
Other code imports the names below, not the modules.
"""

from annotation.quality.agreement import compute_agreement
from annotation.quality.agreement_stats import ranked_groups_ceiling
from annotation.quality.annotator_quality import refresh_quality_flags, set_excluded
from annotation.quality.counted import (
    GOLD_REASON,
    UNCOUNTED_REASONS,
    counted_judgments,
    counted_pairs,
    counted_sql,
    gold_condition,
    uncounted_reasons,
)
from annotation.quality.gold import DEGRADATIONS, GoldError, make_gold_pairs
from annotation.quality.pay import IDLE_CAP_SECONDS, PayRow, pay_csv_rows, pay_report
from annotation.quality.repeats import schedule_repeat_items

__all__ = [
    "DEGRADATIONS",
    "GOLD_REASON",
    "IDLE_CAP_SECONDS",
    "UNCOUNTED_REASONS",
    "GoldError",
    "PayRow",
    "compute_agreement",
    "counted_judgments",
    "counted_pairs",
    "counted_sql",
    "gold_condition",
    "make_gold_pairs",
    "pay_csv_rows",
    "pay_report",
    "ranked_groups_ceiling",
    "refresh_quality_flags",
    "schedule_repeat_items",
    "set_excluded",
    "uncounted_reasons",
]
