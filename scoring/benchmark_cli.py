"""`python -m scoring benchmark` and `manage.py benchmark`: the HPS v2 benchmark.

Both share these arguments and `run_benchmark_command`; `manage.py benchmark` adds
`--model-version NAME` (a registered version instead of --checkpoint/--model). The
output: a table on stdout, then as its last line one JSON object:

    {"generator", "model", "precision", "antialias", "images_checksum",
     "styles": {"anime": {"mean", "std", "ci_low", "ci_high", "images"}, ...},
     "average": {"mean", "ci_low", "ci_high", "images"}, "skipped": [...],
     "comparison": null | {"generator", "model", "styles", "average",
                           "difference": {"anime": {...}, ..., "average": {...}}}}

The figures are scoring/core/benchmark_stats.py's: the release's formulas on 100 x the
raw cosine, with 95% bootstrap intervals over prompts. With --compare-images (another
generator's images for the same prompts) or a second model (--compare-checkpoint, or
--compare-model-version on manage.py), the second run is summarised too and the
difference first minus second gets a paired bootstrap interval per style.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from scoring.cli import DEFAULT_ARCHITECTURE, add_faithfulness_arguments


class BenchmarkCommandError(Exception):
    """A problem with the command's input; the message says what to fix."""


@dataclass(frozen=True)
class ModelSpec:
    """The weights to load, and how the output names them."""

    label: str
    architecture: str
    checkpoint: str
    model_config: dict[str, Any] | None = None


