"""An upload whose images passed their checks, and storing those images.

Both import formats (manifest.jsonl batches, HPD v2 release folders) validate first and
keep what they learnt here; ingesting then stores each image once under MEDIA_ROOT.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings

from annotation.intake.batch_source import BatchSource, read_capped
from annotation.intake.image_checks import ImageFacts
from annotation.intake.media import MediaWriter, media_path_for
from annotation.intake.problems import BatchRejected, Problem
from core.progress import Progress


@dataclass(kw_only=True)
class CheckedUpload:
    source: BatchSource
    prefix: str  # the folder the batch sits in inside the upload ('' at the top)
    facts: dict[str, ImageFacts] = field(default_factory=dict)  # member -> checked image
    kept_bytes: dict[str, bytes] = field(default_factory=dict)  # member -> bytes kept


def store_images(upload: CheckedUpload, writer: MediaWriter, progress: Progress) -> None:
    """Store every checked image (content-addressed; the writer undoes a failed import).

    Bytes not kept in memory are read again and must hash as they did when checked;
    a file changed meanwhile rejects the whole import.
    """
    progress.start("storing images", len(upload.facts))
    for member, facts in upload.facts.items():
        data = upload.kept_bytes.get(member)
        if data is None:
            with upload.source.open_member(member) as stream:
                data = read_capped(stream, settings.IMPORT_MAX_IMAGE_BYTES)
            if hashlib.sha256(data).hexdigest() != facts.sha256:
                raise BatchRejected(
                    [Problem(member, "changed while it was being imported; import again")]
                )
        writer.store(media_path_for(facts.sha256, facts.extension), data)
        progress.advance()
