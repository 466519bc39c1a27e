"""The HPS v2 fine-tuning recipe: which layers train, AdamW groups, LR schedule, precision.

As the release (hpsv2 1.2.0, src/training/main.py, train.py, scheduler.py) does it:
- the image tower is locked with open_clip's `lock_image_tower(unlocked_groups=20)`;
  its groups are [stem], block 0 .. block 30, [block 31 + ln_post], proj, so the last 20
  are blocks 13..31 (19 blocks), ln_post and proj;
- the text tower keeps its last 11 transformer blocks, ln_final and text_projection
  trainable, token and positional embeddings locked. The release's own open_clip copy
  counts plain blocks; open_clip 3.x's `lock_text_tower` counts groups like the image
  tower (its last two groups are [last block + ln_final] and [text_projection]), so the
  same parameter set is `lock_text_tower(unlocked_layers=11 + 1)`;
- the logit scale (outside both towers) stays trainable and is clamped to [0, ln 100]
  after every optimizer step;
- AdamW without weight decay on parameters with fewer than 2 dimensions or whose name
  has "bn", "ln", "bias" or "logit_scale" (the release's rule), plus embeddings;
- LR: linear warm-up `lr * (step + 1) / warmup` then cosine decay to 0 at the last step.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch

from training.core.config import TrainConfig

LOGIT_SCALE_MAX = math.log(100)
_NO_DECAY_NAME_PARTS = ("bn", "ln", "bias", "logit_scale", "embedding")


def _text_blocks(model: torch.nn.Module) -> int:
    owner: Any = getattr(model, "text", model)
    transformer = getattr(owner, "transformer", None)
    return len(getattr(transformer, "resblocks", ()))


def lock_recipe_layers(
    model: torch.nn.Module, unlocked_image_groups: int, unlocked_text_layers: int
) -> None:
    """Make exactly the recipe's parameters trainable, with open_clip's lock functions."""
    clip: Any = model
    model.requires_grad_(True)
    clip.lock_image_tower(unlocked_groups=unlocked_image_groups, freeze_bn_stats=False)
    if unlocked_text_layers == 0:
        clip.lock_text_tower(unlocked_layers=0)
    else:
        # +1: open_clip's last text group is the projection alone (see the module doc).
        layers = min(unlocked_text_layers, _text_blocks(model))
        clip.lock_text_tower(unlocked_layers=layers + 1)


def decays(name: str, parameter: torch.nn.Parameter) -> bool:
    """Whether AdamW applies weight decay to this parameter (the release's exclusions)."""
    return parameter.ndim >= 2 and not any(part in name for part in _NO_DECAY_NAME_PARTS)


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters: group 0 without weight decay, group 1 with."""
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("nothing to train: every parameter is locked")
    return torch.optim.AdamW(
        [
            {"params": [p for name, p in named if not decays(name, p)], "weight_decay": 0.0},
            {
                "params": [p for name, p in named if decays(name, p)],
                "weight_decay": config.weight_decay,
            },
        ],
        lr=config.lr,
        betas=config.betas,
        eps=config.eps,
    )


def learning_rate(step: int, base_lr: float, warmup_steps: int, total_steps: int) -> float:
    """LR for the 0-based optimizer step: linear warm-up, then cosine decay (release)."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * progress)) * base_lr


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clamp_logit_scale(model: torch.nn.Module) -> None:
    """Keep exp(logit_scale) within [1, 100], as CLIP and the release do after each step."""
    scale = getattr(model, "logit_scale", None)
    if isinstance(scale, torch.Tensor):
        with torch.no_grad():
            scale.clamp_(0, LOGIT_SCALE_MAX)


def resolved_precision(precision: str, device: torch.device) -> str:
    """ "auto" means bf16 autocast on CUDA and fp32 elsewhere."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


def autocast(precision: str, device: torch.device) -> AbstractContextManager[Any]:
    """The forward pass's context: bf16 autocast, or nothing for fp32."""
    if resolved_precision(precision, device) == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()
