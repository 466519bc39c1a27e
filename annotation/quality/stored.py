"""Reports computed in the background and served as of their time: the leaderboard and
the agreement report.

Both cost seconds on a large project and their data change with every judgment, so a
page never computes them. It serves the last stored result (StoredReport: one row per
project and kind, replaced when computed again) with the time it was computed, and when
the data moved on since, queues the refresh task once per debounce window
(REPORT_REFRESH_DEBOUNCE_SECONDS; core.queueing.enqueue_once) and says "updating". The
task (annotation.refresh_reports in annotation/tasks.py) recomputes what is stale.

A report's data version is a short string naming what it was computed from: the
project's judgments (their count and last id), the excluded annotators, and whatever
else the kind reads; two equal versions mean the same data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from annotation.models import Judgment, Project, ProjectAnnotator, StoredReport
from core.queueing import enqueue_once

# The Celery task (annotation/tasks.py) that recomputes a project's stale reports.
REFRESH_REPORTS_TASK = "annotation.refresh_reports"


@dataclass(frozen=True)
class ServedReport:
    """What a page shows: the last stored report (None before the first), when it was
    computed, and whether a newer one is on its way (the data changed since)."""

    report: dict[str, Any] | None
    as_of: datetime | None
    updating: bool


def judgments_version(project: Project) -> str:
    """The count and last id of the project's live judgments (an undo, which marks a
    judgment retracted, lowers the count), and its excluded annotators: the part of a data
    version every report kind shares. Which judgments count follows from these
    (calibration, gold and repeat tasks are fixed when they are made)."""
    seen = Judgment.objects.filter(task__project=project, retracted_at__isnull=True).aggregate(
        count=Count("id"), last=Max("id")
    )
    excluded = ProjectAnnotator.objects.filter(project=project, is_excluded=True).values_list(
        "annotator_id", flat=True
    )
    return (
        f"judgments={seen['count'] or 0}:{seen['last'] or 0}"
        f"|excluded={short_hash(sorted(excluded))}"
    )


def short_hash(values: Iterable[object]) -> str:
    """A 16-hex-digit digest of `values` (keeps a version short whatever it lists)."""
    return hashlib.sha256(repr(list(values)).encode()).hexdigest()[:16]


def stored_report(project: Project, kind: str) -> StoredReport | None:
    return StoredReport.objects.filter(project=project, kind=kind).first()


def store_report(
    project: Project, kind: str, data_version: str, report: dict[str, Any], seconds: float
) -> None:
    """Store `report` as the project's report of `kind`, replacing the one before (one
    atomic upsert: two workers storing at once leave one row, the later one)."""
    StoredReport.objects.bulk_create(
        [
            StoredReport(
                project=project,
                kind=kind,
                data_version=data_version,
                report=report,
                computed_at=timezone.now(),
                seconds=seconds,
            )
        ],
        update_conflicts=True,
        unique_fields=["project", "kind"],
        update_fields=["data_version", "report", "computed_at", "seconds"],
    )


def serve_report(project: Project, kind: str, data_version: str) -> ServedReport:
    """The stored report of `kind` as of its time; when it is missing or its data version
    is not `data_version`, the refresh task is queued (once per debounce window)."""
    row = stored_report(project, kind)
    fresh = row is not None and row.data_version == data_version
    if not fresh:
        request_refresh(project)
    if row is None:
        return ServedReport(report=None, as_of=None, updating=True)
    return ServedReport(report=row.report, as_of=row.computed_at, updating=not fresh)


def request_refresh(project: Project) -> bool:
    """Queue the project's report refresh unless it was queued in the current window."""
    return enqueue_once(
        REFRESH_REPORTS_TASK, project.pk, window_s=settings.REPORT_REFRESH_DEBOUNCE_SECONDS
    )
