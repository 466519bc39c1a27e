"""`python -m scoring evaluate` and `manage.py evaluate`: accuracy on HPD v2 test data.

The release's ranking accuracy (inversion score, its evaluate_rank), the pairwise
accuracy and the ImageReward-style accuracy, overall, per style and (pairwise) per
generator, each with a 95% bootstrap interval over prompts
(scoring/core/evaluation_stats.py). A short table on stdout, then one JSON object as the
last line:

    {"model", "precision", "antialias", "groups", "ranking_accuracy": {"value", "ci_low",
     "ci_high", "groups"}, "pairwise_accuracy": {..., "pairs"}, "imagereward_accuracy":
     {...}, "by_style": {...}, "by_generator": {name: {"pairwise_accuracy": {...},
     "held_out"}}}

and with --held-out-generators also "held_out_generators" and "by_exposure": {"seen":
{"pairwise_accuracy"}, "held_out": {...}}: accuracy on generators the model trained on
vs those kept out of its training.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from scoring.benchmark_cli import BenchmarkCommandError, ModelSpec
from scoring.cli import DEFAULT_ARCHITECTURE, add_faithfulness_arguments


def add_evaluate_arguments(parser: argparse.ArgumentParser, *, registry: bool = False) -> None:
    parser.add_argument(
        "--checkpoint", required=not registry, default=None, help="HPS checkpoint to evaluate"
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_ARCHITECTURE,
        help="open_clip architecture name or model-config JSON file (default: ViT-H-14)",
    )
    parser.add_argument(
        "--test",
        required=not registry,
        default=None,
        help="HPD v2 test.json" + (" (or --project SLUG)" if registry else ""),
    )
    parser.add_argument(
        "--images", default=None, help="folder the image paths are relative to (default: test/)"
    )
    add_faithfulness_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument(
        "--held-out-generators",
        default="",
        metavar="NAME[,NAME]",
        help="generators the model was kept from training on (python -m training "
        "--hold-out-generators): pairwise accuracy is reported on seen vs held-out pairs; "
        "needs test.json entries with 'generators'",
    )


def run_evaluate_command(
    options: argparse.Namespace, model: ModelSpec, stdout: TextIO, stderr: TextIO
) -> dict[str, Any]:
    """Score the test groups, print the table, return the JSON object (not printed)."""
    import torch
    from tqdm import tqdm

    from scoring.core import BrokenImageError, ModelLoadError, Scorer, load_model
    from scoring.core.evaluation import TestDataError, read_test_json, score_test_groups
    from scoring.core.evaluation_stats import evaluate_groups

    if options.batch_size < 1:
        raise BenchmarkCommandError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.bootstrap < 1:
        raise BenchmarkCommandError(f"--bootstrap must be at least 1, got {options.bootstrap}")
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        read = read_test_json(Path(options.test), Path(options.images) if options.images else None)
        hps = load_model(
            model.architecture, model.checkpoint, device=device, model_config=model.model_config
        )
    except (TestDataError, ModelLoadError) as exc:
        raise BenchmarkCommandError(str(exc)) from exc
    scorer = Scorer(
        hps,
        batch_size=options.batch_size,
        workers=options.workers,
        precision=options.precision,
        antialias=options.antialias == "on",
    )
    total = sum(len(paths) for _, paths, _ in read)
    with tqdm(total=total, desc="evaluating", unit="img", file=stderr, disable=total < 256) as bar:
        try:
            groups = score_test_groups(scorer, read, progress=bar.update)
        except BrokenImageError as exc:
            raise BenchmarkCommandError(f"{exc}; replace the file or remove its group") from exc
    held_out = frozenset(
        name.strip() for name in options.held_out_generators.split(",") if name.strip()
    )
    try:
        report = evaluate_groups(
            groups, resamples=options.bootstrap, seed=options.seed, held_out=held_out
        )
    except ValueError as exc:
        raise BenchmarkCommandError(f"{exc}; check --held-out-generators") from exc
    result: dict[str, Any] = {
        "model": model.label,
        "precision": scorer.precision,
        "antialias": scorer.antialias,
        **report.as_json(),
    }
    print_report(result, stdout)
    return result


def _line(name: str, estimate: dict[str, Any] | None) -> str:
    if estimate is None:
        return f"  {name:<22} n/a"
    return (
        f"  {name:<22} {estimate['value']:.4f}  95% CI [{estimate['ci_low']:.4f}, "
        f"{estimate['ci_high']:.4f}]"
    )


def print_report(result: dict[str, Any], stdout: TextIO) -> None:
    print(f"HPD v2 test accuracy of {result['model']} ({result['groups']} prompts)", file=stdout)
    for key, name in (
        ("ranking_accuracy", "ranking (inversion)"),
        ("pairwise_accuracy", "pairwise"),
        ("imagereward_accuracy", "ImageReward-style"),
    ):
        print(_line(name, result[key]), file=stdout)
    for style, figures in result["by_style"].items():
        print(_line(f"{style}: ranking", figures["ranking_accuracy"]), file=stdout)
    for name, figures in result["by_generator"].items():
        mark = " (held out)" if figures["held_out"] else ""
        print(_line(f"{name}{mark}: pairwise", figures["pairwise_accuracy"]), file=stdout)
    for name, figures in (result.get("by_exposure") or {}).items():
        estimate = figures["pairwise_accuracy"] if figures else None
        print(_line(f"{name.replace('_', '-')} pairs", estimate), file=stdout)


def evaluate_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring evaluate",
        description="Accuracy of an HPS model on HPD v2 test data; the last line is JSON.",
    )
    add_evaluate_arguments(parser)
    options = parser.parse_args(argv)
    model = ModelSpec(Path(options.checkpoint).name, options.model, options.checkpoint)
    try:
        result = run_evaluate_command(options, model, sys.stdout, sys.stderr)
    except BenchmarkCommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0
