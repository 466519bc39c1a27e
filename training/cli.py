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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.core import RecipeField


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from training.core import RECIPE_FIELDS

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
    sections = {
        "recipe": parser.add_argument_group("recipe (defaults: HPS v2 on ViT-H-14)"),
        "running": parser.add_argument_group("running"),
    }
    for field in RECIPE_FIELDS:
        sections[field.spec.section].add_argument(field.flag, **recipe_flag_options(field))
    running = sections["running"]
    running.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any; LOCAL_RANK)"
    )
    running.add_argument(
        "--resume", default=None, help="'latest' (continue OUT's last checkpoint) or a path"
    )
    running.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def recipe_flag_options(field: RecipeField) -> dict[str, Any]:
    """add_argument's options for a recipe field's flag, as training/core/config.py
    declares the field: its type (a value per element of a tuple), choices, default, help."""
    options: dict[str, Any] = {"default": field.default, "help": field.help}
    if field.spec.choices:
        options["choices"] = list(field.spec.choices)
    elif isinstance(field.default, tuple):
        options.update(type=field.kind, nargs=len(field.default), default=list(field.default))
        options["metavar"] = field.spec.metavar or None
    else:
        options["type"] = field.kind
        if field.spec.metavar:
            options["metavar"] = field.spec.metavar[0]
    return options


def config_from_options(options: argparse.Namespace) -> Any:
    from training.core import RECIPE_FIELDS, TrainConfig

    recipe = {field.name: getattr(options, field.name) for field in RECIPE_FIELDS}
    for name, value in recipe.items():
        if isinstance(value, list):
            recipe[name] = tuple(value)
    return TrainConfig(
        train_json=options.train,
        test_json=options.test,
        model=options.model,
        out_dir=options.out,
        checkpoint=options.checkpoint,
        pretrained=options.pretrained,
        allow_random_init=options.allow_random_init,
        device=options.device,
        resume=options.resume,
        progress=not options.no_progress,
        **recipe,
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