def add_benchmark_arguments(parser: argparse.ArgumentParser, *, registry: bool = False) -> None:
    """The shared flags; with `registry` (manage.py) --checkpoint is optional beside
    --model-version."""
    parser.add_argument(
        "--checkpoint",
        required=not registry,
        default=None,
        help="HPS checkpoint: the official format ({'state_dict': ...}) or a bare state dict",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_ARCHITECTURE,
        help="open_clip architecture name or model-config JSON file (default: ViT-H-14)",
    )
    parser.add_argument(
        "--prompts",
        required=True,
        help="folder with the release's anime.json, concept-art.json, paintings.json, photo.json",
    )
    parser.add_argument(
        "--images",
        required=True,
        help="folder with one sub-folder per style, images named by prompt index (00000.jpg)",
    )
    parser.add_argument(
        "--generator", default=None, help="the generator's name (default: the --images folder's)"
    )
    add_faithfulness_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    parser.add_argument(
        "--workers", type=int, default=None, help="image decoding threads (default: cores, max 8)"
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="skip missing or undecodable images (each one reported) instead of failing",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument(
        "--compare-images",
        default=None,
        help="a second generator's images for the same prompts: paired comparison",
    )
    parser.add_argument("--compare-generator", default=None, help="the second generator's name")
    parser.add_argument(
        "--compare-checkpoint",
        default=None,
        help="a second checkpoint (same --model) scoring the same images: paired comparison",
    )


def model_from_options(options: argparse.Namespace) -> ModelSpec:
    if not options.checkpoint:
        raise BenchmarkCommandError("give --checkpoint PATH (or --model-version NAME)")
    return ModelSpec(Path(options.checkpoint).name, options.model, options.checkpoint)


def _check_options(options: argparse.Namespace) -> None:
    if options.batch_size < 1:
        raise BenchmarkCommandError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.bootstrap < 1:
        raise BenchmarkCommandError(f"--bootstrap must be at least 1, got {options.bootstrap}")


def generator_name(given: str | None, images: str) -> str:
    return given or Path(images).resolve().name


def run_benchmark_command(
    options: argparse.Namespace,
    model: ModelSpec,
    stdout: TextIO,
    stderr: TextIO,
    *,
    compare_model: ModelSpec | None = None,
) -> dict[str, Any]:
    """Run the benchmark (and the comparison, if asked), print the table on `stdout`,
    progress and skipped images on `stderr`; return the JSON object (not printed)."""
    import torch
    from tqdm import tqdm

    from scoring.core import BrokenImageError, ModelLoadError, Scorer, load_model
    from scoring.core.benchmark import (
        BenchmarkLayoutError,
        compare_runs,
        figures_of,
        images_checksum,
        read_layout,
        run_benchmark,
    )

    _check_options(options)
    if options.compare_images and compare_model is not None:
        raise BenchmarkCommandError(
            "compare either two generators (--compare-images) or two models, not both at once"
        )
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    antialias = options.antialias == "on"
    images_dir = Path(options.images)

    def scorer_for(spec: ModelSpec) -> Scorer:
        try:
            hps = load_model(
                spec.architecture, spec.checkpoint, device=device, model_config=spec.model_config
            )
        except ModelLoadError as exc:
            raise BenchmarkCommandError(str(exc)) from exc
        return Scorer(
            hps,
            batch_size=options.batch_size,
            workers=options.workers,
            precision=options.precision,
            antialias=antialias,
        )

    def benchmark(scorer: Scorer, folder: Path, label: str) -> Any:
        try:
            items = read_layout(Path(options.prompts), folder)
            with tqdm(
                total=len(items), desc=label, unit="img", file=stderr, disable=len(items) < 256
            ) as bar:
                run = run_benchmark(
                    scorer, items, folder, allow_missing=options.allow_missing, progress=bar.update
                )
        except BenchmarkLayoutError as exc:
            raise BenchmarkCommandError(str(exc)) from exc
        except BrokenImageError as exc:
            raise BenchmarkCommandError(
                f"{exc}; replace the file, or pass --allow-missing to skip and report it"
            ) from exc
        for skipped in run.skipped:
            print(f"skipped {skipped.name}: {skipped.reason}", file=stderr)
        return items, run

    scorer = scorer_for(model)
    generator = generator_name(options.generator, options.images)
    items, run = benchmark(scorer, images_dir, generator)
    figures = figures_of(run, resamples=options.bootstrap, seed=options.seed)
    result: dict[str, Any] = {
        "generator": generator,
        "model": model.label,
        "precision": scorer.precision,
        "antialias": antialias,
        "images_checksum": images_checksum(items),
        **figures.as_json(),
        "skipped": [
            {"style": s.style, "index": s.index, "file": s.name, "reason": s.reason}
            for s in run.skipped
        ],
        "comparison": None,
    }
    second = None
    if options.compare_images:
        other = generator_name(options.compare_generator, options.compare_images)
        _, second_run = benchmark(scorer, Path(options.compare_images), other)
        second = (other, model.label, second_run)
    elif compare_model is not None:
        _, second_run = benchmark(scorer_for(compare_model), images_dir, generator)
        second = (generator, compare_model.label, second_run)
    if second is not None:
        other_generator, other_model, second_run = second
        other_figures = figures_of(second_run, resamples=options.bootstrap, seed=options.seed)
        differences = compare_runs(run, second_run, resamples=options.bootstrap, seed=options.seed)
        result["comparison"] = {
            "generator": other_generator,
            "model": other_model,
            **other_figures.as_json(),
            "difference": {name: d.as_json() for name, d in differences.items()},
        }
    print_table(result, stdout)
    return result


def print_table(result: dict[str, Any], stdout: TextIO) -> None:
    """The release's printout (style, mean, std) with the intervals and image counts."""
    print(
        f"HPS v2 benchmark: {result['generator']} scored by {result['model']} "
        f"({result['precision']}, antialias {'on' if result['antialias'] else 'off'})",
        file=stdout,
    )
    for style, figure in result["styles"].items():
        print(
            f"  {style:<12} {figure['mean']:6.2f}  std {figure['std']:.4f}  "
            f"95% CI [{figure['ci_low']:.2f}, {figure['ci_high']:.2f}]  {figure['images']} images",
            file=stdout,
        )
    average = result["average"]
    print(
        f"  {'Average':<12} {average['mean']:6.2f}              "
        f"95% CI [{average['ci_low']:.2f}, {average['ci_high']:.2f}]  {average['images']} images",
        file=stdout,
    )
    if result["skipped"]:
        print(f"  {len(result['skipped'])} image(s) skipped (listed on stderr)", file=stdout)
    comparison = result["comparison"]
    if comparison:
        print(
            f"Paired difference, {result['generator']}/{result['model']} minus "
            f"{comparison['generator']}/{comparison['model']}:",
            file=stdout,
        )
        for name, d in comparison["difference"].items():
            verdict = "differs" if d["excludes_zero"] else "no clear difference"
            print(
                f"  {name:<12} {d['difference']:+6.2f}  95% CI [{d['ci_low']:+.2f}, "
                f"{d['ci_high']:+.2f}]  {verdict} ({d['prompts']} prompts)",
                file=stdout,
            )


def benchmark_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring benchmark",
        description="Run the HPS v2 benchmark on local files; the last line is JSON.",
    )
    add_benchmark_arguments(parser)
    options = parser.parse_args(argv)
    try:
        compare = (
            ModelSpec(
                Path(options.compare_checkpoint).name, options.model, options.compare_checkpoint
            )
            if options.compare_checkpoint
            else None
        )
        result = run_benchmark_command(
            options, model_from_options(options), sys.stdout, sys.stderr, compare_model=compare
        )
    except BenchmarkCommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0
