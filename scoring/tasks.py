"""Celery tasks of the scorer, routed to the `gpu` queue (CELERY_TASK_ROUTES). Thin."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from scoring import benchmarks, services


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


@shared_task(name=benchmarks.BENCHMARK_JOB_TASK)
def run_benchmark_job(job_id: int) -> str:
    """Run a benchmark job of POST /api/v1/benchmarks/ (its row records the outcome)."""
    job = benchmarks.run_benchmark_job(job_id)
    return "gone or finished" if job is None else job.status


@shared_task(name=services.SCORE_JOB_TASK)
def run_score_job(job_id: int) -> str:
    """Score a POST /api/v1/score/ request (its row records the result or the error)."""
    job = services.run_score_job(job_id)
    return "gone or finished" if job is None else job.status
