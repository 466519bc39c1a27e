"""Throughput of the HPS v2 benchmark command's pipeline, and the antialias question.

Django-free (scoring.core only). Two measurements, both with random weights in the
official checkpoint format:

- throughput: `run_benchmark` (scoring/core/benchmark.py) over a synthetic release
  layout of --images images (a quarter per style, 512x512 JPEGs with detail and noise),
  the model loaded once, as images/s; median of --repeats runs;
- antialias: the same --large-images images at 1024x1024 with fine detail, scored with
  antialias off and on; the mean and max absolute difference of 100 x cosine, and
  whether the ranking of --generators synthetic generators by their average changes.

    .venv/bin/python benchmarks/benchmark_command.py [--images 640] [--arch ViT-B-32]
        [--large-images 30] [--repeats 1] [--device cpu] [--precision fp16]

Results: a short table on stdout, JSON in benchmarks/results/benchmark_command.json (or
$OUT/benchmark_command.json when $OUT is set, on a device machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from scoring.core import Scorer, load_model  # noqa: E402
from scoring.core.benchmark import figures_of, read_layout, run_benchmark  # noqa: E402
from scoring.core.benchmark_stats import BENCHMARK_STYLES  # noqa: E402
from scoring.core.loading import _build_network  # noqa: E402


def detailed_image(rng: np.random.Generator, size: int) -> Image.Image:
    """A real-looking picture: smooth colour fields, hard edges, fine texture and noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    channels = []
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6.3)
        smooth = 0.5 + 0.4 * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
        stripes = 0.15 * np.sign(np.sin(2 * np.pi * rng.uniform(40, 120) * (x + 0.3 * y)))
        channels.append(smooth + stripes)
    pixels = np.stack(channels, axis=-1) * 255 + rng.normal(0, 18, (size, size, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return image.filter(ImageFilter.SHARPEN)


def write_layout(root: Path, count: int, size: int, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    prompts_dir, images_dir = root / "prompts", root / f"images-{seed}"
    prompts_dir.mkdir(exist_ok=True)
    per_style = max(1, count // len(BENCHMARK_STYLES))
    lines = (ROOT / "data" / "sd_prompts_1k.jsonl").read_text(encoding="utf-8").splitlines()
    for number, style in enumerate(BENCHMARK_STYLES):
        chosen = lines[number * per_style : (number + 1) * per_style]
        prompts = [json.loads(line)["prompt"] for line in chosen]
        (prompts_dir / f"{style}.json").write_text(json.dumps(prompts))
        (images_dir / style).mkdir(parents=True)
        for index in range(per_style):
            detailed_image(rng, size).save(images_dir / style / f"{index:05d}.jpg", quality=92)
    return prompts_dir, images_dir


def random_checkpoint(arch: str, path: Path) -> Path:
    torch.manual_seed(0)
    network, _ = _build_network(arch)
    torch.save({"state_dict": network.state_dict()}, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=640)
    parser.add_argument("--large-images", type=int, default=30)
    parser.add_argument("--generators", type=int, default=3)
    parser.add_argument("--arch", default="ViT-B-32")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp16")
    options = parser.parse_args()

    result: dict[str, Any] = {"arch": options.arch, "device": options.device}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        checkpoint = random_checkpoint(options.arch, root / "random.pt")
        hps = load_model(options.arch, checkpoint, device=options.device)
        scorer = Scorer(hps, batch_size=options.batch_size, precision=options.precision)
        result["precision"] = scorer.precision

        prompts_dir, images_dir = write_layout(root, options.images, 512, seed=0)
        items = read_layout(prompts_dir, images_dir)
        run_benchmark(scorer, [i for i in items if i.index < 2], images_dir)  # warm-up
        seconds = []
        for _ in range(options.repeats):
            start = time.perf_counter()
            run_benchmark(scorer, items, images_dir)
            seconds.append(time.perf_counter() - start)
        rate = len(items) / statistics.median(seconds)
        result["throughput"] = {"images": len(items), "images_per_s": rate, "seconds": seconds}
        print(
            f"{options.arch} on {options.device} ({scorer.precision}): "
            f"{rate:.1f} images/s over {len(items)} images"
        )

        large_root = root / "large"
        large_root.mkdir()
        per_generator = max(4, options.large_images // options.generators)
        averages: dict[bool, dict[str, float]] = {False: {}, True: {}}
        differences: list[float] = []
        for generator in range(options.generators):
            prompts_dir, images_dir = write_layout(large_root, per_generator, 1024, generator + 1)
            items = read_layout(prompts_dir, images_dir)
            runs = {}
            for antialias in (False, True):
                scorer.antialias = antialias
                runs[antialias] = run_benchmark(scorer, items, images_dir)
                averages[antialias][f"gen-{generator}"] = figures_of(
                    runs[antialias], resamples=10
                ).average.mean
            for style in BENCHMARK_STYLES:
                for index, off in runs[False].scores[style].items():
                    differences.append(abs(runs[True].scores[style][index] - off))
        scorer.antialias = False
        ranking = {key: sorted(values, key=values.__getitem__) for key, values in averages.items()}
        result["antialias"] = {
            "images": len(differences),
            "mean_abs_difference_x100": float(np.mean(differences)),
            "max_abs_difference_x100": float(np.max(differences)),
            "average_by_generator_off": averages[False],
            "average_by_generator_on": averages[True],
            "ranking_changes": ranking[False] != ranking[True],
        }
        print(
            f"antialias off vs on, {len(differences)} images of 1024 px: mean |diff| "
            f"{np.mean(differences):.4f}, max {np.max(differences):.4f} (score x100); "
            f"generator ranking {'changes' if ranking[False] != ranking[True] else 'unchanged'}"
        )
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark_command.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
