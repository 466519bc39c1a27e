"""HPS v2 fine-tuning throughput on one GPU: pairs/s, model FLOPs per pair, MFU.

Imports only training.core and scoring.core (torch + open_clip; no Django), so it runs on
a bare GPU machine from the repository root: `python3 benchmarks/gpu_training.py`.
ViT-H-14 with random weights under the HPS v2 recipe (training/core/recipe.py: last 20
image groups and 11 text blocks trainable, AdamW, bf16 autocast), 16 pairs per micro-step
(halved until it fits), gradient accumulation up to a global batch of 128 pairs.
Synthetic pixels and tokens already on the device: the figure is the model's, without
image decoding. Warm-up optimizer steps, then timed ones.

Model FLOPs per pair (matrix multiplications, 2 FLOPs per multiply-add):
  per transformer block and sample, with n tokens, width d, MLP width m:
      F_block = n * (8 d^2 + 4 d m) + 4 n^2 d       (qkv + out proj, MLP, QK^T and AV)
  image tower forward  F_img = L_img * F_block(257, 1280, 5120) + patch embedding + proj
  text tower forward   F_txt = L_txt * F_block(77, 1024, 4096) + proj
  backward costs twice the forward of what it runs through (input and weight gradients),
  and only runs through the unlocked blocks (U_img = 19, U_txt = 11):
      FLOPs/pair = 2 F_img + F_txt + 2 * (2 U_img F_block_img + U_txt F_block_txt)
For ViT-H-14 that is about 1.55 TFLOPs per pair: at 800 TFLOP/s (H100 bf16 dense) the
ideal is about 516 pairs/s per GPU.

    python3 benchmarks/gpu_training.py [--steps N] [--warmup-steps N]
    python3 benchmarks/gpu_training.py --device cpu --model tiny.json --steps 2   # smoke
Results: a short report on stdout, JSON to $OUT/gpu_training.json when $OUT is set.
Exits 2 with a message when no CUDA device is present (unless --device cpu).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from scoring.core import load_model  # noqa: E402
from training.core import TrainConfig  # noqa: E402
from training.core.loop import model_config_of  # noqa: E402
from training.core.loss import forward_pair_losses  # noqa: E402
from training.core.recipe import (  # noqa: E402
    autocast,
    build_optimizer,
    clamp_logit_scale,
    lock_recipe_layers,
)

PEAK_TFLOPS = 800.0
PROMPT = "a red fox standing in fresh snow, morning light"


def block_flops(tokens: int, width: int, mlp_width: int) -> float:
    """Forward matmul FLOPs of one transformer block for one sample."""
    return tokens * (8 * width**2 + 4 * width * mlp_width) + 4 * tokens**2 * width


def flops_per_pair(
    config: dict[str, Any], unlocked_image: int, unlocked_text: int
) -> dict[str, float]:
    """The formula of the module docstring, from an open_clip model config."""
    vision, text = config["vision_cfg"], config["text_cfg"]
    embed = config["embed_dim"]
    size, patch, v_width = vision["image_size"], vision["patch_size"], vision["width"]
    size = size[0] if isinstance(size, list | tuple) else size
    patches = (size // patch) ** 2
    v_mlp = int(v_width * vision.get("mlp_ratio", 4.0))
    v_block = block_flops(patches + 1, v_width, v_mlp)
    image = vision["layers"] * v_block + 2 * patches * 3 * patch**2 * v_width + 2 * v_width * embed
    t_width, t_tokens = text["width"], text.get("context_length", 77)
    t_block = block_flops(t_tokens, t_width, int(t_width * text.get("mlp_ratio", 4.0)))
    prompt = text["layers"] * t_block + 2 * t_width * embed
    backward = 2 * (2 * unlocked_image * v_block + unlocked_text * t_block)
    return {
        "image_forward": image,
        "text_forward": prompt,
        "backward": backward,
        "total": 2 * image + prompt + backward,
    }


def unlocked_blocks(model: torch.nn.Module) -> tuple[int, int]:
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    image = {n.split(".")[3] for n in names if n.startswith("visual.transformer.resblocks.")}
    text = {n.split(".")[2] for n in names if n.startswith("transformer.resblocks.")}
    return len(image), len(text)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(options: argparse.Namespace, device: torch.device, batch: int) -> dict[str, Any]:
    config = TrainConfig(
        train_json=Path("unused"), test_json=None, model=options.model, out_dir=Path("unused"),
        allow_random_init=True, batch_size=batch, global_batch=options.global_batch,
    )  # fmt: skip
    accumulation = config.accumulation_steps(world_size=1)
    torch.manual_seed(0)
    hps = load_model(options.model, random_weights=True, device=device)
    model = hps.model
    lock_recipe_layers(model, config.unlocked_image_groups, config.unlocked_text_layers)
    model.train()
    optimizer = build_optimizer(model, config)
    pixels = torch.randn(batch, 2, 3, hps.image_size, hps.image_size, device=device)
    tokens = hps.tokenizer([PROMPT] * batch).to(device)
    preference = torch.tensor([[1.0, 0.0]] * batch, device=device)
    precision = "bf16" if device.type == "cuda" else "fp32"

    def optimizer_step() -> float:
        optimizer.zero_grad(set_to_none=True)
        total = torch.zeros((), device=device)
        for _ in range(accumulation):
            with autocast(precision, device):
                losses = forward_pair_losses(model, pixels, tokens, preference)
            (losses.sum() / accumulation).backward()
            total += losses.detach().sum()
        optimizer.step()
        clamp_logit_scale(model)
        return float(total)

    for _ in range(options.warmup_steps):
        optimizer_step()
    synchronize(device)
    started = time.perf_counter()
    for _ in range(options.steps):
        loss = optimizer_step()
    synchronize(device)
    elapsed = time.perf_counter() - started
    image_blocks, text_blocks = unlocked_blocks(model)
    model_config, _ = model_config_of(options.model)
    flops = flops_per_pair(model_config, image_blocks, text_blocks)
    pairs_per_s = options.steps * options.global_batch / elapsed
    ideal = PEAK_TFLOPS * 1e12 / flops["total"]
    return {
        "model": options.model,
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "precision": precision,
        "batch_size": batch,
        "global_batch": options.global_batch,
        "accumulation": accumulation,
        "unlocked_image_blocks": image_blocks,
        "unlocked_text_blocks": text_blocks,
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "timed_steps": options.steps,
        "seconds_per_step": elapsed / options.steps,
        "pairs_per_s_per_gpu": pairs_per_s,
        "flops_per_pair": flops,
        "achieved_tflops": pairs_per_s * flops["total"] / 1e12,
        "mfu": pairs_per_s * flops["total"] / (PEAK_TFLOPS * 1e12),
        "ideal_pairs_per_s": ideal,
        "share_of_ideal": pairs_per_s / ideal,
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30
        if device.type == "cuda"
        else None,
        "last_loss_per_pair": loss / (options.global_batch),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu for a smoke test")
    parser.add_argument("--model", default="ViT-H-14", help="architecture or model-config JSON")
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per micro-step")
    parser.add_argument("--global-batch", type=int, default=128, help="pairs per optimizer step")
    parser.add_argument("--warmup-steps", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="timed optimizer steps")
    options = parser.parse_args(argv)
    device = torch.device(options.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_training: no CUDA device here; this benchmark needs a GPU "
            "(use --device cpu --model TINY.json for a smoke test)",
            file=sys.stderr,
        )
        return 2
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    batch = options.batch_size
    while True:
        try:
            result = measure(options, device, batch)
            break
        except torch.cuda.OutOfMemoryError:
            if batch == 1:
                raise
            print(f"batch {batch} pairs does not fit; trying {batch // 2}", flush=True)
            batch //= 2
            torch.cuda.empty_cache()
    flops = result["flops_per_pair"]["total"]
    print(f"model {result['model']} on {result['device']} ({result['precision']}), "
          f"{result['batch_size']} pairs/micro-step x {result['accumulation']} = "
          f"{result['global_batch']} pairs/step; trainable {result['trainable_parameters']:,} "
          f"parameters ({result['unlocked_image_blocks']} image + "
          f"{result['unlocked_text_blocks']} text blocks)")  # fmt: skip
    print(f"pairs/s per GPU: {result['pairs_per_s_per_gpu']:.1f} "
          f"({result['seconds_per_step']:.3f} s per step)")  # fmt: skip
    print(f"model FLOPs per pair: {flops / 1e12:.3f} TFLOPs; achieved "
          f"{result['achieved_tflops']:.1f} TFLOP/s; MFU {result['mfu']:.1%} of "
          f"{PEAK_TFLOPS:.0f} TFLOP/s; {result['share_of_ideal']:.1%} of the ideal "
          f"{result['ideal_pairs_per_s']:.0f} pairs/s")  # fmt: skip
    out = os.environ.get("OUT")
    if out:
        path = Path(out) / "gpu_training.json"
        path.write_text(json.dumps(result, indent=2), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
