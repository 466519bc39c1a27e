"""Annotator standing in a project: quality flags from the agreement report, exclusion."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.models import Project, ProjectAnnotator, User
from annotation.quality.agreement import compute_agreement, served_agreement


def refresh_quality_flags(project: Project, *, stored_only: bool = False) -> dict[str, Any] | None:
    """Recompute (or reuse) the project's report and store each annotator's quality flags.

    With `stored_only` (a page's request) nothing is computed: the flags follow the
    stored report under today's thresholds, a refresh is queued when it is stale, and
    without a stored report nothing is written (None; the refresh sets the flags).
    Creates missing ProjectAnnotator rows; locks the project's rows while writing, so a
    concurrent exclusion is never overwritten (only `quality_flags` is written). Returns
    the report.
    """
    report = served_agreement(project).report if stored_only else compute_agreement(project)
    if report is None:
        return None
    flags = {entry["annotator_id"]: entry["quality_flags"] for entry in report["annotators"]}
    with transaction.atomic():
        standings = {
            standing.annotator_id: standing
            for standing in ProjectAnnotator.objects.select_for_update().filter(project=project)
        }
        ProjectAnnotator.objects.bulk_create(
            [
                ProjectAnnotator(project=project, annotator_id=annotator)
                for annotator in flags
                if annotator not in standings
            ],
            ignore_conflicts=True,
        )
        changed = []
        for standing in ProjectAnnotator.objects.filter(project=project, annotator_id__in=flags):
            new = flags[standing.annotator_id]
            if standing.quality_flags != new:
                standing.quality_flags = new
                changed.append(standing)
        ProjectAnnotator.objects.bulk_update(changed, ["quality_flags"])
    return report


def set_excluded(
    project: Project, annotator: User, *, excluded: bool, by: User | None, reason: str = ""
) -> ProjectAnnotator:
    """Exclude an annotator's judgments from the project's statistics and exports, or re-include.

    Deletes nothing. Locks the standing row; the excluded annotators are part of every
    stored report's data version (annotation/quality/stored.py), so the next report
    reflects the change.
    """
    with transaction.atomic():
        standing, _created = ProjectAnnotator.objects.select_for_update().get_or_create(
            project=project, annotator=annotator
        )
        standing.is_excluded = excluded
        standing.excluded_reason = reason.strip()[:500] if excluded else ""
        standing.excluded_at = timezone.now() if excluded else None
        standing.excluded_by = by if excluded else None
        standing.save(
            update_fields=["is_excluded", "excluded_reason", "excluded_at", "excluded_by"]
        )
    return standing
