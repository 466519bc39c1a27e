"""`python -m training`: fine-tune an HPS scorer on HPD v2 train.json (no Django).

Runs the same under `torchrun --nproc-per-node N -m training ...`. Success: exit 0 and
the last stdout line a JSON summary (rank 0 only). Bad input: one line `error: ...` on
stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from training.core import TrainConfig

    defaults = TrainConfig(train_json=Path("."), test_json=None, model="", out_dir=Path("."))
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=(
            "Fine-tune an HPS v2 scorer (OpenCLIP) on HPD v2 preference pairs. Images in "
            "train.json / test.json resolve against the train/ and test/ folders beside "
            "them. Writes OUT/metrics.jsonl and OUT/checkpoints/latest.pt (official "
            "format). Multi-GPU: torchrun --nproc-per-node N -m training ..."
        ),
        formatter_class=_HelpFormatter,
    )
    data = parser.add_argument_group("data and model")
    data.add_argument("--train", required=True, type=Path, help="HPD v2 train.json")
    data.add_argument("--test", type=Path, default=None, help="HPD v2 test.json (evaluation)")
    data.add_argument(
        "--model", required=True, help="open_clip architecture (ViT-H-14) or model-config JSON"
    )
    data.add_argument("--out", required=True, type=Path, help="run folder (metrics, checkpoints)")
    data.add_argument(
        "--checkpoint", type=Path, default=None, help="start weights (official .pt / safetensors)"
    )
    data.add_argument(
        "--pretrained", default=None, help="open_clip pretrained tag already in the local cache"
    )
    data.add_argument(
        "--allow-random-init",
        action="store_true",
        help="start from random weights (tests and benchmarks only)",
    )
    recipe = parser.add_argument_group("recipe (defaults: HPS v2 on ViT-H-14)")
    recipe.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
    recipe.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="pairs per device per micro-step",
    )
    recipe.add_argument(
        "--global-batch",
        type=int,
        default=defaults.global_batch,
        help="pairs per optimizer step (gradient accumulation makes up the difference)",
    )
    recipe.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate")
    recipe.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    recipe.add_argument(
        "--betas", type=float, nargs=2, default=list(defaults.betas), metavar=("B1", "B2")
    )
    recipe.add_argument("--eps", type=float, default=defaults.eps, help="AdamW epsilon")
    recipe.add_argument("--warmup-steps", type=int, default=defaults.warmup_steps)
    recipe.add_argument(
        "--unlocked-image-groups",
        type=int,
        default=defaults.unlocked_image_groups,
        help="trainable layer groups at the end of the image tower",
    )
    recipe.add_argument(
        "--unlocked-text-layers",
        type=int,
        default=defaults.unlocked_text_layers,
        help="trainable blocks at the end of the text tower (plus its final norm and projection)",
    )
    recipe.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default=defaults.precision,
        help="auto: bf16 autocast on CUDA, fp32 on CPU",
    )
    running = parser.add_argument_group("running")
    running.add_argument(
        "--eval-every", type=int, default=defaults.eval_every, help="steps; 0: only at the end"
    )
    running.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    running.add_argument(
        "--workers", type=int, default=defaults.workers, help="image decoding processes"
    )
    running.add_argument("--seed", type=int, default=defaults.seed)
    running.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any; LOCAL_RANK)"
    )
    running.add_argument(
        "--resume", default=None, help="'latest' (continue OUT's last checkpoint) or a path"
    )
    running.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def config_from_options(options: argparse.Namespace) -> Any:
    from training.core import TrainConfig

    return TrainConfig(
        train_json=options.train,
        test_json=options.test,
        model=options.model,
        out_dir=options.out,
        checkpoint=options.checkpoint,
        pretrained=options.pretrained,
        allow_random_init=options.allow_random_init,
        steps=options.steps,
        batch_size=options.batch_size,
        global_batch=options.global_batch,
        lr=options.lr,
        weight_decay=options.weight_decay,
        betas=(options.betas[0], options.betas[1]),
        eps=options.eps,
        warmup_steps=options.warmup_steps,
        unlocked_image_groups=options.unlocked_image_groups,
        unlocked_text_layers=options.unlocked_text_layers,
        precision=options.precision,
        eval_every=options.eval_every,
        checkpoint_every=options.checkpoint_every,
        workers=options.workers,
        seed=options.seed,
        device=options.device,
        resume=options.resume,
        progress=not options.no_progress,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    from scoring.errors import ModelLoadError
    from training.core import TrainingConfigError, TrainingDataError, train

    try:
        result = train(config_from_options(options))
    except (TrainingDataError, TrainingConfigError, ModelLoadError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the cause said
        print(f"error: {message}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(result.summary()))
    return 0
