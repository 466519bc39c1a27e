"""Tiny open_clip models and real image files for the scoring tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import functional as TF

from scoring.core.loading import _instantiate

REPO = Path(__file__).resolve().parents[2]

# A CLIP small enough to build in milliseconds; the tokenizer is the real CLIP one.
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def write_tiny_model(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A model-config JSON and an official-format checkpoint with random weights."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    torch.manual_seed(seed)
    network = _instantiate(TINY_CONFIG, "tiny")
    checkpoint = folder / "tiny.pt"
    torch.save({"state_dict": network.state_dict()}, checkpoint)
    return config, checkpoint


def write_images(folder: Path, sizes: list[tuple[int, int]], seed: int = 0) -> list[Path]:
    """Random-pixel PNGs of the given (width, height)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index, (width, height) in enumerate(sizes):
        path = folder / f"img-{index:03d}.png"
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


BENCHMARK_SIZES = {"anime": 90, "concept-art": 85, "paintings": 80, "photo": 100}


def real_prompts(count: int, start: int = 0) -> list[str]:
    """Real Stable Diffusion prompts from data/sd_prompts_1k.jsonl."""
    lines = (REPO / "data" / "sd_prompts_1k.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["prompt"] for line in lines[start : start + count]]


def write_benchmark(
    root: Path, generators: dict[str, int], sizes: dict[str, int] | None = None
) -> tuple[Path, dict[str, Path]]:
    """The release's benchmark layout: root/prompts/<style>.json and, per generator (name
    -> pixel seed), root/images/<generator>/<style>/00000.jpg ... (small noisy JPEGs of
    varied shapes, larger than the tiny model's 64 px so the resize matters)."""
    sizes = sizes or BENCHMARK_SIZES
    prompts_dir = root / "prompts"
    prompts_dir.mkdir(parents=True)
    offset = 0
    for style, count in sizes.items():
        (prompts_dir / f"{style}.json").write_text(json.dumps(real_prompts(count, offset)))
        offset += count
    shapes = [(96, 72), (80, 120), (128, 128), (150, 90)]
    folders = {}
    for generator, seed in generators.items():
        rng = np.random.default_rng(seed)
        folder = root / "images" / generator
        for style, count in sizes.items():
            (folder / style).mkdir(parents=True)
            for index in range(count):
                width, height = shapes[index % len(shapes)]
                base = rng.integers(0, 256, (1, 1, 3)).astype(np.float64)
                noise = rng.normal(0, 60, (height, width, 3))
                pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / style / f"{index:05d}.jpg", quality=90)
        folders[generator] = folder
    return prompts_dir, folders


@contextmanager
def release_torchvision(antialias: bool) -> Iterator[None]:
    """Make torchvision's tensor resize default to `antialias`, as the torchvision the
    release ran under (< 0.17: off) or today's (on) does; callers that pass antialias
    themselves (ours) are unaffected. The release's transform calls F.resize without it."""
    original = TF.resize

    def resize(img: Any, size: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("antialias", antialias)
        return original(img, size, *args, **kwargs)

    TF.resize = resize
    try:
        yield
    finally:
        TF.resize = original
