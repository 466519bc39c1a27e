"""Projects, tasks and judgments written straight to the real database, for statistics tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import count

from annotation.models import (
    Batch,
    Image,
    Judgment,
    PairJudgment,
    Project,
    Prompt,
    Split,
    Task,
    TaskImage,
    TaskType,
    User,
)
from annotation.projects.accounts import add_user

_serial = count(1)


def make_project(slug: str = "quality", images_per_task: int = 4) -> Project:
    return Project.objects.create(
        slug=slug,
        name=slug,
        task_type=TaskType.PAIRWISE if images_per_task == 2 else TaskType.RANKING,
        images_per_task=images_per_task,
        guideline_version="hpd-v2-1",
    )


def make_batch(project: Project, split: str = Split.TRAIN) -> Batch:
    return Batch.objects.create(
        project=project,
        status=Batch.Status.READY,
        split=split,
        judgments_per_task=1,
        source_name="test",
    )


def make_task(batch: Batch, images: int, prompt: str = "a red fox in snow") -> Task:
    project = batch.project
    prompt_row = Prompt.objects.create(
        project=project, batch=batch, raw_text=prompt, cleaned_text=prompt, line_number=1
    )
    task = Task.objects.create(project=project, batch=batch, prompt=prompt_row, judgments_wanted=1)
    for position in range(images):
        serial = next(_serial)
        sha = hashlib.sha256(f"image {serial}".encode()).hexdigest()
        image = Image.objects.create(
            project=project,
            prompt=prompt_row,
            sha256=sha,
            file=f"images/{sha[:2]}/{sha[2:4]}/{sha}.png",
            original_name=f"{serial}.png",
            format="PNG",
            width=32,
            height=32,
            byte_size=100,
            generator=f"gen-{position}",
        )
        TaskImage.objects.create(task=task, image=image, position=position)
    return task


def image_ids(task: Task) -> list[int]:
    return list(task.task_images.order_by("position").values_list("image_id", flat=True))


def annotators(count_: int, prefix: str = "ann") -> list[User]:
    return [
        add_user(f"{prefix}-{i}", "annotator", password="x-long-password-9").user
        for i in range(count_)
    ]


def judge(
    task: Task,
    annotator: User,
    ranking: Sequence[int],
    *,
    display_order: Sequence[int] | None = None,
    duration_ms: int | None = 3000,
    is_calibration: bool = False,
    guideline_version: str = "hpd-v2-1",
) -> Judgment:
    """A judgment and its pair rows, as submitting one stores them."""
    judgment = Judgment.objects.create(
        task=task,
        annotator=annotator,
        ranking=list(ranking),
        display_order=list(display_order if display_order is not None else image_ids(task)),
        duration_ms=duration_ms,
        guideline_version=guideline_version,
        is_calibration=is_calibration,
    )
    PairJudgment.objects.bulk_create(
        PairJudgment(
            project=task.project,
            judgment=judgment,
            task=task,
            annotator=annotator,
            winner_id=winner,
            loser_id=loser,
        )
        for i, winner in enumerate(ranking)
        for loser in ranking[i + 1 :]
    )
    return judgment
