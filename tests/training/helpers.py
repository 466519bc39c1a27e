"""A tiny open_clip model and synthetic HPD v2 folders for the training-core tests.

The synthetic preference is learnable: in every pair the brighter image wins. Images are
small solid-grey PNGs with a little noise, so decoding is real but cheap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# A CLIP small enough to train in seconds on a CPU; the tokenizer is the real CLIP one.
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PROMPTS = ["a photo of a cat", "a red fox in snow", "a city at night", "a bowl of fruit"]


def write_tiny_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny-clip.json"
    path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    return path


def grey_image(path: Path, brightness: int, rng: np.random.Generator, size: int = 40) -> None:
    noise = rng.integers(-6, 7, (size, size + 8, 3))
    pixels = np.clip(brightness + noise, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def write_brightness_hpd(root: Path, *, pairs: int, test_groups: int, seed: int = 0) -> Path:
    """An HPD v2 folder (train.json, test.json, train/, test/) where brighter wins."""
    rng = np.random.default_rng(seed)
    train = []
    for index in range(pairs):
        dark, bright = sorted(rng.choice(np.arange(20, 236), size=2, replace=False).tolist())
        names = [f"p{index:04d}-a.png", f"p{index:04d}-b.png"]
        values = [dark, bright] if rng.random() < 0.5 else [bright, dark]
        for name, value in zip(names, values, strict=True):
            grey_image(root / "train" / name, value, rng)
        train.append(
            {
                "prompt": PROMPTS[index % len(PROMPTS)],
                "file_path": names,
                "human_preference": [1, 0] if values[0] > values[1] else [0, 1],
            }
        )
    test = []
    for index in range(test_groups):
        values = rng.choice(np.arange(20, 236), size=4, replace=False).tolist()
        names = [f"g{index:03d}-{k}.png" for k in range(4)]
        for name, value in zip(names, values, strict=True):
            grey_image(root / "test" / name, value, rng)
        order = sorted(range(4), key=lambda k: -values[k])
        ranks = [order.index(k) + 1 for k in range(4)]
        test.append(
            {
                "prompt": PROMPTS[index % len(PROMPTS)],
                "image_path": names,
                "rank": ranks,
                "raw_annotations": [{"rank": ranks, "user_hash": "h0"}],
            }
        )
    (root / "train.json").write_text(json.dumps(train), encoding="utf-8")
    (root / "test.json").write_text(json.dumps(test), encoding="utf-8")
    return root
