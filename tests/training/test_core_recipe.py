"""The recipe: the loss, which ViT-H-14 parameters train, AdamW groups, the LR schedule."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import pytest
import torch

from scoring.core.loading import _build_network
from tests.official_hpsv2 import official
from training.core import TrainConfig
from training.core.errors import TrainingConfigError
from training.core.loss import hps_pair_losses
from training.core.recipe import build_optimizer, learning_rate, lock_recipe_layers

IMAGE_BLOCKS, TEXT_BLOCKS = 32, 24


def vit_h_14_on_meta() -> torch.nn.Module:
    with torch.device("meta"):
        return _build_network("ViT-H-14", initialise=False)[0]


def trainable(model: torch.nn.Module) -> list[str]:
    return sorted(name for name, p in model.named_parameters() if p.requires_grad)


def expected_vit_h_14_trainable(names: list[str]) -> list[str]:
    """The recipe of docs/hpd_v2.md#the-training-recipe: the last 19 of 32 image blocks,
    ln_post and proj; the last 11 of 24 text blocks, ln_final and text_projection; the
    logit scale."""
    image_blocks = {f"visual.transformer.resblocks.{i}." for i in range(IMAGE_BLOCKS - 19, 32)}
    text_blocks = {f"transformer.resblocks.{i}." for i in range(TEXT_BLOCKS - 11, 24)}
    kept = []
    for name in names:
        block = name.split(".", 4)
        prefix = ".".join(block[:4]) + "." if name.startswith("visual.") else ""
        prefix = prefix or ".".join(block[:3]) + "."
        if (
            prefix in image_blocks
            or prefix in text_blocks
            or name.startswith(("visual.ln_post.", "ln_final."))
            or name in {"visual.proj", "text_projection", "logit_scale"}
        ):
            kept.append(name)
    return sorted(kept)


def test_vit_h_14_trains_exactly_the_recipes_parameters() -> None:
    model = vit_h_14_on_meta()
    names = [name for name, _ in model.named_parameters()]

    lock_recipe_layers(model, unlocked_image_groups=20, unlocked_text_layers=11)

    assert trainable(model) == expected_vit_h_14_trainable(names)
    image_blocks = {n.split(".")[3] for n in trainable(model) if n.startswith("visual.transformer")}
    text_blocks = {n.split(".")[2] for n in trainable(model) if n.startswith("transformer.")}
    assert sorted(map(int, image_blocks)) == list(range(13, 32))
    assert sorted(map(int, text_blocks)) == list(range(13, 24))
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert "token_embedding.weight" in frozen and "positional_embedding" in frozen
    assert "visual.conv1.weight" in frozen and "visual.positional_embedding" in frozen
    counts = {
        "image": sum(
            p.numel()
            for n, p in model.named_parameters()
            if p.requires_grad and n.startswith("visual.")
        ),
        "text": sum(
            p.numel()
            for n, p in model.named_parameters()
            if p.requires_grad and not n.startswith("visual.") and n != "logit_scale"
        ),
    }
    # 19 blocks of width 1280 (19,677,440 each) + ln_post + proj; 11 of width 1024
    # (12,596,224 each) + ln_final + text_projection.
    assert counts == {
        "image": 19 * 19_677_440 + 2 * 1280 + 1280 * 1024,
        "text": 11 * 12_596_224 + 2 * 1024 + 1024 * 1024,
    }


def test_vit_h_14_locking_equals_the_official_releases_own_lock_functions() -> None:
    open_clip = official("hpsv2.src.open_clip")
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = open_clip.create_model("ViT-H-14", None, device="meta")
    # What the release's main.py does with HPSv2.sh's flags.
    theirs.lock_image_tower(unlocked_groups=20, freeze_bn_stats=False)
    theirs.lock_text_tower(unlocked_layers=11, freeze_layer_norm=False)
    ours = vit_h_14_on_meta()
    lock_recipe_layers(ours, unlocked_image_groups=20, unlocked_text_layers=11)

    assert trainable(ours) == trainable(theirs)


def test_weight_decay_skips_biases_norms_logit_scale_and_embeddings() -> None:
    model = vit_h_14_on_meta()
    lock_recipe_layers(model, unlocked_image_groups=20, unlocked_text_layers=11)
    config = TrainConfig(
        train_json=Path("t.json"), test_json=None, model="ViT-H-14", out_dir=Path("o")
    )
    optimizer = build_optimizer(model, config)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay = sorted(names[id(p)] for p in optimizer.param_groups[0]["params"])
    decay = sorted(names[id(p)] for p in optimizer.param_groups[1]["params"])

    assert optimizer.param_groups[0]["weight_decay"] == 0.0
    assert optimizer.param_groups[1]["weight_decay"] == 0.35
    assert optimizer.defaults["betas"] == (0.9, 0.98) and optimizer.defaults["eps"] == 1e-6
    assert "logit_scale" in no_decay and "visual.ln_post.weight" in no_decay
    assert "transformer.resblocks.23.attn.in_proj_bias" in no_decay
    assert all(n.endswith(("weight", "proj", "projection")) for n in decay)
    assert not any(".ln_" in n or "bias" in n for n in decay)
    assert "visual.proj" in decay and "text_projection" in decay
    assert "visual.transformer.resblocks.31.mlp.c_fc.weight" in decay
    assert sorted(no_decay + decay) == trainable(model)


def test_open_clip_text_lock_alone_would_train_one_block_fewer() -> None:
    """Why the recipe passes unlocked_layers + 1 to open_clip 3's lock_text_tower."""
    model: torch.nn.Module = vit_h_14_on_meta()
    model.requires_grad_(True)
    model.lock_text_tower(unlocked_layers=11)  # type: ignore[operator]
    blocks = {n.split(".")[2] for n in trainable(model) if n.startswith("transformer.")}
    assert len(blocks) == 10


