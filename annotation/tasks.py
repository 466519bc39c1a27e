"""Celery tasks of the human side. Thin: they take ids and call services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from annotation.intake import batch_processing
from annotation.judging import assignment


@shared_task(
    name="annotation.process_batch",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def process_batch(batch_id: int) -> bool:
    return batch_processing.process_batch(batch_id)


@shared_task(name="annotation.sweep_unprocessed_batches")
def sweep_unprocessed_batches() -> int:
    """Queue processing for batches whose queueing was missed (e.g. broker down)."""
    batch_ids = batch_processing.unprocessed_batch_ids()
    for batch_id in batch_ids:
        process_batch.delay(batch_id)
    return len(batch_ids)


@shared_task(name="annotation.sweep_queued_exports")
def sweep_queued_exports() -> int:
    """Queue exports still waiting since before the last sweep (e.g. requested while the
    broker was down). A snapshot queued twice is still exported once."""
    from annotation.export.snapshots import queued_snapshot_ids

    snapshot_ids = queued_snapshot_ids(timedelta(seconds=settings.SWEEP_INTERVAL_SECONDS))
    for snapshot_id in snapshot_ids:
        export_snapshot_task.delay(snapshot_id)
    return len(snapshot_ids)


@shared_task(name="annotation.recompute_agreement")
def recompute_agreement(project_id: int | None = None) -> int:
    """Refresh agreement reports and quality flags (one project, or every project)."""
    from annotation.models import Project
    from annotation.quality.annotator_quality import refresh_quality_flags

    projects = (
        Project.objects.all() if project_id is None else Project.objects.filter(pk=project_id)
    )
    for project in projects:
        refresh_quality_flags(project)
    return len(projects)


@shared_task(name="annotation.schedule_repeat_items")
def schedule_repeat_items(project_id: int | None = None) -> int:
    """Schedule repeat items for self-consistency (one project, or every project)."""
    from annotation.models import Project
    from annotation.quality.repeats import schedule_repeat_items as schedule

    projects = (
        Project.objects.all() if project_id is None else Project.objects.filter(pk=project_id)
    )
    return sum(schedule(project) for project in projects)


@shared_task(name="annotation.expire_leases")
def expire_leases() -> int:
    """Mark leases past their deadline expired (their slots are already free)."""
    return assignment.expire_leases()


@shared_task(name="annotation.export_snapshot")
def export_snapshot_task(snapshot_id: int) -> str | None:
    """Write a queued export snapshot. Idempotent: a done snapshot is left as it is, and
    a redelivery while it runs returns after a short wait. A failure is recorded on the snapshot
    (status failed, error), never retried behind the user's back."""
    from annotation.export import export_snapshot

    snapshot = export_snapshot(snapshot_id)
    return snapshot.status if snapshot is not None else None
