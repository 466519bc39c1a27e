"""Real batches on disk (PNG/JPEG files and manifest.jsonl, as users make them), imported
with annotation.intake.importing.import_batch."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from django.db.models import Model
from PIL import Image

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import (
    Assignment,
    Batch,
    Judgment,
    PairJudgment,
    Project,
    Prompt,
    Split,
    Task,
    TaskImage,
)
from annotation.models import Image as ImageRow


def png_bytes(seed: int, size: tuple[int, int] = (32, 24), fmt: str = "PNG", **save: Any) -> bytes:
    """A small image whose pixels (hence sha256) depend on `seed`."""
    digest = hashlib.sha256(str(seed).encode()).digest()
    image = Image.new("RGB", size, tuple(digest[:3]))
    image.putpixel((0, 0), tuple(digest[3:6]))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def write_batch(
    folder: Path,
    groups: int = 3,
    images_per_group: int = 2,
    seed: int = 0,
    prompt: str = "a red fox in the snow, number {n}",
) -> Path:
    """A valid batch folder: `groups` prompt groups of `images_per_group` PNGs each, the
    k-th image of a group made by generator gen-k."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    lines = []
    for n in range(groups):
        images = []
        for k in range(images_per_group):
            relative = f"img/{n:04d}-{k}.png"
            (folder / relative).write_bytes(png_bytes(seed * 1_000_000 + n * 100 + k))
            images.append({"path": relative, "generator": f"gen-{k}"})
        lines.append({"prompt": prompt.format(n=n), "source": "test", "images": images})
    write_manifest(folder, lines)
    return folder


def write_manifest(folder: Path, lines: list[Any]) -> None:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    (folder / "manifest.jsonl").write_text(text, encoding="utf-8")


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def import_ready_batch(
    folder: Path,
    slug: str,
    *,
    split: str = Split.TRAIN,
    judgments_per_task: int | None = None,
    max_judgments_per_task: int | None = None,
) -> Batch:
    """Import a batch folder or zip and process it (cleaning, screening) as the worker
    does after the import commits: the batch is `ready` and its tasks can be leased."""
    summary = import_batch(
        folder,
        slug,
        split=split,
        judgments_per_task=judgments_per_task,
        max_judgments_per_task=max_judgments_per_task,
    )
    process_batch(summary.batch)
    return Batch.objects.get(pk=summary.batch)


def tasks_of(batch: Batch) -> list[Task]:
    """The batch's tasks in manifest order (the order next_assignment serves them in)."""
    return list(Task.objects.filter(batch=batch).order_by("pk"))


def image_ids(task: Task) -> list[int]:
    """The task's image ids in upload order."""
    return list(task.task_images.order_by("position").values_list("image_id", flat=True))


def database_state() -> dict[str, int]:
    """Row counts of every table an import or a judgment touches."""
    models: list[type[Model]] = [
        Project,
        Batch,
        Prompt,
        ImageRow,
        Task,
        TaskImage,
        Assignment,
        Judgment,
        PairJudgment,
    ]
    return {model.__name__: model._default_manager.count() for model in models}


def media_state(root: Path) -> list[str]:
    """Every file and folder under MEDIA_ROOT, so a failed import can be shown to leave none."""
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*"))
