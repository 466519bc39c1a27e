"""What happens to a batch after its import committed."""

from __future__ import annotations

import re

from django.db import transaction

from annotation.models import Batch, Prompt

_SPACES = re.compile(r"\s+")


def process_batch(batch_id: int) -> bool:
    """Prepare an imported batch's prompts for annotators and mark the batch ready.

    Locks the batch row (select_for_update) so two workers never process it at once.
    Idempotent: a batch already `ready` is left alone and False is returned. Prompts
    whose cleaned text is still empty get their raw text with whitespace normalised,
    so annotators never see an empty prompt. After the commit, scoring of its images
    with the active model is queued (scoring.score_batch_images, `gpu` queue).
    """
    with transaction.atomic():
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status == Batch.Status.READY:
            return False
        pending = Prompt.objects.filter(batch=batch, cleaned_text="")
        updated = []
        for prompt in pending.only("id", "raw_text").iterator(chunk_size=2000):
            prompt.cleaned_text = _SPACES.sub(" ", prompt.raw_text).strip()
            updated.append(prompt)
        Prompt.objects.bulk_update(updated, ["cleaned_text"], batch_size=2000)
        batch.status = Batch.Status.READY
        batch.save(update_fields=["status"])
        transaction.on_commit(lambda: _enqueue_scoring(batch_id))
    return True


def _enqueue_scoring(batch_id: int) -> None:
    from scoring.services import enqueue_batch_scoring  # keeps torch out of this import

    enqueue_batch_scoring(batch_id)


def unprocessed_batch_ids() -> list[int]:
    return list(
        Batch.objects.filter(status=Batch.Status.IMPORTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
