"""What a fine-tuning run is asked to do (TrainConfig) and what it produced (TrainResult).

The defaults are the HPS v2 recipe for ViT-H-14 (docs/hpd_v2.md#the-training-recipe).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.core.errors import TrainingConfigError

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig:
    train_json: Path  # HPD v2 train.json; images resolve against train/ beside it
    test_json: Path | None  # HPD v2 test.json; images resolve against test/ beside it
    model: str  # open_clip architecture name or path to a model-config JSON
    out_dir: Path
    checkpoint: Path | None = None  # start weights; None -> pretrained tag (or random if allowed)
    pretrained: str | None = None  # open_clip pretrained tag found in the local cache
    allow_random_init: bool = False  # tests and benchmarks only
    steps: int = 4000
    batch_size: int = 16  # pairs per device per micro-step
    global_batch: int = 128  # pairs per optimizer step (accumulation = global / (batch * world))
    lr: float = 3.3e-6
    weight_decay: float = 0.35
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    warmup_steps: int = 500
    unlocked_image_groups: int = 20
    unlocked_text_layers: int = 11
    precision: str = "auto"  # "auto" = bf16 autocast on CUDA, fp32 on CPU; "fp32"; "bf16"
    eval_every: int = 500  # steps; 0 = only at the end
    checkpoint_every: int = 500  # steps
    workers: int = 4  # DataLoader workers
    seed: int = 0
    device: str | None = None  # None = cuda if available else cpu (LOCAL_RANK under torchrun)
    resume: str | None = None  # None or "latest" or a checkpoint path
    progress: bool = True  # tqdm bar (rank 0 only)

    def __post_init__(self) -> None:
        self.train_json = Path(self.train_json)
        self.test_json = None if self.test_json is None else Path(self.test_json)
        self.out_dir = Path(self.out_dir)
        self.checkpoint = None if self.checkpoint is None else Path(self.checkpoint)
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def validate(self) -> None:
        """Raise TrainingConfigError on values no run can use."""
        at_least = {
            "steps": (self.steps, 1),
            "batch_size": (self.batch_size, 1),
            "global_batch": (self.global_batch, 1),
            "warmup_steps": (self.warmup_steps, 0),
            "unlocked_image_groups": (self.unlocked_image_groups, 0),
            "unlocked_text_layers": (self.unlocked_text_layers, 0),
            "eval_every": (self.eval_every, 0),
            "checkpoint_every": (self.checkpoint_every, 1),
            "workers": (self.workers, 0),
        }
        for name, (value, low) in at_least.items():
            if value < low:
                raise TrainingConfigError(f"{name} must be at least {low}, got {value}")
        if self.lr <= 0 or self.weight_decay < 0 or self.eps <= 0:
            raise TrainingConfigError(
                f"lr and eps must be positive and weight_decay not negative "
                f"(got lr={self.lr}, eps={self.eps}, weight_decay={self.weight_decay})"
            )
        if not all(0 <= beta < 1 for beta in self.betas):
            raise TrainingConfigError(f"betas must lie in [0, 1), got {self.betas}")
        if self.precision not in PRECISIONS:
            raise TrainingConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        sources = sum([self.checkpoint is not None, self.pretrained is not None])
        if sources > 1:
            raise TrainingConfigError(
                "give either a start checkpoint or a pretrained tag, not both"
            )
        if sources == 0 and not self.allow_random_init:
            raise TrainingConfigError(
                "no start weights: give a checkpoint (e.g. HPS_v2_compressed.pt) or an "
                "open_clip pretrained tag (laion2B-s32B-b79K for ViT-H-14); random "
                "weights only with allow_random_init (--allow-random-init)"
            )

    def accumulation_steps(self, world_size: int) -> int:
        """Micro-steps per optimizer step so that global_batch pairs make one step."""
        per_micro_step = self.batch_size * world_size
        if self.global_batch % per_micro_step:
            raise TrainingConfigError(
                f"global_batch {self.global_batch} is not a multiple of batch_size "
                f"{self.batch_size} x {world_size} process(es) = {per_micro_step}; "
                "change --global-batch or --batch-size"
            )
        return self.global_batch // per_micro_step

    def to_json(self) -> dict[str, Any]:
        """The config as plain JSON values (paths as strings, betas as a list)."""
        values = dataclasses.asdict(self)
        for key, value in values.items():
            if isinstance(value, Path):
                values[key] = str(value)
            elif isinstance(value, tuple):
                values[key] = list(value)
        return values


@dataclass
class TrainResult:
    out_dir: Path
    checkpoint: Path  # out_dir/checkpoints/latest.pt, official format (dict with "state_dict")
    model_config: dict[str, Any]  # the open_clip model config stored in the checkpoint
    step: int  # last completed optimizer step
    final_loss: float
    test_accuracy: float | None  # HPD v2 ranking accuracy at the end, if test_json
    metrics_path: Path  # out_dir/metrics.jsonl

    def summary(self) -> dict[str, Any]:
        """The JSON summary the CLI prints as its last line."""
        return {
            "out_dir": str(self.out_dir),
            "checkpoint": str(self.checkpoint),
            "step": self.step,
            "final_loss": self.final_loss,
            "test_accuracy": self.test_accuracy,
            "metrics": str(self.metrics_path),
        }
