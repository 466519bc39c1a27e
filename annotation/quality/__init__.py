"""Quality: how far the judgments agree and how far each annotator can be trusted.

counted (which judgments count: the rule every statistic, the export, the leaderboard
and the training trigger share), agreement (compute_agreement: the report and its
stored copy), stored (reports computed in the background, served as of their time),
agreement_data (judgments as arrays, one SQL query), agreement_stats (the
statistics, numpy only), annotator_stats (per-annotator figures and flags),
annotator_quality (refreshing flags, excluding an annotator), gold (gold pairs against a
degraded copy), repeats (self-consistency items).
Other code imports the names below, not the modules.
"""

from annotation.quality.agreement import compute_agreement, served_agreement
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
from annotation.quality.gold import DEGRADATIONS, DEGRADED_PREFIX, GoldError, make_gold_pairs
from annotation.quality.pay import IDLE_CAP_SECONDS, PayRow, pay_csv_rows, pay_report
from annotation.quality.repeats import schedule_repeat_items
from annotation.quality.stored import (
    REFRESH_REPORTS_TASK,
    ServedReport,
    judgments_version,
    request_refresh,
    serve_report,
    short_hash,
    store_report,
    stored_report,
)

__all__ = [
    "DEGRADATIONS",
    "DEGRADED_PREFIX",
    "GOLD_REASON",
    "IDLE_CAP_SECONDS",
    "REFRESH_REPORTS_TASK",
    "UNCOUNTED_REASONS",
    "GoldError",
    "PayRow",
    "ServedReport",
    "compute_agreement",
    "counted_judgments",
    "counted_pairs",
    "counted_sql",
    "gold_condition",
    "judgments_version",
    "make_gold_pairs",
    "pay_csv_rows",
    "pay_report",
    "ranked_groups_ceiling",
    "refresh_quality_flags",
    "request_refresh",
    "schedule_repeat_items",
    "serve_report",
    "served_agreement",
    "set_excluded",
    "short_hash",
    "store_report",
    "stored_report",
    "uncounted_reasons",
]
