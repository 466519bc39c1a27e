"""Batched HPS scoring against the official call pattern, on this machine's CPU.

ViT-B-32 with random weights in the official checkpoint format, 64 PNG images (512x512)
of one prompt. Measured:

- in process: our `load_model` + `Scorer.score` over all images (the model loaded once
  per run) against the official pattern (checkpoint reloaded per call, one image per
  call, prompt re-encoded per image; official_pattern.py), as images/s;
- whole command, start-up included: `python -m scoring ...` as a subprocess against one
  process making one official call per image (official_pattern.py as a script).

In process, the official pattern's cost per image is constant, so it runs on the first
--official-images images (default 16) and is reported as a rate; the official command
scores every image once (both commands pay one start-up for the same images). Medians of
--repeats runs, ours and the official pattern taking turns (the machine may be shared).
Targets: >= 5x in process, >= 4x for the whole command.

    .venv/bin/python benchmarks/scoring_cpu.py [--images 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_result  # noqa: E402
from benchmarks.official_pattern import OfficialScorer  # noqa: E402
from scoring.core import Scorer, load_model  # noqa: E402

ARCHITECTURE = "ViT-B-32"
PROMPT = "a red fox standing in fresh snow, morning light"


def make_images(folder: Path, count: int) -> list[str]:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 512, dtype=np.float32)
    paths = []
    for index in range(count):
        base = (ramp[None, :, None] * rng.random(3)[None, None, :]).repeat(512, axis=0)
        noise = rng.normal(0, 12, (512, 512, 3))
        pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
        path = folder / f"{index:03d}.png"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def timed(function: object, *args: object) -> float:
    start = time.perf_counter()
    function(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--official-images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = make_images(folder, options.images)
        official = OfficialScorer(ARCHITECTURE)
        checkpoint = folder / "hps-vit-b-32.pt"
        torch.manual_seed(0)
        official.save_random_checkpoint(checkpoint)
        sample = images[: options.official_images]

        def ours_in_process() -> None:
            scorer = Scorer(load_model(ARCHITECTURE, checkpoint), batch_size=options.batch_size)
            scorer.score(PROMPT, images)

        def official_in_process() -> None:
            for image in sample:
                official.score_one(image, PROMPT, str(checkpoint))

        ours_cli = [
            sys.executable,
            "-m",
            "scoring",
            "--model",
            ARCHITECTURE,
            "--checkpoint",
            str(checkpoint),
            "--prompt",
            PROMPT,
            "--batch-size",
            str(options.batch_size),
            "--device",
            "cpu",
            *images,
        ]
        official_cli = [
            sys.executable,
            str(ROOT / "benchmarks" / "official_pattern.py"),
            ARCHITECTURE,
            str(checkpoint),
            PROMPT,
            *images,
        ]

        def run_command(command: list[str]) -> None:
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)

        ours_in_process()  # warm-up: first-touch allocations, file cache
        official.score_one(sample[0], PROMPT, str(checkpoint))
        # Interleaved, so both sides see the same load from other users of the machine.
        ours_s: list[float] = []
        official_s: list[float] = []
        ours_cmd_s: list[float] = []
        official_cmd_s: list[float] = []
        for _ in range(options.repeats):
            ours_s.append(timed(ours_in_process))
            official_s.append(timed(official_in_process))
        for _ in range(options.repeats):
            ours_cmd_s.append(timed(run_command, ours_cli))
            official_cmd_s.append(timed(run_command, official_cli))

    def rate(count: int, seconds: list[float]) -> float:
        return count / statistics.median(seconds)

    figures = {
        "in_process": {
            "ours_images_per_s": rate(options.images, ours_s),
            "official_images_per_s": rate(len(sample), official_s),
        },
        "whole_command": {
            "ours_images_per_s": rate(options.images, ours_cmd_s),
            "official_images_per_s": rate(options.images, official_cmd_s),
        },
    }
    for section in figures.values():
        section["ratio"] = section["ours_images_per_s"] / section["official_images_per_s"]

    def paired(ours: list[float], theirs: list[float], their_count: int) -> float:
        """Median over the turns of (official s/image) / (our s/image)."""
        return statistics.median(
            (t / their_count) / (o / options.images) for o, t in zip(ours, theirs, strict=True)
        )

    figures["in_process"]["paired_ratio_median"] = paired(ours_s, official_s, len(sample))
    figures["whole_command"]["paired_ratio_median"] = paired(
        ours_cmd_s, official_cmd_s, options.images
    )
    result = {
        "architecture": ARCHITECTURE,
        "images": options.images,
        "official_images": len(sample),
        "batch_size": options.batch_size,
        "repeats": options.repeats,
        "torch_threads": torch.get_num_threads(),
        "seconds": {
            "ours_in_process": ours_s,
            "official_in_process": official_s,
            "ours_command": ours_cmd_s,
            "official_command": official_cmd_s,
        },
        **figures,
        "targets": {"in_process_ratio": 5.0, "whole_command_ratio": 4.0},
    }
    path = write_result("scoring_cpu", result)
    print(f"{'':16}{'ours img/s':>12}{'official img/s':>16}{'ratio':>8}{'paired':>8}")
    for name, section in figures.items():
        print(
            f"{name:16}{section['ours_images_per_s']:12.2f}"
            f"{section['official_images_per_s']:16.2f}{section['ratio']:8.1f}x"
            f"{section['paired_ratio_median']:7.1f}x"
        )
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
