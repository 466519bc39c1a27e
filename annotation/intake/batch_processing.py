"""What happens to a batch after its import committed: prompts cleaned, classified, screened."""

from __future__ import annotations

from django.db import transaction

from annotation.intake.cleaning import clean_prompt, llm
from annotation.intake.prompt_review import hold_tasks_of_held_prompts
from annotation.models import Batch, Prompt


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
        hold_tasks_of_held_prompts(Prompt.objects.filter(batch=batch))
        batch.status = Batch.Status.READY
        batch.save(update_fields=["status"])
        transaction.on_commit(lambda: _enqueue_scoring(batch_id))
    return True


CLEANING_FIELDS = ["cleaned_text", "removed_spans", "style", "is_unsafe", "is_held"]


def apply_cleaning(prompt: Prompt, *, allow_network: bool = True) -> None:
    """Set a prompt's cleaning fields from its raw text (not saved). Unsafe means held."""
    result = clean_prompt(prompt.raw_text, allow_network=allow_network)
    prompt.cleaned_text = result.cleaned
    prompt.removed_spans = result.removed
    prompt.style = result.style
    prompt.is_unsafe = result.is_unsafe
    prompt.is_held = result.is_unsafe


def _enqueue_scoring(batch_id: int) -> None:
    from scoring.services import enqueue_batch_scoring  # keeps torch out of this import

    enqueue_batch_scoring(batch_id)


def unprocessed_batch_ids() -> list[int]:
    return list(
        Batch.objects.filter(status=Batch.Status.IMPORTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
