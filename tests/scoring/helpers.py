"""Tiny open_clip models and real image files for the scoring tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from scoring.core.loading import _instantiate

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
