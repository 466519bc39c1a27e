"""What happens to a batch after its import committed: prompts cleaned, classified, screened."""

from __future__ import annotations

import logging

from django.db import transaction

from annotation.intake.cleaning import CLEANING_FIELDS, apply_cleaning, llm
from annotation.judging import take_out_of_circulation
from annotation.models import Batch, Prompt, Task
from core.queueing import enqueue
from scoring.services import enqueue_batch_scoring

logger = logging.getLogger(__name__)

# The Celery task (annotation/tasks.py) that runs process_batch, by its registered name.
PROCESS_BATCH_TASK = "annotation.process_batch"


def process_batch(batch_id: int) -> bool:
    """Clean, classify and safety-screen an imported batch's prompts; mark the batch ready.

    Locks the batch row (select_for_update) so two workers never process it at once.
    Idempotent: a batch already `ready` is left alone and False is returned. Prompts
    whose cleaned text is still empty get the cleaner's text, removed spans and style;
    unsafe prompts are held and their tasks taken out of circulation (Task.is_active)
    until an admin approves them. With an LLM cleaner configured, its answers are fetched
    before the lock is taken, so no network call runs inside the transaction. After the
    commit, scoring of its images with the active model is queued
    (scoring.score_batch_images, `gpu` queue).
    """
    if llm.llm_configured():
        pending_texts = Prompt.objects.filter(
            batch_id=batch_id, batch__status=Batch.Status.IMPORTED, cleaned_text=""
        ).values_list("raw_text", flat=True)
        llm.prefetch(list(pending_texts))
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status == Batch.Status.READY:
            return False
        pending = Prompt.objects.filter(batch=batch, cleaned_text="")
        updated = []
        for prompt in pending.only("id", "raw_text").iterator(chunk_size=2000):
            apply_cleaning(prompt, allow_network=False)
            updated.append(prompt)
        Prompt.objects.bulk_update(updated, CLEANING_FIELDS, batch_size=2000)
        take_out_of_circulation(Task.objects.filter(prompt__batch=batch, prompt__is_held=True))
        batch.status = Batch.Status.READY
        batch.save(update_fields=["status"])
        transaction.on_commit(lambda: enqueue_batch_scoring(batch_id))
    return True


def enqueue_batch_processing(batch_id: int) -> None:
    """Queue post-import processing. A broker outage never fails an import that committed:
    the batch stays `imported` and the periodic sweep (annotation.sweep_unprocessed_batches)
    queues it once Redis answers again."""
    if not enqueue(PROCESS_BATCH_TASK, batch_id):
        logger.info(
            "batch %s imported; its processing is queued by the sweep when the broker answers",
            batch_id,
        )


def unprocessed_batch_ids() -> list[int]:
    return list(
        Batch.objects.filter(status=Batch.Status.IMPORTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
