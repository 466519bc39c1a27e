"""HPS scoring throughput on a GPU: the official pattern at batch 1 against our batches.

Imports only scoring.core (torch + open_clip; no Django, no database), so it runs on a
bare GPU machine from the repository root with `python3 benchmarks/gpu_scoring.py`.
ViT-H-14 with random weights; synthetic image tensors already on the device, so the
figure is the model's (image tower + cosine); a separate run decodes PNG files through
the whole Scorer (threads, preprocessing, host-to-device copies).

- official pattern, batch 1: per image the checkpoint is reloaded from disk, the
  tokenizer rebuilt, the prompt re-encoded, one forward pass under fp16 autocast
  (hpsv2.img_score.score's body); also batch 1 with the model kept loaded;
- ours: Scorer.score_pixels at each batch size, bf16 autocast, channels_last, optionally
  torch.compile.

Share of ideal: the image tower costs 334.6 GFLOPs per image; at 800 TFLOP/s bf16 the
ideal is 800e12 / 334.6e9 = 2,391 images/s. Target: >= 70%.

    python3 benchmarks/gpu_scoring.py [--compile] [--smoke]
--smoke runs a tiny architecture with few iterations (checks the script on a CPU).
Results: a short table on stdout, JSON to $OUT/gpu_scoring.json when $OUT is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from scoring.core import Scorer, load_model  # noqa: E402

GFLOPS_PER_IMAGE = 334.6  # ViT-H-14 image tower at 224 px
PEAK_TFLOPS = 800.0
IDEAL_IMAGES_PER_S = PEAK_TFLOPS * 1e12 / (GFLOPS_PER_IMAGE * 1e9)
PROMPT = "a red fox standing in fresh snow, morning light"
STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.1f}s] {message}", flush=True)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(
    step: Callable[[], Any],
    images_per_step: int,
    device: torch.device,
    seconds: float,
    min_steps: int,
) -> dict[str, float]:
    """Images/s of `step` after two warm-up calls, timed for about `seconds`."""
    for _ in range(2):
        step()
    synchronize(device)
    steps = 0
    start = time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < seconds:
        step()
        steps += 1
    synchronize(device)
    elapsed = time.perf_counter() - start
    return {"images_per_s": steps * images_per_step / elapsed, "steps": steps, "seconds": elapsed}


def official_pattern_step(
    architecture: str,
    checkpoint: Path,
    device: torch.device,
    model: torch.nn.Module,
    pixels: torch.Tensor,
) -> Callable[[], Any]:
    import open_clip

    def step() -> float:
        state = torch.load(checkpoint, map_location=device)
        model.load_state_dict(state["state_dict"])
        tokenizer = open_clip.get_tokenizer(architecture)
        net = model.to(device).eval()
        with torch.no_grad():
            text = tokenizer([PROMPT]).to(device)
            autocast = (
                torch.autocast("cuda", dtype=torch.float16)
                if device.type == "cuda"
                else torch.autocast("cpu", enabled=False)
            )
            with autocast:
                image_features = net.encode_image(pixels, normalize=True)  # type: ignore[operator]
                text_features = net.encode_text(text, normalize=True)  # type: ignore[operator]
                score = torch.diagonal(image_features @ text_features.T).cpu().numpy()
        return float(score[0])

    return step


def write_pngs(folder: Path, count: int, size: int) -> list[Path]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    paths = []
    for index in range(count):
        path = folder / f"{index:04d}.png"
        Image.fromarray(np.roll(base, index, axis=1)).save(path, compress_level=1)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description="HPS scoring images/s on a GPU")
    parser.add_argument("--smoke", action="store_true", help="tiny model, few steps (CPU check)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile")
    parser.add_argument("--batch-sizes", default="64,128,256")
    parser.add_argument("--seconds", type=float, default=4.0, help="timing per measurement")
    parser.add_argument("--official-calls", type=int, default=3)
    parser.add_argument("--png-images", type=int, default=512)
    parser.add_argument(
        "--budget-s", type=float, default=240.0, help="skip optional parts past this"
    )
    options = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    architecture = "ViT-H-14"
    batch_sizes = [int(b) for b in options.batch_sizes.split(",")]
    seconds, min_steps, png_images = options.seconds, 3, options.png_images
    if options.smoke:
        architecture, batch_sizes, seconds, min_steps, png_images = "ViT-S-32", [2, 4], 0.2, 1, 8
        options.official_calls = 1
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    log(f"torch {torch.__version__}, device {name}, {architecture}")

    result: dict[str, Any] = {
        "architecture": architecture,
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "smoke": options.smoke,
        "ideal_images_per_s": IDEAL_IMAGES_PER_S,
        "gflops_per_image": GFLOPS_PER_IMAGE,
        "peak_tflops": PEAK_TFLOPS,
        "runs": [],
    }

    def record(name: str, batch: int, figures: dict[str, float], **extra: Any) -> None:
        row = {
            "name": name,
            "batch": batch,
            **figures,
            "share_of_ideal": figures["images_per_s"] / IDEAL_IMAGES_PER_S,
            **extra,
        }
        result["runs"].append(row)
        share = 100 * row["share_of_ideal"]
        log(f"{name:28} batch {batch:4}: {row['images_per_s']:9.1f} img/s ({share:.1f}% of ideal)")

    precision = "bf16" if device.type == "cuda" else "fp32"  # the Scorer's choice
    hps = load_model(architecture, random_weights=True, device=device)
    log("model built")
    size = hps.image_size
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # --- official pattern, batch 1
        checkpoint = folder / "hps.pt"
        torch.save({"state_dict": hps.model.state_dict()}, checkpoint)
        one = torch.randn(1, 3, size, size, device=device)
        step = official_pattern_step(architecture, checkpoint, device, hps.model, one)
        step()  # warm-up
        synchronize(device)
        start = time.perf_counter()
        for _ in range(options.official_calls):
            step()
        synchronize(device)
        record(
            "official pattern",
            1,
            {"images_per_s": options.official_calls / (time.perf_counter() - start)},
        )
        checkpoint.unlink()

        # --- ours: batched, model kept loaded
        scorer = Scorer(hps, batch_size=max(batch_sizes), precision="bf16")
        text = scorer.encode_prompts([PROMPT])[0]
        record(
            "model kept, batch 1",
            1,
            rate(lambda: scorer.score_pixels(one, text), 1, device, seconds, min_steps),
        )
        for batch in batch_sizes:
            pixels = torch.randn(batch, 3, size, size, device=device)
            record(
                f"ours {precision} eager",
                batch,
                rate(partial(scorer.score_pixels, pixels, text), batch, device, seconds, min_steps),
            )
            del pixels
        if options.compile:
            if time.perf_counter() - STARTED > options.budget_s * 0.5:
                log("skipping torch.compile: time budget")
            else:
                compiled = Scorer(hps, batch_size=max(batch_sizes), compile=True, precision="bf16")
                batch = max(batch_sizes)
                pixels = torch.randn(batch, 3, size, size, device=device)
                log("compiling (first calls are slow)")
                record(
                    f"ours {precision} compiled",
                    batch,
                    rate(
                        partial(compiled.score_pixels, pixels, text),
                        batch,
                        device,
                        seconds,
                        min_steps,
                    ),
                )
                del pixels

        # --- ours from PNG files: decode threads + preprocessing + copies
        if time.perf_counter() - STARTED > options.budget_s:
            log("skipping the PNG run: time budget")
        else:
            paths = write_pngs(folder, png_images, 512)
            batch = 128 if not options.smoke else 4
            png_scorer = Scorer(
                hps, batch_size=batch, workers=min(16, os.cpu_count() or 1), precision="bf16"
            )
            png_scorer.score(PROMPT, paths[: 2 * batch])  # warm-up
            synchronize(device)
            start = time.perf_counter()
            png_scorer.score(PROMPT, paths)
            synchronize(device)
            record(
                "ours from 512px PNG files",
                batch,
                {"images_per_s": len(paths) / (time.perf_counter() - start)},
                workers=png_scorer.workers,
            )

        # --- ours, bf16 image tower without autocast (converts the model: last)
        if options.compile and time.perf_counter() - STARTED > options.budget_s:
            log("skipping the bf16-weights run: time budget")
        elif options.compile:
            pure = Scorer(hps, batch_size=max(batch_sizes), compile=True, bf16_image_tower=True)
            batch = max(batch_sizes)
            pixels = torch.randn(batch, 3, size, size, device=device)
            log("compiling the bf16 image tower (first calls are slow)")
            record(
                "ours bf16 weights compiled",
                batch,
                rate(partial(pure.score_pixels, pixels, text), batch, device, seconds, min_steps),
            )
            del pixels

    best = max(
        row["images_per_s"] for row in result["runs"] if row["name"].startswith(f"ours {precision}")
    )
    result["best_images_per_s"] = best
    result["best_share_of_ideal"] = best / IDEAL_IMAGES_PER_S
    result["total_seconds"] = time.perf_counter() - STARTED
    print()
    print(f"{'run':28} {'batch':>5} {'images/s':>10} {'% of ideal':>10}")
    for row in result["runs"]:
        share = 100 * row["share_of_ideal"]
        print(f"{row['name']:28} {row['batch']:5} {row['images_per_s']:10.1f} {share:10.1f}")
    print(
        f"ideal {IDEAL_IMAGES_PER_S:.0f} images/s ({GFLOPS_PER_IMAGE} GFLOPs/image "
        f"at {PEAK_TFLOPS:.0f} TFLOP/s); target 70%"
    )
    out = os.environ.get("OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "gpu_scoring.json").write_text(json.dumps(result, indent=2))
        log(f"written to {out}/gpu_scoring.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
