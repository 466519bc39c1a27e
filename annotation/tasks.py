"""Celery tasks of the human side. Thin: they take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from annotation.services import assignment, batch_processing


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


@shared_task(name="annotation.expire_leases")
def expire_leases() -> int:
    """Mark leases past their deadline expired (their slots are already free)."""
    return assignment.expire_leases()
