"""Judged projects for the export, leaderboard, permission and site-wide tests: real
batches imported and processed, then judged through the services."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from annotation.models import Batch, Project, Split, User
from tests.factories.batches import image_ids, import_ready_batch, tasks_of, write_batch
from tests.factories.judging import judge
from tests.factories.users import make_user


@dataclass
class JudgedProject:
    project: Project
    annotators: list[User]
    train_batch: Batch
    test_batch: Batch
    train_folder: Path
    test_folder: Path


def imported_project(
    tmp: Path,
    slug: str = "study",
    *,
    train_groups: int = 3,
    test_groups: int = 2,
    images: int = 4,
    annotators: int = 3,
    train_judgments: int = 1,
    seed: int = 1,
) -> JudgedProject:
    """A ranking project with a ready train batch (each task wanting `train_judgments`
    judgments) and a ready test batch (each task wanting one per annotator), and its
    annotators; nothing judged yet."""
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
    train = import_ready_batch(train_folder, slug, judgments_per_task=train_judgments)
    test = import_ready_batch(
        test_folder, slug, split=Split.TEST, judgments_per_task=max(annotators, 1)
    )
    users = [make_user(f"{slug}-judge-{k}") for k in range(annotators)]
    return JudgedProject(
        project=Project.objects.get(slug=slug),
        annotators=users,
        train_batch=train,
        test_batch=test,
        train_folder=train_folder,
        test_folder=test_folder,
    )


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
    """A ranking project: train groups judged once (task i by annotator i mod n), test
    groups by every annotator, each ranking a seeded shuffle of the task's images."""
    rng = random.Random(seed)
    judged = imported_project(
        tmp,
        slug,
        train_groups=train_groups,
        test_groups=test_groups,
        images=images,
        annotators=annotators,
        seed=seed,
    )
    users = judged.annotators
    for index, task in enumerate(tasks_of(judged.train_batch)):
        ids = image_ids(task)
        rng.shuffle(ids)
        judge(task, users[index % annotators], ids)
    for task in tasks_of(judged.test_batch):
        for user in users:
            ids = image_ids(task)
            rng.shuffle(ids)
            judge(task, user, ids)
    return judged