def test_learning_rate_warms_up_linearly_then_decays_along_a_cosine() -> None:
    lrs = [learning_rate(step, 3.3e-6, 500, 4000) for step in range(4000)]
    assert lrs[0] == pytest.approx(3.3e-6 / 500)
    assert lrs[499] == pytest.approx(3.3e-6)
    assert lrs[500] == pytest.approx(3.3e-6)
    assert lrs[2250] == pytest.approx(3.3e-6 / 2)
    assert lrs[3999] == pytest.approx(0.5 * (1 + math.cos(math.pi * 3499 / 3500)) * 3.3e-6)
    assert all(a >= b for a, b in itertools.pairwise(lrs[500:]))


def test_pair_loss_is_cross_entropy_of_the_scaled_cosines() -> None:
    text = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=-1)
    images = torch.nn.functional.normalize(
        torch.tensor([[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.0, 1.0]]]), dim=-1
    )
    scale = torch.tensor(10.0)
    hard = hps_pair_losses(text, images, scale, torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    soft = hps_pair_losses(text, images, scale, torch.tensor([[0.5, 0.5], [0.25, 0.75]]))

    # Pair 0: scores 10 and 6; pair 1: scores 0 and 10.
    first = -math.log(math.exp(10) / (math.exp(10) + math.exp(6)))
    second = -math.log(1 / (1 + math.exp(10)))
    assert hard.tolist() == pytest.approx([first, second], rel=1e-5)
    p1 = math.exp(10) / (1 + math.exp(10))
    assert soft[1].item() == pytest.approx(
        -(0.25 * math.log(1 - p1) + 0.75 * math.log(p1)), rel=1e-5
    )
    assert soft[0].item() == pytest.approx(
        first / 2 + (-math.log(1 - math.exp(-first))) / 2, rel=1e-5
    )


def test_global_batch_must_split_into_micro_batches() -> None:
    config = TrainConfig(
        train_json=Path("t.json"),
        test_json=None,
        model="m",
        out_dir=Path("o"),
        batch_size=16,
        global_batch=128,
    )
    assert config.accumulation_steps(world_size=8) == 1
    assert config.accumulation_steps(world_size=1) == 8
    with pytest.raises(TrainingConfigError, match="not a multiple of batch_size 16 x 3"):
        config.accumulation_steps(world_size=3)
