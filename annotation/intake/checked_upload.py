"""An upload whose images passed their checks, and storing those images.

Both import formats (manifest.jsonl batches, HPD v2 release folders) validate first and
keep what they learnt here; ingesting then stores each image once under MEDIA_ROOT.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from annotation.intake.batch_images import check_images
from annotation.intake.batch_source import BatchSource, read_capped
from annotation.intake.image_checks import ImageFacts
from annotation.intake.media import MediaWriter, media_path_for
from annotation.intake.problems import BatchRejected, Problem
from core.progress import Progress

# Below this total, validated bytes stay in memory instead of being read a second time.
KEEP_IN_MEMORY_BYTES = 256 * 1024 * 1024

# The stages an import reports to its Progress (an import job counts each on its row).
CHECKING_STAGE = "validating images"
STORING_STAGE = "storing images"
WRITING_STAGE = "writing rows"


@dataclass(kw_only=True)
class CheckedUpload:
    source: BatchSource
    prefix: str  # the folder the batch sits in inside the upload ('' at the top)
    facts: dict[str, ImageFacts] = field(default_factory=dict)  # member -> checked image
    kept_bytes: dict[str, bytes] = field(default_factory=dict)  # member -> bytes kept


def check_upload_images(
    upload: CheckedUpload, members: Sequence[str], progress: Progress
) -> list[Problem]:
    """Check every referenced image of the upload (all cores) and record the good ones in
    `upload.facts`; returns the problems: files that are not images we serve, and the same
    image (by sha256) referenced twice. Bytes are kept in memory for storing when all of
    them together stay under KEEP_IN_MEMORY_BYTES; otherwise they are read again then."""
    keep = sum(upload.source.members[member] for member in members) <= KEEP_IN_MEMORY_BYTES
    progress.start(CHECKING_STAGE, len(members))
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    checked = check_images(
        upload.source,
        list(members),
        max_bytes=settings.IMPORT_MAX_IMAGE_BYTES,
        max_pixels=settings.IMPORT_MAX_IMAGE_PIXELS,
        workers=settings.IMPORT_WORKERS,
        progress=progress,
    )
    for image in checked:
        member, facts = image.member, image.outcome
        if isinstance(facts, Problem):
            problems.append(facts)
            continue
        if facts.sha256 in first_seen:
            problems.append(
                Problem(
                    member,
                    f"is the same image (sha256 {facts.sha256[:12]}...) as "
                    f"{first_seen[facts.sha256]}; each image may appear once",
                )
            )
            continue
        first_seen[facts.sha256] = member
        upload.facts[member] = facts
        if keep:
            upload.kept_bytes[member] = image.data
    return problems


def store_images(upload: CheckedUpload, writer: MediaWriter, progress: Progress) -> None:
    """Store every checked image (content-addressed; the writer undoes a failed import).

    Bytes not kept in memory are read again and must hash as they did when checked;
    a file changed meanwhile rejects the whole import.
    """
    progress.start(STORING_STAGE, len(upload.facts))
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
