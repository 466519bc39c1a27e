"""A judged project whose preference a tiny model can learn (the brighter image wins),
tiny base weights in the TRAINING_BASE_* settings, and a small training recipe: what the
pipeline tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from annotation.models import Project, Split, Task, User
from scoring.core.loading import _instantiate
from tests.factories.batches import image_ids, import_ready_batch, tasks_of
from tests.factories.judging import judge
from tests.factories.users import make_user
from tests.training.helpers import TINY_CONFIG
from training.models import TrainingPolicy
from training.services.policy import policy_for

# Small enough that a whole cycle (export, 6 steps, three evaluations) takes seconds.
TINY_RECIPE: dict[str, Any] = {
    "steps": 6,
    "batch_size": 2,
    "global_batch": 2,
    "lr": 1e-4,
    "warmup_steps": 1,
    "eval_every": 0,
    "checkpoint_every": 2,
    "workers": 0,
    "unlocked_image_groups": 20,
    "unlocked_text_layers": 11,
    "min_new_judgments": 1,
    "promote_margin": 0.0,
}


@dataclass
class BaseWeights:
    config: Path
    checkpoint: Path


def write_base_weights(folder: Path, seed: int = 0) -> BaseWeights:
    """A tiny model-config JSON and a random-init checkpoint in the official format."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    torch.manual_seed(seed)
    checkpoint = folder / "tiny-base.pt"
    torch.save({"state_dict": _instantiate(TINY_CONFIG, "tiny").state_dict()}, checkpoint)
    return BaseWeights(config, checkpoint)


def training_settings(tmp: Path) -> dict[str, str]:
    """The settings (as environment variables) of a CPU learning loop in `tmp`."""
    base = write_base_weights(tmp / "base")
    return {
        "TRAINING_ROOT": str(tmp / "training"),
        "EXPORT_ROOT": str(tmp / "exports"),
        "TRAINING_BASE_MODEL": str(base.config),
        "TRAINING_BASE_CHECKPOINT": str(base.checkpoint),
        "TRAINING_BASE_PRETRAINED": "",
        "TRAINING_GPUS": "1",
        "TRAINING_DEVICE": "cpu",
    }


@pytest.fixture
def training_env(tmp_path: Path, settings: Any) -> dict[str, str]:
    """This process's settings point at a CPU learning loop with tiny base weights; the
    values are returned for child processes."""
    values = training_settings(tmp_path)
    for name, value in values.items():
        setattr(settings, name, Path(value) if name.endswith("_ROOT") else value)
    return values


def _grey_png(path: Path, brightness: int, rng: np.random.Generator) -> None:
    noise = rng.integers(-6, 7, (36, 40, 3))
    pixels = np.clip(brightness + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def write_grey_batch(folder: Path, groups: int, images: int, seed: int, prompt: str) -> Path:
    """A batch folder of grey images whose brightness is in the generator name."""
    rng = np.random.default_rng(seed)
    lines = []
    for n in range(groups):
        values = rng.choice(np.arange(20, 236), size=images, replace=False).tolist()
        entries = []
        for k, value in enumerate(values):
            relative = f"img/{n:04d}-{k}.png"
            _grey_png(folder / relative, value, rng)
            entries.append({"path": relative, "generator": f"grey-{value:03d}"})
        lines.append({"prompt": prompt.format(n=n), "source": "test", "images": entries})
    (folder / "manifest.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    return folder


def brightness_ranking(task: Task) -> list[int]:
    """The task's image ids, brightest first (as recorded in the generator name)."""
    ids = image_ids(task)
    brightness = {
        image.pk: int(image.generator.split("-")[1])
        for image in task.project.images.filter(pk__in=ids)
    }
    return sorted(ids, key=lambda pk: -brightness[pk])


@dataclass
class GreyProject:
    project: Project
    annotators: list[User]


def grey_project(
    tmp: Path,
    slug: str = "grey",
    *,
    train_groups: int = 6,
    test_groups: int = 3,
    annotators: int = 2,
    with_test: bool = True,
    seed: int = 0,
) -> GreyProject:
    """A ranking project judged brighter-first: train groups once, test groups by every
    annotator (so the agreement report has a human ceiling). The last test group is
    judged darker-first by everyone, so no model scoring by brightness alone gets a test
    accuracy of exactly 0 or 1."""
    train = write_grey_batch(tmp / f"{slug}-train", train_groups, 3, seed, "a grey card {n}")
    batch = import_ready_batch(train, slug)
    users = [make_user(f"{slug}-judge-{k}") for k in range(annotators)]
    for index, task in enumerate(tasks_of(batch)):
        judge(task, users[index % annotators], brightness_ranking(task))
    if with_test:
        test = write_grey_batch(tmp / f"{slug}-test", test_groups, 3, seed + 100, "a grey tile {n}")
        test_batch = import_ready_batch(test, slug, split=Split.TEST, judgments_per_task=annotators)
        tasks = tasks_of(test_batch)
        for index, task in enumerate(tasks):
            ranking = brightness_ranking(task)
            if index == len(tasks) - 1:
                ranking.reverse()
            for user in users:
                judge(task, user, ranking)
    return GreyProject(project=Project.objects.get(slug=slug), annotators=users)


def add_train_judgments(tmp: Path, grey: GreyProject, groups: int, seed: int) -> int:
    """Import and judge `groups` more train groups; returns how many judgments that made."""
    folder = write_grey_batch(
        tmp / f"more-{seed}", groups, 3, seed, f"another grey card {seed}-{{n}}"
    )
    tasks = tasks_of(import_ready_batch(folder, grey.project.slug))
    for task in tasks:
        judge(task, grey.annotators[0], brightness_ranking(task))
    return len(tasks)


def tiny_policy(project: Project, **changes: Any) -> TrainingPolicy:
    policy = policy_for(project)
    for name, value in {**TINY_RECIPE, "enabled": True, **changes}.items():
        setattr(policy, name, value)
    policy.save()
    return policy
