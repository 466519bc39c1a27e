"""Judged projects for export and leaderboard tests: real imports, then judgments with
their pair rows as a submission stores them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from annotation.intake.importing import import_batch
from annotation.models import Batch, Judgment, PairJudgment, Project, Task, User
from annotation.projects.accounts import add_user
from tests.annotation.factories import write_batch


def judge(
    task: Task, annotator: User, ranking: list[int], *, is_calibration: bool = False
) -> Judgment:
    """Store a judgment (image ids best to worst) and its derived pairs."""
    judgment = Judgment.objects.create(
        task=task,
        annotator=annotator,
        ranking=ranking,
        display_order=list(reversed(ranking)),
        duration_ms=1500,
        guideline_version=task.project.guideline_version,
        is_calibration=is_calibration,
    )
    PairJudgment.objects.bulk_create(
        PairJudgment(
            project=task.project,
            judgment=judgment,
            task=task,
            annotator=annotator,
            winner_id=ranking[a],
            loser_id=ranking[b],
        )
        for a in range(len(ranking))
        for b in range(a + 1, len(ranking))
    )
    if not is_calibration:
        Task.objects.filter(pk=task.pk).update(judgments_done=task.judgments_done + 1)
    return judgment


def image_ids(task: Task) -> list[int]:
    return [row.image_id for row in task.task_images.order_by("position")]


@dataclass
class JudgedProject:
    project: Project
    annotators: list[User]
    train_batch: Batch
    test_batch: Batch
    train_folder: Path
    test_folder: Path


def judged_project(
    tmp: Path,
    slug: str = "study",
    *,
    train_groups: int = 3,
    test_groups: int = 2,
    images: int = 4,
    annotators: int = 3,
    seed: int = 1,
) -> JudgedProject:
    """A ranking project: train groups judged once, test groups by every annotator."""
    rng = random.Random(seed)
    train_folder = write_batch(
        tmp / "train",
        groups=train_groups,
        images_per_group=images,
        seed=seed,
        prompt="a red fox in the snow, number {n}",
    )
    test_folder = write_batch(
        tmp / "test",
        groups=test_groups,
        images_per_group=images,
        seed=seed + 500,
        prompt="a lighthouse at dusk, number {n}",
    )
    train_summary = import_batch(train_folder, slug)
    test_summary = import_batch(test_folder, slug, split="test")
    users = [
        add_user(f"{slug}-judge-{k}", "annotator", password="correct-horse-9x").user
        for k in range(annotators)
    ]
    project = Project.objects.get(slug=slug)
    for index, task in enumerate(Task.objects.filter(batch_id=train_summary.batch).order_by("pk")):
        ids = image_ids(task)
        rng.shuffle(ids)
        judge(task, users[index % annotators], ids)
    for task in Task.objects.filter(batch_id=test_summary.batch).order_by("pk"):
        for user in users:
            ids = image_ids(task)
            rng.shuffle(ids)
            judge(task, user, ids)
    return JudgedProject(
        project=project,
        annotators=users,
        train_batch=Batch.objects.get(pk=train_summary.batch),
        test_batch=Batch.objects.get(pk=test_summary.batch),
        train_folder=train_folder,
        test_folder=test_folder,
    )
