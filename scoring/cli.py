"""`python -m scoring` and `manage.py score`: print a JSON list of HPS scores.

Both commands share this parser and `run_score`, so their output is the same: a JSON list
of raw cosine scores in the order of the images given (null for an image skipped with
--skip-broken; every skipped image is reported on stderr with the reason).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

DEFAULT_ARCHITECTURE = "ViT-H-14"
# scoring/core/scorer.py PRECISIONS, here so that --help does not import torch.
PRECISION_CHOICES = ("fp32", "fp16", "bf16")


def add_faithfulness_arguments(parser: argparse.ArgumentParser) -> None:
    """--precision and --antialias, shared by score, benchmark and evaluate."""
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default="fp16",
        help="GPU autocast: fp16 (default, as the release scores), fp32 (exact), bf16; "
        "on a CPU fp32 is what runs",
    )
    parser.add_argument(
        "--antialias",
        choices=("on", "off"),
        default="off",
        help="antialias the resize (default off: the torchvision the release was "
        "benchmarked with did not; see docs/hpd_v2.md)",
    )


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        required=True,
        help="HPS checkpoint: the official format ({'state_dict': ...}) or a bare state dict",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_ARCHITECTURE,
        help="open_clip architecture name or model-config JSON file (default: ViT-H-14)",
    )
    parser.add_argument("--prompt", required=True, help="the prompt the images were made for")
    parser.add_argument("images", nargs="+", help="image files (PNG, JPEG, WebP, ...)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if any)")
    parser.add_argument(
        "--workers", type=int, default=None, help="image decoding threads (default: cores, max 8)"
    )
    parser.add_argument(
        "--skip-broken",
        action="store_true",
        help="score the other images when one cannot be decoded (it gets null, reported)",
    )
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile the image tower (pays off on GPU)"
    )
    add_faithfulness_arguments(parser)


class ScoreCommandError(Exception):
    """A problem with the command's input; the message says what to fix."""


def run_score(options: argparse.Namespace, stderr: TextIO) -> list[float | None]:
    """Load the model, score the images, report skipped ones on `stderr`."""
    import torch
    from tqdm import tqdm

    from scoring.core import BrokenImageError, ModelLoadError, Scorer, load_model

    if options.batch_size < 1:
        raise ScoreCommandError(f"--batch-size must be at least 1, got {options.batch_size}")
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        hps = load_model(options.model, options.checkpoint, device=device)
    except ModelLoadError as exc:
        raise ScoreCommandError(str(exc)) from exc
    scorer = Scorer(
        hps,
        batch_size=options.batch_size,
        workers=options.workers,
        compile=options.compile,
        precision=options.precision,
        antialias=options.antialias == "on",
    )
    with tqdm(
        total=len(options.images),
        desc="scoring",
        unit="img",
        file=stderr,
        disable=len(options.images) < 2 * options.batch_size,
    ) as bar:
        try:
            (result,) = scorer.score_groups(
                [(options.prompt, options.images)],
                skip_broken=options.skip_broken,
                progress=bar.update,
            )
        except BrokenImageError as exc:
            raise ScoreCommandError(str(exc)) from exc
    for broken in result.broken:
        print(f"skipped {broken.name}: {broken.reason}", file=stderr)
    return result.scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring",
        description="Score images for a prompt with an HPS model; prints a JSON list.",
    )
    add_score_arguments(parser)
    options = parser.parse_args(argv)
    try:
        scores = run_score(options, sys.stderr)
    except ScoreCommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(scores))
    return 0
