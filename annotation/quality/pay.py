"""The pay report: per annotator of a project and date range, what they did and for how
long, beside the quality figures a manager weighs before paying for it.

Active time, the rule (docs/roles.md#pay-report): each judgment is one stretch of work.
Its length is the page timer's `duration_ms`; where a judgment has none (an API client
that sent no timer), the time since the same annotator's previous judgment in the
project stands in for it (nothing for their first). A stretch longer than
IDLE_CAP_SECONDS is an idle gap, the annotator away with the task open: it is cut to
IDLE_CAP_SECONDS when the timer measured it and left out when it is only a gap between
submissions. Median seconds per task is the median of these stretches.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from scipy.stats import binomtest

from annotation.judging import matches_gold
from annotation.models import Judgment, Project, ProjectAnnotator
from annotation.quality.counted import counted_judgments

IDLE_CAP_SECONDS = 300.0

PAY_COLUMNS = [
    "annotator", "judgments", "counted", "not_counted", "active_seconds", "median_seconds",
    "gold_judgments", "gold_correct", "gold_accuracy", "gold_accuracy_low",
    "gold_accuracy_high", "quality_flags", "excluded",
]  # fmt: skip


@dataclass
class PayRow:
    annotator: str
    judgments: int = 0
    counted: int = 0
    not_counted: int = 0
    active_seconds: float = 0.0
    median_seconds: float | None = None
    gold_judgments: int = 0
    gold_correct: int = 0
    gold_accuracy: float | None = None
    gold_accuracy_low: float | None = None
    gold_accuracy_high: float | None = None
    quality_flags: list[str] = field(default_factory=list)
    excluded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Midnight UTC of `start`, and of the day after `end` (both days included)."""
    tz = timezone.get_current_timezone()
    low = datetime.combine(start, time.min, tz) if start else None
    high = datetime.combine(end + timedelta(days=1), time.min, tz) if end else None
    return low, high


def stretch_seconds(duration_ms: int | None, gap: float | None) -> float:
    """One judgment's active seconds under the idle rule of this module's docstring."""
    if duration_ms is not None:
        return min(duration_ms / 1000, IDLE_CAP_SECONDS)
    if gap is None or gap > IDLE_CAP_SECONDS:
        return 0.0
    return gap


def pay_report(
    project: Project, start: date | None = None, end: date | None = None
) -> list[PayRow]:
    """One row per annotator who judged in `project` between `start` and `end` (days,
    both included; open when None), by name. Reads; locks nothing."""
    low, high = _bounds(start, end)
    judgments = Judgment.objects.filter(task__project=project)
    if low:
        judgments = judgments.filter(created_at__gte=low)
    if high:
        judgments = judgments.filter(created_at__lt=high)
    counted = set(
        counted_judgments(project)
        .filter(pk__in=judgments.values("pk"))
        .values_list("pk", flat=True)
    )
    rows: dict[int, PayRow] = {}
    stretches: dict[int, list[float]] = defaultdict(list)
    previous: dict[int, datetime] = {}
    fields = (
        "pk", "annotator_id", "annotator__username", "annotator__external_id", "created_at",
        "duration_ms", "ranking", "is_calibration", "task__is_gold", "task__gold_ranking",
    )  # fmt: skip
    for values in judgments.order_by("annotator_id", "created_at", "pk").values_list(*fields):
        pk, annotator, username, external, created, duration, ranking, calib, gold, gold_rank = (
            values
        )
        row = rows.setdefault(annotator, PayRow(annotator=external or username))
        row.judgments += 1
        if pk in counted:
            row.counted += 1
        else:
            row.not_counted += 1
        before = previous.get(annotator)
        gap = (created - before).total_seconds() if before is not None else None
        previous[annotator] = created
        stretches[annotator].append(stretch_seconds(duration, gap))
        if gold and gold_rank and not calib:
            row.gold_judgments += 1
            row.gold_correct += matches_gold(list(ranking), list(gold_rank))
    standings = {
        s.annotator_id: s
        for s in ProjectAnnotator.objects.filter(project=project, annotator_id__in=rows)
    }
    for annotator, row in rows.items():
        row.active_seconds = round(sum(stretches[annotator]), 3)
        row.median_seconds = round(statistics.median(stretches[annotator]), 3)
        if row.gold_judgments:
            row.gold_accuracy = row.gold_correct / row.gold_judgments
            interval = binomtest(row.gold_correct, row.gold_judgments).proportion_ci(
                method="wilson"
            )
            row.gold_accuracy_low = round(float(interval.low), 4)
            row.gold_accuracy_high = round(float(interval.high), 4)
        standing = standings.get(annotator)
        if standing is not None:
            row.quality_flags = list(standing.quality_flags or [])
            row.excluded = standing.is_excluded
    return sorted(rows.values(), key=lambda row: row.annotator)


def pay_csv_rows(rows: list[PayRow]) -> list[list[Any]]:
    """The report as CSV rows, header first (flags joined by ';')."""
    lines: list[list[Any]] = [PAY_COLUMNS]
    for row in rows:
        values = row.as_dict()
        values["quality_flags"] = ";".join(row.quality_flags)
        lines.append(["" if values[name] is None else values[name] for name in PAY_COLUMNS])
    return lines
