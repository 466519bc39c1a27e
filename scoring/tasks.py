"""Celery tasks of the scorer, routed to the `gpu` queue (CELERY_TASK_ROUTES). Thin."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from scoring import services


@shared_task(
    name=services.SCORE_BATCH_TASK,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def score_batch_images(batch_id: int) -> int:
    """Score a batch's images with the active model; idempotent (returns how many)."""
    stored = services.score_images_for_batch(batch_id)
    return 0 if stored is None else stored.scored
