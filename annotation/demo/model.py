"""The demo's model: a tiny open_clip config with random start weights, made locally.

A fresh install has no HPS checkpoint (ViT-H-14 weights are gigabytes and would need a
download), so `manage.py demo` registers and activates this one instead, and gives the
demo projects a training recipe small enough for a CPU: "Start a cycle now" on a demo
project's training page then runs the whole loop (export, fine-tune, evaluate against
the active version and the human ceiling, register, promote) in seconds. Its accuracy
shows the loop working, not what an HPS scorer reaches; the pages say so
(scoring.queries.DEMO_MODEL_LABEL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from django.conf import settings

from annotation.models import Project, User
from scoring.core import load_model
from scoring.queries import (
    DEMO_MODEL_LABEL,
    DEMO_MODEL_NAME,
    active_model_version,
    demo_model_version,
)
from scoring.services import activate, register_model_version
from training.services.policy import policy_for
from training.services.weights import base_configured

# A CLIP small enough to fine-tune for a few dozen steps on a CPU in seconds; the
# tokenizer is open_clip's bundled CLIP one (vocab_size 49408), so nothing is fetched.
DEMO_MODEL_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
DEMO_MODEL_ARCHITECTURE = "demo-tiny-clip"
DEMO_MODEL_SEED = 0
# The demo projects' training policy: the HPS v2 recipe's shape at a CPU's scale.
DEMO_RECIPE: dict[str, Any] = {
    "steps": 40,
    "batch_size": 8,
    "global_batch": 8,
    "lr": 5e-4,
    "warmup_steps": 4,
    "eval_every": 0,
    "checkpoint_every": 20,
    "workers": 0,
    "min_new_judgments": 20,
    "promote_margin": 0.0,
}


@dataclass(frozen=True)
class DemoModel:
    """What ensure_demo_model did: `created` when it registered and activated the model
    now; `note` says what the demo's training cycles start from."""

    created: bool
    note: str


def demo_model_folder() -> Path:
    """Where the demo model's checkpoint lives: beside the training runs, in a folder
    whose leading dot no project slug can take."""
    return Path(settings.TRAINING_ROOT) / ".demo-model"


def ensure_demo_model(created_by: User | None = None) -> DemoModel:
    """Register and activate the demo model when the platform has nothing to train from:
    no version registered under DEMO_MODEL_NAME, none active and no TRAINING_BASE_*
    weights configured. Otherwise leaves the registry as it is and says why. Idempotent."""
    existing = demo_model_version()
    if existing is not None:
        return DemoModel(False, f"{DEMO_MODEL_NAME} ({DEMO_MODEL_LABEL}) is registered already")
    active = active_model_version()
    if active is not None:
        return DemoModel(False, f"demo cycles start from the active version {active.name}")
    if base_configured():
        return DemoModel(False, "demo cycles start from the TRAINING_BASE_* weights")
    folder = demo_model_folder()
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / f"{DEMO_MODEL_NAME}.pt"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(DEMO_MODEL_SEED)
        network = load_model(
            DEMO_MODEL_ARCHITECTURE, random_weights=True, model_config=DEMO_MODEL_CONFIG
        ).model
    torch.save({"state_dict": network.state_dict()}, checkpoint)
    version = register_model_version(
        DEMO_MODEL_NAME,
        DEMO_MODEL_ARCHITECTURE,
        checkpoint,
        source=f"{DEMO_MODEL_LABEL}: a tiny open_clip config made by manage.py demo "
        "(annotation/demo/model.py), not a trained HPS scorer",
        metrics={"demo": True, "random_start_weights": True},
        model_config=DEMO_MODEL_CONFIG,
        created_by=created_by,
    )
    activate(version.pk)
    return DemoModel(True, f"registered and activated {DEMO_MODEL_NAME} ({DEMO_MODEL_LABEL})")


def set_demo_policy(project: Project) -> None:
    """Give a demo project the CPU-sized recipe (DEMO_RECIPE); cycles stay off until an
    admin enables them, as for any project."""
    policy = policy_for(project)
    for name, value in DEMO_RECIPE.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()
