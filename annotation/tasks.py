"""Celery tasks of the human side. Thin: they take ids and call services.

Each task is registered under an explicit name; services queue them by that name
(core.queueing.enqueue with the constant beside the service: PROCESS_BATCH_TASK,
RUN_IMPORT_JOB_TASK, EXPORT_SNAPSHOT_TASK), so nothing but Celery imports this module.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from annotation import export, intake, judging, leaderboard, quality
from annotation.models import Project


@shared_task(
    name=intake.PROCESS_BATCH_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def process_batch(batch_id: int) -> bool:
    return intake.process_batch(batch_id)


@shared_task(name="annotation.sweep_unprocessed_batches")
def sweep_unprocessed_batches() -> int:
    """Queue processing for batches whose queueing was missed (e.g. broker down)."""
    batch_ids = intake.unprocessed_batch_ids()
    for batch_id in batch_ids:
        process_batch.delay(batch_id)
    return len(batch_ids)


@shared_task(
    name=intake.RUN_IMPORT_JOB_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def run_import_job(job_id: int) -> str | None:
    """Import an uploaded archive. Idempotent: a job that ended is left as it is, and a
    redelivery while it runs returns after a short wait. A killed run is undone and run
    again from the start."""
    job = intake.run_import_job(job_id)
    return job.status if job is not None else None


@shared_task(name="annotation.sweep_queued_imports")
def sweep_queued_imports() -> int:
    """Queue import jobs still waiting since before the last sweep (broker down)."""
    job_ids = intake.queued_import_job_ids(timedelta(seconds=settings.SWEEP_INTERVAL_SECONDS))
    for job_id in job_ids:
        run_import_job.delay(job_id)
    return len(job_ids)


@shared_task(name="annotation.sweep_queued_exports")
def sweep_queued_exports() -> int:
    """Queue exports still waiting since before the last sweep (e.g. requested while the
    broker was down). A snapshot queued twice is still exported once."""
    snapshot_ids = export.queued_snapshot_ids(timedelta(seconds=settings.SWEEP_INTERVAL_SECONDS))
    for snapshot_id in snapshot_ids:
        export_snapshot_task.delay(snapshot_id)
    return len(snapshot_ids)


def _projects(project_id: int | None) -> list[Project]:
    query = Project.objects.all() if project_id is None else Project.objects.filter(pk=project_id)
    return list(query.order_by("pk"))


@shared_task(name="annotation.recompute_agreement")
def recompute_agreement(project_id: int | None = None) -> int:
    """Refresh agreement reports and quality flags (one project, or every project)."""
    projects = _projects(project_id)
    for project in projects:
        quality.refresh_quality_flags(project)
    return len(projects)


@shared_task(name=quality.REFRESH_REPORTS_TASK)
def refresh_reports(project_id: int) -> int:
    """Recompute a project's stale leaderboard and agreement report (queued by the pages
    that serve them, once per debounce window); the quality flags follow the report."""
    projects = _projects(project_id)
    for project in projects:
        leaderboard.refresh_leaderboard(project)
        quality.refresh_quality_flags(project)
    return len(projects)


@shared_task(name="annotation.schedule_repeat_items")
def schedule_repeat_items(project_id: int | None = None) -> int:
    """Schedule repeat items for self-consistency (one project, or every project)."""
    return sum(quality.schedule_repeat_items(project) for project in _projects(project_id))


@shared_task(name="annotation.expire_leases")
def expire_leases() -> int:
    """Mark leases past their deadline expired (their slots are already free)."""
    return judging.expire_leases()


@shared_task(name=export.EXPORT_SNAPSHOT_TASK)
def export_snapshot_task(snapshot_id: int) -> str | None:
    """Write a queued export snapshot. Idempotent: a done snapshot is left as it is, and
    a redelivery while it runs returns after a short wait. A failure is recorded on the snapshot
    (status failed, error), never retried behind the user's back."""
    snapshot = export.export_snapshot(snapshot_id)
    return snapshot.status if snapshot is not None else None
