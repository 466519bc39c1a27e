"""Projects with ready tasks for the annotator-workflow and statistics tests.

The rows are written directly, without image files: those tests lease and judge tasks
through the services and need only the rows, often many small batches of a chosen
status, split and number of wanted judgments. Tests of what an import stores, or that
show or export image files, import real batches (batches.py).
"""

from __future__ import annotations

import hashlib
from itertools import count

from annotation.models import Batch, Image, Project, Prompt, Split, Task, TaskImage, TaskType

_serial = count(1)


def make_project(
    slug: str = "foxes",
    *,
    task_type: str | None = None,
    images_per_task: int = 2,
    judgments_per_task: int = 1,
    max_judgments_per_task: int | None = None,
    consensus_threshold: float = 0.9,
    lease_seconds: int = 600,
    gold_rate: float = 0.0,
    calibration_tasks: int = 0,
    calibration_pass_rate: float = 0.8,
    flag_withdraw_threshold: int = 2,
    open_to_annotators: bool = True,
) -> Project:
    """A project; pairwise for two images per task, ranking otherwise, unless told.

    Open to all annotators unless told: the judging tests are about the slot rule, not
    membership (tests/annotation/projects/ covers closed projects)."""
    if task_type is None:
        task_type = TaskType.PAIRWISE if images_per_task == 2 else TaskType.RANKING
    return Project.objects.create(
        slug=slug,
        name=slug.title(),
        task_type=task_type,
        images_per_task=images_per_task,
        judgments_per_task=judgments_per_task,
        max_judgments_per_task=max_judgments_per_task,
        consensus_threshold=consensus_threshold,
        guideline_version="hpd-v2-1",
        gold_rate=gold_rate,
        lease_seconds=lease_seconds,
        calibration_tasks=calibration_tasks,
        calibration_pass_rate=calibration_pass_rate,
        open_to_annotators=open_to_annotators,
        flag_withdraw_threshold=flag_withdraw_threshold,
    )


def make_tasks(
    project: Project,
    n: int,
    *,
    images: int | None = None,
    wanted: int | None = None,
    status: str = Batch.Status.READY,
    split: str = Split.TRAIN,
    gold: bool = False,
    prompt: str = "a portrait of Ada Lovelace in Paris, number {n}",
) -> list[Task]:
    """`n` tasks of `images` images each (made by gen-0, gen-1, ...) in a new batch of
    `split`, ready unless told otherwise, each wanting `wanted` judgments (at least; up
    to the project's maximum, as an import makes them).

    Gold tasks get the upload order as their gold ranking.
    """
    per_task = images or project.images_per_task
    k = wanted or project.judgments_per_task
    most = k if gold else max(k, project.judgments_maximum)
    batch = Batch.objects.create(
        project=project,
        status=status,
        split=split,
        judgments_per_task=k,
        max_judgments_per_task=most,
        source_name="factory",
    )
    tasks = []
    for i in range(n):
        serial = next(_serial)
        row = Prompt.objects.create(
            project=project, batch=batch, raw_text=prompt.format(n=serial), line_number=i + 1
        )
        task = Task.objects.create(
            project=project, batch=batch, prompt=row, judgments_wanted=k, is_gold=gold
        )
        ids = []
        for position in range(per_task):
            sha = hashlib.sha256(f"{serial}-{position}".encode()).hexdigest()
            image = Image.objects.create(
                project=project,
                prompt=row,
                sha256=sha,
                file=f"images/{sha[:2]}/{sha[2:4]}/{sha}.png",
                original_name=f"{serial}-{position}.png",
                format="PNG",
                width=32,
                height=24,
                byte_size=100,
                generator=f"gen-{position}",
            )
            TaskImage.objects.create(task=task, image=image, position=position)
            ids.append(image.pk)
        if gold:
            task.gold_ranking = ids
            task.save(update_fields=["gold_ranking"])
        tasks.append(task)
    return tasks
