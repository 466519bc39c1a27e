"""Gold tasks with an obvious answer: an image against a badly degraded copy of itself.

Guideline 1 says a blurry or badly distorted image ranks below a clear one, so the
original must win. The copy is stored like an uploaded image (content-addressed under
MEDIA_ROOT) with generator "degraded:<kind>".
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from PIL import Image as PILImage
from PIL import ImageFilter, ImageOps

from annotation.intake import MediaWriter, media_path_for
from annotation.models import Image, Project, Task, TaskImage

DEGRADATIONS = ("blur", "noise", "distort")
# A degraded copy's generator is this prefix and its kind: a check, never a generator.
DEGRADED_PREFIX = "degraded:"


class GoldError(Exception):
    """Gold pairs could not be made; the message says why and what to do."""


def degrade(image: PILImage.Image, kind: str, seed: int = 0) -> PILImage.Image:
    """A copy of `image` made obviously worse: blurred, buried in noise, or pixelated."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    width, height = image.size
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(radius=max(3.0, max(width, height) / 20)))
    if kind == "noise":
        pixels = np.asarray(image, dtype=np.float32)
        noise = np.random.default_rng(seed).normal(0.0, 80.0, pixels.shape)
        return PILImage.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    if kind == "distort":
        small = image.resize(
            (max(1, width // 12), max(1, height // 3)), PILImage.Resampling.NEAREST
        )
        return small.resize((width, height), PILImage.Resampling.NEAREST)
    raise GoldError(f"unknown degradation {kind!r}; use one of {', '.join(DEGRADATIONS)}")


def make_gold_pairs(
    project: Project, *, count: int, kinds: tuple[str, ...] = DEGRADATIONS, seed: int | None = None
) -> list[int]:
    """Make up to `count` gold pair tasks from the project's images; returns their task ids.

    Picks images of active, non-gold, non-repeat tasks that are not withdrawn, not
    degraded copies, and not yet the original of a gold pair. Writes the copies and rows
    in one transaction: on any failure nothing is kept (files written are removed).
    Locks the project row (`Project.objects.locked()`: submits go on meanwhile) so two
    runs never pick the same image.
    """
    if count < 1:
        raise GoldError("count must be at least 1")
    for kind in kinds:
        if kind not in DEGRADATIONS:
            raise GoldError(f"unknown degradation {kind!r}; use one of {', '.join(DEGRADATIONS)}")
    writer = MediaWriter(Path(settings.MEDIA_ROOT))
    made: list[int] = []
    try:
        with transaction.atomic():
            Project.objects.locked().get(pk=project.pk)
            used = {
                ranking[0]
                for ranking in Task.objects.filter(project=project, is_gold=True)
                .exclude(gold_ranking=None)
                .values_list("gold_ranking", flat=True)
                if ranking
            }
            candidates = list(
                Image.objects.filter(
                    project=project,
                    is_withdrawn=False,
                    tasks__is_active=True,
                    tasks__is_gold=False,
                    tasks__repeat_of=None,
                )
                .exclude(generator__startswith=DEGRADED_PREFIX)
                .exclude(pk__in=used)
                .distinct()
                .order_by("pk")
            )
            rng = random.Random(seed)
            rng.shuffle(candidates)
            for number, original in enumerate(candidates[:count]):
                kind = kinds[number % len(kinds)]
                made.append(_gold_pair(project, original, kind, writer, rng.randrange(2**31)))
    except Exception:
        writer.rollback()
        raise
    return made


def _gold_pair(project: Project, original: Image, kind: str, writer: MediaWriter, seed: int) -> int:
    source = Path(settings.MEDIA_ROOT) / original.file
    try:
        with PILImage.open(source) as opened:
            worse = degrade(opened, kind, seed)
    except OSError as exc:
        raise GoldError(f"{original.file}: cannot be read ({exc}); restore MEDIA_ROOT") from exc
    buffer = io.BytesIO()
    worse.save(buffer, "PNG")
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    relative = media_path_for(sha256, "png")
    writer.store(relative, data)
    degraded = Image.objects.create(
        project=project,
        prompt=original.prompt,
        sha256=sha256,
        file=relative,
        original_name=f"degraded-{kind}-of-{original.sha256[:12]}.png",
        format="PNG",
        width=worse.width,
        height=worse.height,
        byte_size=len(data),
        generator=f"{DEGRADED_PREFIX}{kind}",
    )
    source_task = original.tasks.filter(is_gold=False).order_by("pk").first()
    assert source_task is not None  # candidates come from tasks
    task = Task.objects.create(
        project=project,
        batch=source_task.batch,
        prompt=original.prompt,
        judgments_wanted=project.judgments_per_task,
        is_gold=True,
        gold_ranking=[original.pk, degraded.pk],
        is_active=source_task.is_active,
    )
    TaskImage.objects.bulk_create(
        [
            TaskImage(task=task, image=original, position=0),
            TaskImage(task=task, image=degraded, position=1),
        ]
    )
    return task.pk
